/**
 * Scanning whole file contents that were not written to be scanned: what an agent commits.
 * `scanText` skips what it cannot judge cheaply (lines over 20,000 characters, text with a NUL
 * byte, files over 2 MiB) and reports the skip; here nothing is skipped:
 * - a large text is scanned in windows of about 1 MB that overlap by a few kilobytes, so a
 *   multi-line key split by a window boundary is still seen whole in one of them;
 * - a window with lines longer than 20,000 characters has them cut into overlapping pieces, each
 *   scanned as a line of its own;
 * - content with NUL bytes is scanned twice: with the NULs removed (UTF-16 text, strings padded
 *   with NULs) and as the printable strings it contains, one per line (what `strings` prints).
 * Memory and time stay linear in the content's size whatever its shape (one huge line, millions
 * of tiny ones, all NULs). Findings keep their real line and column. What still comes back in
 * `skipped` could not be scanned and must count as a finding for callers that decide on commits.
 */
import { INLINE_ALLOW_MARKER } from './allow';
import { scanWithLineMap } from './scan';
import type { ScanOptions, ScanResult } from './types';

export interface ContentScanOptions extends Pick<ScanOptions, 'allowlist' | 'rules'> {
  /**
   * Whether a line with `orchestrator:allow` is accepted. Default true. Pass false for text an
   * untrusted author wrote: the marker is for people documenting examples, and an agent that
   * could add it would allowlist its own leak.
   */
  honourInlineAllow?: boolean;
}

/** Length of the pieces a long line is cut into, and how much consecutive pieces share. */
export const LINE_PIECE_CHARS = 20_000;
export const LINE_PIECE_OVERLAP = 4_096;
/** Characters per scan call, and how far consecutive windows overlap (a PEM key is a few KB). */
const WINDOW_CHARS = 250_000;
const WINDOW_OVERLAP_CHARS = 16_384;
/** Printable runs shorter than this in binary content are noise, not secrets. */
const MIN_STRING_CHARS = 8;

export function scanContent(content: Buffer | string, file: string, options: ContentScanOptions = {}): ScanResult {
  const scan = scanning(content, file, options);
  for (let step = scan.next(); ; step = scan.next()) if (step.done) return step.value;
}

/**
 * The same scan, giving the event loop a turn after every window: a worker scanning a 64 MB blob
 * of hostile text (short encoded runs cost ~90 ms per window) holds its other activities for one
 * window at a time, not for seconds.
 */
