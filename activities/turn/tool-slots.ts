/**
 * How many tool batches of turn activities run at once in this process. The turn queue's
 * Temporal slots are sized for model waits (hundreds), so they cannot also bound the commands;
 * this does, with WORKER_ACTIVITY_SLOTS, the budget tool batches had on the host queue. A turn
 * waiting here keeps heartbeating and can be cancelled.
 */
export class ToolSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`tool slots must be a positive integer, got ${size}`);
    this.free = size;
  }

  get inUse(): number {
    return this.size - this.free;
  }

  /** Runs `fn` in a slot; waits for one first (ticking `onProgress` each second), unless `signal` fires. */
  async use<T>(op: { signal: AbortSignal; onProgress: () => void }, fn: () => Promise<T>): Promise<T> {
    await this.acquire(op);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private async acquire(op: { signal: AbortSignal; onProgress: () => void }): Promise<void> {
    if (op.signal.aborted) throw abortReason(op.signal);
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    const ticker = setInterval(op.onProgress, 1000);
    try {
      await new Promise<void>((resolve, reject) => {
        const grant = () => {
          op.signal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.waiting.indexOf(grant);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(abortReason(op.signal));
        };
        op.signal.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(grant);
      });
    } finally {
      clearInterval(ticker);
    }
  }

  private release(): void {
    // A slot goes straight to the next waiter: the count of free slots never rises meanwhile.
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

/** Why the wait ended: the cancellation's own reason (a kill, a shutdown, cleanup), as the batch would report it. */
function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('cancelled while waiting for a tool slot');
}
