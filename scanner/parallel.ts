/**
 * Scans a list of files on all cores: worker threads (compiled JavaScript only) each take
 * batches of paths, read them concurrently and scan them. Small jobs, and runs from TypeScript
 * sources where no compiled worker exists, scan on the calling thread.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadAllowlist } from './allow';
import { scanFiles } from './file-scan';
import type { BatchReply, BatchRequest, WorkerInput } from './scan-worker';
import type { ScanResult } from './types';

const WORKER_FILE = path.join(__dirname, 'scan-worker.js');
/** Below this many files, starting threads costs more than it saves. */
const MIN_FILES_FOR_THREADS = 64;
const BATCH_FILES = 32;

export interface ParallelOptions {
  /** Worker threads; default: the available parallelism. */
  threads?: number;
}

/** Scans `files` (relative to `root`); findings in no particular order. */
export async function scanFilesInParallel(root: string, files: readonly string[], allowlistText: string, options: ParallelOptions = {}): Promise<ScanResult> {
  const threads = Math.max(1, options.threads ?? availableParallelism());
  if (threads === 1 || files.length < MIN_FILES_FOR_THREADS || !existsSync(WORKER_FILE)) {
    return scanFiles(root, files, loadAllowlist(allowlistText));
  }
  const batches: string[][] = [];
  for (let i = 0; i < files.length; i += BATCH_FILES) batches.push(files.slice(i, i + BATCH_FILES));
  const result: ScanResult = { findings: [], skipped: [] };
  const workerData: WorkerInput = { root, allowlistText };
  const workers = Array.from({ length: Math.min(threads, batches.length) }, () => new Worker(WORKER_FILE, { workerData }));
  let next = 0;
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            let inFlight = 0;
            const send = (): void => {
              if (next < batches.length) {
                const req: BatchRequest = { id: next, files: batches[next++] as string[] };
                inFlight++;
                worker.postMessage(req);
              } else if (inFlight === 0) {
                resolve();
              }
            };
            worker.on('message', (reply: BatchReply) => {
              inFlight--;
              if ('error' in reply) {
                // Shaped like the fs error it stands for, so callers report code and path alike.
                reject(Object.assign(new Error(reply.error.name), reply.error));
                return;
              }
              result.findings.push(...reply.result.findings);
              result.skipped.push(...reply.result.skipped);
              send();
            });
            worker.on('error', reject);
            worker.on('exit', (code) => {
              if (code !== 0) reject(new Error(`scan worker exited with ${code}`));
            });
            // Two batches in flight per worker, so it never waits for the main thread.
            send();
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return result;
}
