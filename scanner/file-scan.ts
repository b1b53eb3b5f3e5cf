/** Scanning one file from disk: size cap, binary check, then the text scan. Shared by the CLI and its worker threads. */
import { promises as fs } from 'node:fs';
import { DEFAULT_MAX_FILE_BYTES, scanText } from './scan';
import type { Allowlist, ScanResult } from './types';

/** True when the first bytes contain NUL, as git decides a file is binary. */
function isBinary(buf: Buffer): boolean {
  return buf.subarray(0, 8000).includes(0);
}

/** Reads and scans `absolute`, reporting it as `relative`; appends to `result`. */
export async function scanFile(absolute: string, relative: string, allowlist: Allowlist, result: ScanResult): Promise<void> {
  if (allowlist.allowsPath(relative)) return;
  const stat = await fs.stat(absolute);
  if (stat.size > DEFAULT_MAX_FILE_BYTES) {
    result.skipped.push({ file: relative, reason: `file larger than ${DEFAULT_MAX_FILE_BYTES} bytes` });
    return;
  }
  const buf = await fs.readFile(absolute);
  if (isBinary(buf)) return;
  const { findings, skipped } = scanText(buf.toString('utf8'), relative, { allowlist });
  result.findings.push(...findings);
  result.skipped.push(...skipped);
}

/** Scans files with up to `concurrency` reads in flight, so that reading overlaps scanning. */
export async function scanFiles(root: string, files: readonly string[], allowlist: Allowlist, concurrency = 8): Promise<ScanResult> {
  const result: ScanResult = { findings: [], skipped: [] };
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < files.length) {
      const relative = files[next++] as string;
      await scanFile(`${root}/${relative}`, relative, allowlist, result);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, lane));
  return result;
}
