/**
 * Moving an agent off a host that stopped answering. A host-bound activity that no worker of
 * its host picked up within the deadline while the host's queue has no live poller (asked in
 * host-waits.ts; a busy host is waited for), whose previous attempt stopped heartbeating, or
 * that found the worktree gone from the host's disk, means the host is lost. A heartbeat timeout
 * is retried by the activity's policy; the retry meets the deadline with that timeout as its cause.
 * The workspace is then rebuilt on whichever live host takes the task from the shared queue,
 * from the base commit plus the last checkpoint, with a new sandbox; the run goes on at its
 * last finished turn. What the lost host still holds is left to its own reaper.
 */
import * as wf from '@temporalio/workflow';
import { isHostBound } from '../domain/placement';
import type { Run } from './phases';
import { ensureSandbox } from './phases';
import { hostMiss } from './host-waits';
import { rebuildWorkspace } from './proxies';
import { RunFailure } from './run-state';

/** More moves than this in one run means no host can hold the agent: the run fails. */
export const MAX_HOST_MOVES = 5;

/**
 * Runs recorded before it failed when a host-bound activity's last attempt stopped heartbeating:
 * a host that died during each of a gate activity's two attempts (restarted under its id in
 * between, so the retry went back to it) failed the run with "activity Heartbeat timeout"
 * instead of moving it. Now that is a lost host like any other; MAX_HOST_MOVES still bounds a
 * task that takes down every host it runs on.
 */
export const LAST_ATTEMPT_DIED_IS_HOST_LOST = 'last-attempt-died-is-host-lost';

/** A host-bound activity failed for its host: by the time it reaches here, the host was asked and is lost (host-waits.ts). */
export function isHostLost(err: unknown): boolean {
  if (hostMiss(err) !== undefined) return true;
  return lastAttemptDied(err) && wf.patched(LAST_ATTEMPT_DIED_IS_HOST_LOST);
}

/** A host-bound activity whose retries ran out on a heartbeat timeout: the worker running its last attempt went away mid-task. */
function lastAttemptDied(err: unknown): boolean {
  return err instanceof wf.ActivityFailure && isHostBound(err.activityType) && err.cause instanceof wf.TimeoutFailure && err.cause.timeoutType === 'HEARTBEAT';
}

export async function moveToAnotherHost(run: Run, cause: unknown): Promise<void> {
  const { state } = run;
  const { input } = state;
  const lost = state.requireWorkspace();
  state.hostLost();
  if (state.lostHosts.length > MAX_HOST_MOVES) {
    throw new RunFailure(`the agent lost ${state.lostHosts.length} hosts (${state.lostHosts.join(', ')}); no host could hold it`, 'HostLost');
  }
  wf.log.warn('host lost: moving the agent to another host', {
    agentId: input.agentId,
    host: lost.host.id,
    turn: state.turn,
    cause: cause instanceof Error ? cause.message : String(cause),
  });
  await run.record(`host ${lost.host.id} lost; rebuilding the workspace on another host from the checkpoint of turn ${state.turn} or before`);
  const rebuilt = await rebuildWorkspace({
    agentId: input.agentId,
    taskId: input.taskId,
    repository: input.context.repository,
    baseBranch: input.context.branch,
    baseSha: lost.baseSha,
    upToTurn: state.turn,
  });
  state.movedTo(rebuilt.workspace);
  await ensureSandbox(run);
  await run.record(`moved to host ${rebuilt.workspace.host.id}${rebuilt.restoredTurn !== undefined ? ` with the checkpoint of turn ${rebuilt.restoredTurn}` : ''}`);
}
