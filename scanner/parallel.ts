/**
 * Scans files on all cores: worker threads (compiled JavaScript only) each take batches of
 * paths, read them concurrently and scan them. Small jobs, and runs from TypeScript
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

/** Pulls up to `size` items from `iterator`. */
function take(iterator: Iterator<string>, size: number): string[] {
  const batch: string[] = [];
  while (batch.length < size) {
    const next = iterator.next();
    if (next.done === true) break;
    batch.push(next.value);
  }
  return batch;
}

function* concat(first: readonly string[], rest: Iterator<string>): Generator<string> {
  yield* first;
  for (let next = rest.next(); next.done !== true; next = rest.next()) yield next.value;
}

/**
 * Scans `files` (relative to `root`); findings in no particular order. `files` is pulled
 * lazily, batch by batch as workers ask for more, so a lazy walk overlaps the scanning.
 */
export async function scanFilesInParallel(root: string, files: Iterable<string>, allowlistText: string, options: ParallelOptions = {}): Promise<ScanResult> {
  const threads = Math.max(1, options.threads ?? availableParallelism());
  const iterator = files[Symbol.iterator]();
  const first = take(iterator, MIN_FILES_FOR_THREADS);
  if (threads === 1 || first.length < MIN_FILES_FOR_THREADS || !existsSync(WORKER_FILE)) {
    return scanFiles(root, concat(first, iterator), loadAllowlist(allowlistText));
  }
  const pending: string[][] = [];
  for (let i = 0; i < first.length; i += BATCH_FILES) pending.push(first.slice(i, i + BATCH_FILES));
  const nextBatch = (): string[] | undefined => {
    const batch = pending.shift() ?? take(iterator, BATCH_FILES);
    return batch.length > 0 ? batch : undefined;
  };
  const result: ScanResult = { findings: [], skipped: [] };
  const workerData: WorkerInput = { root, allowlistText };
  const workers = Array.from({ length: threads }, () => new Worker(WORKER_FILE, { workerData }));
  let batchId = 0;
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            let inFlight = 0;
            const send = (): void => {
              let files: string[] | undefined;
              try {
                files = nextBatch();
              } catch (err) {
                // The walk failed (an unreadable directory): the scan fails with its error.
                reject(err as Error);
                return;
              }
              if (files !== undefined) {
                const req: BatchRequest = { id: batchId++, files };
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
