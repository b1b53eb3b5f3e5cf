/** Scanning the added lines of a unified diff (`git diff --cached -U0`), with new-file line numbers. */
import { scanWithLineMap } from './scan';
import type { ScanOptions, ScanResult } from './types';

/** The added lines of one file in a diff. */
export interface AddedLines {
  /** Path in the new tree (from the `+++ b/…` header). */
  readonly file: string;
  readonly lines: string[];
  /** 1-based new-file line number of each entry of `lines`. */
  readonly lineNumbers: number[];
}

const HUNK = /^@@@? -\d+(?:,(\d+))? (?:-\d+(?:,\d+)? )?\+(\d+)(?:,(\d+))? @@/;

/** Undoes git's C-style quoting of unusual paths (`"b/caf\303\251.txt"`). */
function unquotePath(raw: string): string {
  if (!raw.startsWith('"') || !raw.endsWith('"')) return raw;
  const bytes: number[] = [];
  const body = raw.slice(1, -1);
  const escapes: Record<string, number> = { n: 10, t: 9, r: 13, '"': 34, '\\': 92, a: 7, b: 8, f: 12, v: 11 };
  for (let i = 0; i < body.length; i++) {
    const ch = body.charAt(i);
    if (ch !== '\\') {
      bytes.push(...Buffer.from(ch, 'utf8'));
      continue;
    }
    const next = body.charAt(i + 1);
    const octal = /^[0-7]{3}/.exec(body.slice(i + 1, i + 4));
    if (octal) {
      bytes.push(parseInt(octal[0], 8));
      i += 3;
    } else {
      bytes.push(escapes[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function newPath(header: string): string | undefined {
  const raw = unquotePath(header.slice(4).replace(/\t.*$/, '').trimEnd());
  if (raw === '/dev/null') return undefined;
  return raw.startsWith('b/') ? raw.slice(2) : raw;
}

/**
 * Parses a unified diff into the added lines of each file. Hunk line counts are honoured, so an
 * added line that itself starts with `++` is never taken for a file header.
 */
export function parseAddedLines(diff: string): AddedLines[] {
  const files: AddedLines[] = [];
  let current: AddedLines | undefined;
  let oldLeft = 0;
  let newLeft = 0;
  let newLine = 0;
  for (const rawLine of diff.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (oldLeft > 0 || newLeft > 0) {
      const tag = line.charAt(0);
      if (tag === '+') {
        current?.lines.push(line.slice(1));
        current?.lineNumbers.push(newLine);
        newLine++;
        newLeft--;
        continue;
      }
      if (tag === '-') {
        oldLeft--;
        continue;
      }
      if (tag === ' ' || line === '') {
        oldLeft--;
        newLeft--;
        newLine++;
        continue;
      }
      if (tag === '\\') continue;
      oldLeft = 0;
      newLeft = 0;
    }
    if (line.startsWith('+++ ')) {
      const file = newPath(line);
      current = file === undefined ? undefined : { file, lines: [], lineNumbers: [] };
      if (current) files.push(current);
      continue;
    }
    const hunk = HUNK.exec(line);
    if (hunk) {
      oldLeft = hunk[1] === undefined ? 1 : Number(hunk[1]);
      newLine = Number(hunk[2]);
      newLeft = hunk[3] === undefined ? 1 : Number(hunk[3]);
    } else if (line.startsWith('diff --git ')) {
      current = undefined;
    }
  }
  return files.filter((f) => f.lines.length > 0);
}

/**
 * Scans only the '+' lines of a unified diff; findings carry the path from the `+++ b/` header
 * and the line number in the new file. Consecutive added lines are scanned together, so a
 * private key added across several lines is still found.
 */
export function scanAddedLines(unifiedDiff: string, options: ScanOptions = {}): ScanResult {
  const result: ScanResult = { findings: [], skipped: [] };
  for (const added of parseAddedLines(unifiedDiff)) {
    const { findings, skipped } = scanWithLineMap(added.lines.join('\n'), added.file, options, added.lineNumbers);
    result.findings.push(...findings);
    result.skipped.push(...skipped);
  }
  return result;
}
