/**
 * Removes what closed workflows left behind (a worker that crashed mid-run cannot clean up):
 * once at start, then periodically. Each target decides per agent through the pass's lookup.
 */
import type { Logger } from 'pino';
import type { CloseStatus } from '../state/closed-run-states';

/** How an agent's workflow closed (null while it runs), asked of Temporal once per agent per pass. */
export interface ReapLookup {
  closeStatus: (agentId: string) => Promise<CloseStatus | null>;
  isClosed: (agentId: string) => Promise<boolean>;
}

export interface ReapTarget {
  name: string;
  reap: (lookup: ReapLookup) => Promise<number>;
}

export function startReaper(opts: { intervalMs: number; closeStatus: (agentId: string) => Promise<CloseStatus | null>; targets: ReapTarget[]; log: Logger }): { stop: () => void; runOnce: () => Promise<void> } {
  let running = false;
  const runOnce = async () => {
    if (running) return;
    running = true;
    try {
      const lookup = passLookup(opts.closeStatus);
      for (const target of opts.targets) {
        try {
          const removed = await target.reap(lookup);
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

/**
 * One pass's answers, each agent described once: every target asks about every live agent, and
 * 500 live agents were 2,500 describe calls a pass. An answer is good for the pass: a run that
 * closes meanwhile is reaped on the next one. A failed lookup (Temporal unreachable) is not kept.
 */
export function passLookup(closeStatus: (agentId: string) => Promise<CloseStatus | null>): ReapLookup {
  const answers = new Map<string, Promise<CloseStatus | null>>();
  const lookup = (agentId: string) => {
    let answer = answers.get(agentId);
    if (!answer) {
      answer = closeStatus(agentId);
      answers.set(agentId, answer);
      answer.catch(() => answers.delete(agentId));
    }
    return answer;
  };
  return { closeStatus: lookup, isClosed: async (agentId) => (await lookup(agentId)) !== null };
}
