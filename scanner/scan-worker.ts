/**
 * Worker thread of the parallel CLI scan: receives batches of repository-relative paths,
 * reads and scans them, answers with findings (redacted, as everywhere) and skips.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadAllowlist } from './allow';
import { scanFiles } from './file-scan';
import type { ScanResult } from './types';

export interface WorkerInput {
  readonly root: string;
  readonly allowlistText: string;
}

export interface BatchRequest {
  readonly id: number;
  readonly files: readonly string[];
}

/** A failure to read a file: its errno code and path (never file content), or only the error's class name. */
export interface BatchError {
  readonly code?: string;
  readonly path?: string;
  readonly name: string;
}

export type BatchReply = { readonly id: number; readonly result: ScanResult } | { readonly id: number; readonly error: BatchError };

const { root, allowlistText } = workerData as WorkerInput;
const allowlist = loadAllowlist(allowlistText);

parentPort?.on('message', (req: BatchRequest) => {
  let reply: BatchReply;
  try {
    reply = { id: req.id, result: scanFiles(root, req.files, allowlist) };
  } catch (err) {
    const io = err as NodeJS.ErrnoException;
    reply = { id: req.id, error: { code: io.code, path: io.path, name: io.name } };
  }
  parentPort?.postMessage(reply);
});