export async function scanContentYielding(content: Buffer | string, file: string, options: ContentScanOptions = {}): Promise<ScanResult> {
  const scan = scanning(content, file, options);
  for (let step = scan.next(); ; step = scan.next()) {
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** The scan of `content`, pausing (`yield`) after each window. */
function* scanning(content: Buffer | string, file: string, options: ContentScanOptions): Generator<void, ScanResult> {
  const text = typeof content === 'string' ? content : content.toString('utf8');
  const views = text.includes('\0') ? [text.replace(/\0/g, ''), printableStrings(text)] : [text];
  const seen = new Set<string>();
  const result: ScanResult = { findings: [], skipped: [] };
  for (const view of views) {
    const prepared = options.honourInlineAllow === false ? neutraliseAllowMarkers(view) : view;
    const { findings, skipped } = yield* scanInWindows(prepared, file, options);
    result.skipped.push(...skipped);
    for (const f of findings) {
      const key = `${f.ruleId}:${f.fingerprint}`;
      if (seen.has(key)) continue;
      seen.add(key);
      result.findings.push(f);
    }
  }
  result.findings.sort((a, b) => a.line - b.line || a.column - b.column);
  return result;
}

/** Windows of whole lines (a line longer than a window is one window of its own). */
function* scanInWindows(text: string, file: string, options: ContentScanOptions): Generator<void, ScanResult> {
  const result: ScanResult = { findings: [], skipped: [] };
  let start = 0;
  let line = 1; // the line `start` is on
  while (start < text.length || (start === 0 && text.length === 0)) {
    let end = start + WINDOW_CHARS;
    if (end >= text.length) {
      end = text.length;
    } else {
      const nl = text.lastIndexOf('\n', end);
      if (nl > start) end = nl; // cut at the last line break inside the window
      else end = text.indexOf('\n', end) === -1 ? text.length : text.indexOf('\n', end); // one line longer than a window
    }
    const scanned = yield* scanWindow(text.slice(start, end), file, line, options);
    result.findings.push(...scanned.findings);
    result.skipped.push(...scanned.skipped);
    if (end >= text.length) break;
    yield;
    // Step back to a line start a little before the end, so the windows overlap.
    let next = text.lastIndexOf('\n', end - WINDOW_OVERLAP_CHARS);
    next = next > start ? next + 1 : end + 1;
    line += countLines(text, start, next);
    start = next;
  }
  return result;
}

/** One window; `firstLine` is the real number of its first line. Pauses between parts of a window of long lines. */
function* scanWindow(window: string, file: string, firstLine: number, options: ContentScanOptions): Generator<void, ScanResult> {
  const scanOptions = { allowlist: options.allowlist, rules: options.rules, maxFileBytes: Number.MAX_SAFE_INTEGER, maxLineLength: LINE_PIECE_CHARS };
  if (!hasLongLine(window)) {
    const scanned = scanWithLineMap(window, file, scanOptions);
    return { findings: scanned.findings.map((f) => ({ ...f, line: f.line + firstLine - 1 })), skipped: scanned.skipped };
  }
  // Long lines become overlapping pieces, each a line of the scanned text; findings map back.
  const pieces: { text: string; line: number; columnOffset: number }[] = [];
  let at = 0;
  for (let line = firstLine; at <= window.length; line++) {
    const nl = window.indexOf('\n', at);
    const end = nl === -1 ? window.length : nl;
    for (let from = at; ; from += LINE_PIECE_CHARS - LINE_PIECE_OVERLAP) {
      pieces.push({ text: window.slice(from, Math.min(from + LINE_PIECE_CHARS, end)), line, columnOffset: from - at });
      if (from + LINE_PIECE_CHARS >= end) break;
    }
    at = end + 1;
  }
  // A single line may be the whole blob (64 MB): its pieces are scanned a window's worth at a
  // time, consecutive parts sharing WINDOW_OVERLAP_CHARS of pieces (a key over several lines).
  const result: ScanResult = { findings: [], skipped: [] };
  for (let first = 0; ; ) {
    let next = first;
    for (let chars = 0; next < pieces.length && (next === first || chars + pieces[next]!.text.length <= WINDOW_CHARS); next++) chars += pieces[next]!.text.length + 1;
    const part = pieces.slice(first, next);
    const scanned = scanWithLineMap(part.map((p) => p.text).join('\n'), file, scanOptions);
    result.findings.push(
      ...scanned.findings.map((f) => {
        const piece = part[f.line - 1];
        return piece ? { ...f, line: piece.line, column: f.column + piece.columnOffset } : f;
      }),
    );
    result.skipped.push(...scanned.skipped);
    if (next >= pieces.length) return result;
    yield;
    let shared = 0;
    while (next > first + 1 && shared < WINDOW_OVERLAP_CHARS) shared += pieces[--next]!.text.length + 1;
    first = next;
  }
}

function hasLongLine(text: string): boolean {
  let at = 0;
  while (at < text.length) {
    const nl = text.indexOf('\n', at);
    const end = nl === -1 ? text.length : nl;
    if (end - at > LINE_PIECE_CHARS) return true;
    at = end + 1;
  }
  return false;
}

function countLines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf('\n', from); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** The runs of printable ASCII (and tabs) of binary content, one per line. */
function printableStrings(text: string): string {
  return (text.match(new RegExp(`[\\x20-\\x7e\\t]{${MIN_STRING_CHARS},}`, 'g')) ?? []).join('\n');
}

/** Same length, so columns stay true; the scanner no longer sees the marker. */
function neutraliseAllowMarkers(text: string): string {
  return text.includes(INLINE_ALLOW_MARKER) ? text.split(INLINE_ALLOW_MARKER).join('orchestrator;allow') : text;
}

