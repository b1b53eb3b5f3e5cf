/**
 * A worker-wide budget for the tree walks that hold a descriptor per level (inspect-tree.ts,
 * ownership.ts). They must: after a subdirectory they go on with its parent, which only the
 * parent's descriptor reaches safely. So each may take MAX_DEPTH (2048) descriptors in a tree the
 * agent made that deep, and a few such walks at once (one per hostile agent, or the disk budget
 * and a checkpoint) took the worker's whole table: every other activity's sockets, spawns and files
 * failed with EMFILE meanwhile. Real projects are far shallower than FREE_LEVELS, so their walks
 * never wait; below it a walk holds one of a few permits, the budget for deep walks, and waits
 * for one while others hold them all. A permit holder never waits for another one (a walk crosses
 * FREE_LEVELS once on each way down, and holds its permit until it is back above), so the wait ends.
 * The descriptor table is the process's, so the budget is too: one instance per process.
 */

/** Levels a walk goes down without a permit (a descriptor each). */
export const FREE_LEVELS = 64;

export class DeepWalkPermits {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`deep walk permits must be a positive integer, got ${size}`);
    this.free = size;
  }

  /**
   * Runs `fn` (the walk below FREE_LEVELS) holding a permit; waits for one first, ticking
   * `onProgress` each second so an activity heartbeats, unless `signal` fires.
   */
  async use<T>(op: { signal?: AbortSignal; onProgress?: () => void }, fn: () => Promise<T>): Promise<T> {
    await this.acquire(op);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private async acquire(op: { signal?: AbortSignal; onProgress?: () => void }): Promise<void> {
    op.signal?.throwIfAborted();
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    const ticker = op.onProgress ? setInterval(op.onProgress, 1000) : undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const grant = () => {
          op.signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.waiting.indexOf(grant);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(op.signal!.reason);
        };
        this.waiting.push(grant);
        op.signal?.addEventListener('abort', onAbort, { once: true });
      });
    } finally {
      clearInterval(ticker);
    }
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the permit passes on directly
    else this.free += 1;
  }
}

/**
 * Two walks at full depth at once: 4,096 descriptors, with FREE_LEVELS for every shallower walk,
 * within the worker's table (Node raises its soft limit to the hard one, often 20,000 or more).
 */
export const deepWalks = new DeepWalkPermits(2);
