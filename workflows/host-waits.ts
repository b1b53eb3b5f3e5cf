/**
 * A host that is late is not yet a lost host. A host-bound activity that no worker of its host
 * started within HOST_FAILOVER_SECONDS (its schedule-to-start timeout) may wait behind the
 * host's other agents for a slot: with hundreds of agents per host, a live host is routinely
 * later than that. So before the agent moves, the workflow asks the Temporal server whether the
 * host's queue still has a live poller (hostLiveness, a local activity: the worker running this
 * workflow answers at once, not after the backlog that made the host late; its recorded answer
 * keeps the decision deterministic). Alive: the same activity is scheduled on the same host
 * again, with a longer deadline. No live poller, a previous attempt that stopped heartbeating, or
 * a worktree gone from the disk: the host is lost and failover.ts moves the agent.
 */
import * as wf from '@temporalio/workflow';
import { decodeTimeoutType } from '@temporalio/common';
import type { ActivityFunction, ActivityOptions } from '@temporalio/workflow';
import type { WorkerHost } from '../domain/agent';
import { hostWaitSeconds, MAX_HOST_REWAITS } from '../domain/host-liveness';
import { isHostTurn } from '../domain/placement';
import { hostTurnTaskQueue } from '../domain/task-queues';
import { hostLiveness, type HostActivities } from './proxies';

/** Runs recorded before hosts were asked keep failing over at the first deadline, as they did. */
export const ASK_BEFORE_FAILOVER = 'ask-host-before-failover';

/**
 * Why a host-bound activity failed for reasons of its host: `not-started` (the deadline passed:
 * lost or busy, the host's queue tells), `lost` (the worktree is gone, or the attempt before
 * stopped heartbeating: the worker running it went away mid-task). Undefined: not a host matter.
 */
export function hostMiss(err: unknown): 'not-started' | 'lost' | undefined {
  if (!(err instanceof wf.ActivityFailure)) return undefined;
  const cause = err.cause;
  if (cause instanceof wf.ApplicationFailure) return cause.type === 'WorkspaceLost' ? 'lost' : undefined;
  if (!(cause instanceof wf.TimeoutFailure) || cause.timeoutType !== 'SCHEDULE_TO_START') return undefined;
  // The server gives the previous attempt's failure as the timeout's cause.
  const previous = cause.failure?.cause?.timeoutFailureInfo?.timeoutType;
  return previous != null && decodeTimeoutType(previous) === 'HEARTBEAT' ? 'lost' : 'not-started';
}

/** True when the host of the activity that failed with `err` is alive and busy: wait for it again. */
async function hostIsBusy(host: WorkerHost, err: unknown, rewait: number): Promise<boolean> {
  if (rewait > MAX_HOST_REWAITS || hostMiss(err) !== 'not-started' || !wf.patched(ASK_BEFORE_FAILOVER)) return false;
  let liveness;
  try {
    liveness = await hostLiveness({ taskQueue: host.taskQueue });
  } catch (checkErr) {
    // A kill (or the wall-time budget) cancelled the check: the run is stopping, its host is not
    // lost, and taking it for lost would leave the worktree and sandbox there to the reaper.
    if (wf.isCancellation(checkErr)) throw checkErr;
    // Nobody could ask the server: keep the old rule, a late host is lost.
    wf.log.warn('could not ask whether the host is alive; taking it for lost', { host: host.id, error: checkErr instanceof Error ? checkErr.message : String(checkErr) });
    return false;
  }
  if (liveness.alive) wf.log.info('host busy, not lost: waiting for it again', { host: host.id, rewait, lastPollAgeMs: liveness.lastPollAgeMs });
  return liveness.alive;
}

/** `fn`, scheduled on `host` again (each time with a longer deadline) for as long as the host is late but alive. */
function waitingOnLiveHost<F extends ActivityFunction>(fn: wf.ActivityFunctionWithOptions<F>, host: WorkerHost, failoverSeconds: number): wf.ActivityFunctionWithOptions<F> {
  const execute = async (options: ActivityOptions, args: Parameters<F>): Promise<Awaited<ReturnType<F>>> => {
    for (let rewait = 0; ; rewait++) {
      const deadline: ActivityOptions = rewait === 0 ? options : { ...options, scheduleToStartTimeout: `${hostWaitSeconds(failoverSeconds, rewait)}s` };
      try {
        return await fn.executeWithOptions(deadline, args);
      } catch (err) {
        if (!(await hostIsBusy(host, err, rewait + 1))) throw err;
      }
    }
  };
  const call = (...args: Parameters<F>) => execute({}, args);
  return Object.assign(call, { executeWithOptions: execute }) as unknown as wf.ActivityFunctionWithOptions<F>;
}

const waiting = new WeakMap<HostActivities, HostActivities>();

/**
 * The host's activities, each waiting on the host while it is alive (see above). Cleanup does
 * not wait: the run has ended, its status is recorded, and what a late host still holds is its
 * own reaper's to remove, so a run whose host died closes without waiting out the poll window.
 */
export function onLiveHost(activities: HostActivities, host: WorkerHost, failoverSeconds: number): HostActivities {
  const cached = waiting.get(activities);
  if (cached) return cached;
  const wrapped = Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      // A turn waits on the host's turn queue: whether anyone polls that one is what counts (a worker of an older release polls only the host queue).
      name === 'cleanupAgent' ? fn : waitingOnLiveHost(fn as wf.ActivityFunctionWithOptions<ActivityFunction>, isHostTurn(name) ? { ...host, taskQueue: hostTurnTaskQueue(host.taskQueue) } : host, failoverSeconds),
    ]),
  ) as unknown as HostActivities;
  waiting.set(activities, wrapped);
  return wrapped;
}
