/**
 * Named activity option sets: every proxy has explicit timeouts and a bounded retry policy.
 * Which failures are final is decided by the failures themselves (domain/failures.ts, applied
 * when an activity throws), so no policy here keeps a list of its own.
 * Long activities heartbeat, so a dead worker is noticed within the heartbeat timeout and a
 * cancellation within a second (heartbeats are sent at most once a second: create-worker.ts).
 */
import { ActivityCancellationType, type ActivityOptions, type LocalActivityOptions, type RetryPolicy } from '@temporalio/workflow';
import { ACTIVITY_LIMITS } from '../domain/activity-timeouts';

/**
 * Long activities are cancelled through their heartbeat and the workflow waits until they have
 * really stopped, so cleanup never removes a worktree under a still-running command.
 */
const waitForStop = { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED };

const backoff: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' };

/** Quick bookkeeping that runs where the agent's files are (e.g. reading HEAD). */
export const quick: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { ...backoff, maximumAttempts: 10 },
};

/**
 * Valkey writes (the state projection, transcript messages) as local activities: milliseconds
 * each, idempotent (sequence-guarded or keyed by index), reachable from any worker, so they need
 * none of a task queue's routing or rate limiting, and running them inside the workflow task
 * saves a server round trip each (about ten per run). Temporal's guidance for local activities:
 * short, at most a few seconds including retries; a retry that backs off longer than
 * `localRetryThreshold` waits on a durable timer instead of holding the workflow task.
 */
export const valkeyWrite: LocalActivityOptions = {
  startToCloseTimeout: '10s',
  localRetryThreshold: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
};

/**
 * Asking the Temporal server whether a late host still polls its queue (workflows/host-waits.ts):
 * one quick RPC, run as a local activity by the worker running the workflow. A server that does
 * not answer within these retries leaves the old rule: the late host counts as lost.
 */
export const hostCheck: LocalActivityOptions = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 4 },
};

/** Git and sandbox operations: can take minutes on a big repository. */
export const workspace: ActivityOptions = {
  ...waitForStop,
  startToCloseTimeout: '20m',
  heartbeatTimeout: '30s',
  retry: { ...backoff, maximumAttempts: 5 },
};

/**
 * One model call, on the model task queue; rate limits and overload are retried with backoff (or
 * the server's retry-after). A killed run does not wait for the call to stop (TRY_CANCEL): it
 * touches no file and writes only its own transcript entry, so cleanup may start at once and the
 * kill lands without waiting for the next heartbeat.
 */
export const modelCall: ActivityOptions = {
  cancellationType: ActivityCancellationType.TRY_CANCEL,
  startToCloseTimeout: `${ACTIVITY_LIMITS.modelCall.seconds}s`,
  // The model worker sends a heartbeat every 30 s (create-worker.ts): a dead worker is noticed within a minute and the turn retried.
  heartbeatTimeout: '60s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 8 },
};

/**
 * One batch of tool calls; a crash re-runs the batch (commands are at-least-once). The batch
 * heartbeats every second; its timeout is the time a dead host goes unnoticed, and it was 10 s
 * until a loaded server (50 agents, 2 cores) recorded heartbeats late and failed live batches.
 */
export const toolBatch: ActivityOptions = {
  ...waitForStop,
  startToCloseTimeout: `${ACTIVITY_LIMITS.toolBatch.seconds}s`,
  heartbeatTimeout: '30s',
  retry: { ...backoff, maximumAttempts: 3 },
};

/**
 * A turn after the first: the last answer's tool batch, then the next model call, on the host's
 * turn queue (activities/turn/). A killed run does not wait for it (TRY_CANCEL), because most of
 * it is the model wait, and that queue's worker heartbeats only every 10 s (create-worker.ts);
 * cleanup stops the batch itself before it touches the worktree (activities/turn/in-flight.ts).
 * The heartbeat timeout is the tool batch's: a host lost mid-turn is noticed as fast as one lost
 * mid-batch was. A retry runs nothing twice: stored tool results and a stored answer are reused.
 * Retried like a model call, because that is what usually fails.
 */
export const toolsThenModel: ActivityOptions = {
  ...modelCall,
  startToCloseTimeout: '75m',
  heartbeatTimeout: '30s',
};

/** Quality gates: long builds and test suites. */
export const gates: ActivityOptions = {
  ...waitForStop,
  startToCloseTimeout: `${ACTIVITY_LIMITS.gates.seconds}s`,
  heartbeatTimeout: '30s',
  retry: { ...backoff, maximumAttempts: 2 },
};

/** The coordinator may be down for a while: retry for up to an hour, never lose the report. */
export const coordinator: ActivityOptions = {
  startToCloseTimeout: `${ACTIVITY_LIMITS.coordinator.seconds}s`,
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
};

/** Cleanup must finish: it runs outside cancellation and retries generously. */
export const cleanup: ActivityOptions = {
  startToCloseTimeout: `${ACTIVITY_LIMITS.cleanup.seconds}s`,
  heartbeatTimeout: '30s',
  retry: { ...backoff, maximumAttempts: 20 },
};

/**
 * `options` on a host's own task queue. The schedule-to-start timeout is how long the host may
 * take to pick the task up before the workflow asks whether the host is alive: past it the
 * activity fails at once, never retried; a host still polling its queue is waited for again, one
 * that is not loses the agent to another host (workflows/host-waits.ts).
 */
export function onHostQueue(opts: ActivityOptions, taskQueue: string, failoverSeconds: number): ActivityOptions {
  return { ...opts, taskQueue, scheduleToStartTimeout: `${failoverSeconds}s` };
}
