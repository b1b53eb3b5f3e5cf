/**
 * Telling a lost host from a busy one. A host-bound activity that nobody started within the
 * failover deadline has two causes: every worker of the host is gone, or they are all busy with
 * other agents' tasks. Temporal's DescribeTaskQueue tells them apart: it lists each worker polling
 * the host's queue with the time its last poll started (`lastAccessTime`). Pure: the activity
 * asks, the workflow decides on the answer it recorded.
 *
 * What the dev server reported (measured, 1.9.1 CLI): a worker with a free slot keeps one poll
 * open and renews it every 50-60 s, so its last poll is never older than about a minute; a worker
 * whose slots are all taken does not poll, and a killed worker's entry stays for five minutes
 * with its last poll time frozen. So "polled within the window" means alive; a host whose slots
 * are all held longer than the window, or that died less than a window ago, is not told apart
 * from the other case by this alone (the workflow asks again on the next wait).
 */

/** How recent a poll of the host's queue must be for the host to count as alive. */
export const LIVE_POLL_WINDOW_MS = 75_000;

/** The longest single wait for a busy host before asking again. */
export const MAX_HOST_WAIT_SECONDS = 300;

/** Waits for one host-bound activity after its first deadline, before the host counts as lost whatever its queue says. */
export const MAX_HOST_REWAITS = 10;

export interface HostLiveness {
  alive: boolean;
  /** Workers the server still lists on the host's queue (live or not). */
  pollers: number;
  /** Age of the most recent poll, when there is one. */
  lastPollAgeMs?: number;
}

/** Whether the host's queue was polled recently enough for the host to be alive; `lastPollsMs` are epoch ms. */
export function judgeHostQueue(lastPollsMs: readonly number[], nowMs: number, windowMs = LIVE_POLL_WINDOW_MS): HostLiveness {
  if (lastPollsMs.length === 0) return { alive: false, pollers: 0 };
  const lastPollAgeMs = Math.max(0, nowMs - Math.max(...lastPollsMs));
  return { alive: lastPollAgeMs <= windowMs, pollers: lastPollsMs.length, lastPollAgeMs };
}

/**
 * The schedule-to-start deadline of wait number `rewait` (1 = the first wait after the failover
 * deadline passed) on a host found alive: doubling from the failover deadline, at most
 * MAX_HOST_WAIT_SECONDS (or the failover deadline, if that is longer), so a long wait costs a
 * handful of history events, not one per deadline.
 */
export function hostWaitSeconds(failoverSeconds: number, rewait: number): number {
  const cap = Math.max(failoverSeconds, MAX_HOST_WAIT_SECONDS);
  return Math.min(failoverSeconds * 2 ** Math.min(rewait, 20), cap);
}
