/**
 * Scanning files from disk: size cap, binary check, then the text scan. Shared by the CLI and
 * its worker threads. Reads are synchronous on purpose: each worker thread reads its own files
 * (so reads run in parallel across threads), and one open/fstat/read/close sequence without
 * promise and thread-pool round trips costs a fraction of fs.promises' on many small files.
 */
import { isAscii } from 'node:buffer';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DEFAULT_MAX_FILE_BYTES, scanText } from './scan';
import type { Allowlist, ScanResult } from './types';

/** True when the first bytes contain NUL, as git decides a file is binary. */
function isBinary(buf: Buffer): boolean {
  return buf.subarray(0, 8000).includes(0);
}

/**
 * Read buffer of this thread, reused from file to file (a file is scanned before the next one is
 * read): one allocation instead of one per file, and far less garbage to collect.
 */
let readBuffer = Buffer.allocUnsafe(256 * 1024);

/**
 * The file's bytes, or undefined (and a skip note) when it is over the size cap. The bytes are
 * only valid until the next call.
 */
function readCapped(absolute: string, relative: string, result: ScanResult): Buffer | undefined {
  const fd = openSync(absolute, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > DEFAULT_MAX_FILE_BYTES) {
      result.skipped.push({ file: relative, reason: `file larger than ${DEFAULT_MAX_FILE_BYTES} bytes` });
      return undefined;
    }
    if (readBuffer.length < size) readBuffer = Buffer.allocUnsafe(Math.min(DEFAULT_MAX_FILE_BYTES, Math.max(size, readBuffer.length * 2)));
    const buf = readBuffer;
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buf, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return buf.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** Reads and scans `absolute`, reporting it as `relative`; appends to `result`. */
export function scanFile(absolute: string, relative: string, allowlist: Allowlist, result: ScanResult): void {
  if (allowlist.allowsPath(relative)) return;
  const buf = readCapped(absolute, relative, result);
  if (buf === undefined || isBinary(buf)) return;
  const ascii = isAscii(buf);
  const text = buf.toString(ascii ? 'latin1' : 'utf8');
  const { findings, skipped } = scanText(text, relative, { allowlist, asciiBytes: ascii ? buf : undefined });
  result.findings.push(...findings);
  result.skipped.push(...skipped);
}

/** Scans `files` (relative to `root`) one after the other. */
export function scanFiles(root: string, files: Iterable<string>, allowlist: Allowlist): ScanResult {
  const result: ScanResult = { findings: [], skipped: [] };
  for (const relative of files) scanFile(`${root}/${relative}`, relative, allowlist, result);
  return result;
}
