/**
 * Scanning whole file contents that were not written to be scanned: what an agent commits.
 * `scanText` skips what it cannot judge cheaply (lines over 20,000 characters, text with a NUL
 * byte, files over 2 MiB) and reports the skip; here nothing is skipped:
 * - a long line is cut into overlapping pieces, each scanned as a line of its own;
 * - a large text is scanned in overlapping windows, so a multi-line key split by a window
 *   boundary is still seen whole in one of them;
 * - content with NUL bytes is scanned twice: with the NULs removed (UTF-16 text and strings
 *   padded with NULs read as plain ASCII) and with each NUL as a line break (strings inside
 *   binary data).
 * Findings keep their real line and column. What still comes back in `skipped` could not be
 * scanned and must be treated as a finding by callers that decide on commits.
 */
import { INLINE_ALLOW_MARKER } from './allow';
import { scanWithLineMap } from './scan';
import type { ScanOptions, ScanResult, SecretFinding } from './types';

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
/** Characters per scan call, and the lines consecutive windows share. */
const WINDOW_CHARS = 1_000_000;
const WINDOW_OVERLAP_LINES = 200;

interface VirtualLine {
  text: string;
  line: number;
  /** Column (0-based) in the real line where this piece starts. */
  columnOffset: number;
}

export function scanContent(content: Buffer | string, file: string, options: ContentScanOptions = {}): ScanResult {
  const text = typeof content === 'string' ? content : content.toString('utf8');
  const views = text.includes('\0') ? [text.replace(/\0/g, ''), text.replace(/\0/g, '\n')] : [text];
  const seen = new Set<string>();
  const result: ScanResult = { findings: [], skipped: [] };
  for (const view of views) {
    const prepared = options.honourInlineAllow === false ? neutraliseAllowMarkers(view) : view;
    const { findings, skipped } = scanVirtualLines(splitLines(prepared), file, options);
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

/** Lines, with lines longer than a piece cut into overlapping pieces. */
function splitLines(text: string): VirtualLine[] {
  const lines: VirtualLine[] = [];
  let start = 0;
  for (let line = 1; start <= text.length; line++) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end - start <= LINE_PIECE_CHARS) {
      lines.push({ text: text.slice(start, end), line, columnOffset: 0 });
    } else {
      for (let at = start; ; at += LINE_PIECE_CHARS - LINE_PIECE_OVERLAP) {
        lines.push({ text: text.slice(at, Math.min(at + LINE_PIECE_CHARS, end)), line, columnOffset: at - start });
        if (at + LINE_PIECE_CHARS >= end) break;
      }
    }
    start = end + 1;
  }
  return lines;
}

function scanVirtualLines(lines: VirtualLine[], file: string, options: ContentScanOptions): ScanResult {
  const result: ScanResult = { findings: [], skipped: [] };
  let from = 0;
  while (from < lines.length) {
    let to = from;
    let chars = 0;
    while (to < lines.length && (to === from || chars + lines[to]!.text.length < WINDOW_CHARS)) {
      chars += lines[to]!.text.length + 1;
      to++;
    }
    const window = lines.slice(from, to);
    const scanned = scanWithLineMap(window.map((l) => l.text).join('\n'), file, {
      allowlist: options.allowlist,
      rules: options.rules,
      maxFileBytes: WINDOW_CHARS * 4 + LINE_PIECE_CHARS * 4,
      maxLineLength: LINE_PIECE_CHARS,
    });
    result.skipped.push(...scanned.skipped);
    for (const f of scanned.findings) {
      const piece = window[f.line - 1];
      result.findings.push(relocate(f, piece));
    }
    if (to >= lines.length) break;
    from = Math.max(from + 1, to - WINDOW_OVERLAP_LINES);
  }
  return result;
}

function relocate(finding: SecretFinding, piece: VirtualLine | undefined): SecretFinding {
  if (!piece) return finding;
  return { ...finding, line: piece.line, column: finding.column + piece.columnOffset };
}

/** Same length, so columns stay true; the scanner no longer sees the marker. */
function neutraliseAllowMarkers(text: string): string {
  return text.includes(INLINE_ALLOW_MARKER) ? text.split(INLINE_ALLOW_MARKER).join('orchestrator;allow') : text;
}
