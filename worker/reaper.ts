/**
 * Removes what closed workflows left behind (a worker that crashed mid-run cannot clean up):
 * once at start, then periodically. Each target decides per agent through `isClosed`.
 */
import type { Logger } from 'pino';

export interface ReapTarget {
  name: string;
  reap: (isClosed: (agentId: string) => Promise<boolean>) => Promise<number>;
}

export function startReaper(opts: { intervalMs: number; isClosed: (agentId: string) => Promise<boolean>; targets: ReapTarget[]; log: Logger }): { stop: () => void; runOnce: () => Promise<void> } {
  let running = false;
  const runOnce = async () => {
    if (running) return;
    running = true;
    try {
      for (const target of opts.targets) {
        try {
          const removed = await target.reap(opts.isClosed);
          opts.log.info({ target: target.name, removed }, 'reaper pass');
        } catch (err) {
          opts.log.warn({ target: target.name, err: (err as Error).message }, 'reaper pass failed');
        }
      }
    } finally {
      running = false;
    }
  };
  void runOnce();
  const timer = setInterval(() => void runOnce(), opts.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), runOnce };
}
