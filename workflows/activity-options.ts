/**
 * Named activity option sets: every proxy has explicit timeouts and a bounded retry policy.
 * Which failures are final is decided by the failures themselves (domain/failures.ts, applied
 * when an activity throws), so no policy here keeps a list of its own.
 * Long activities heartbeat, so a dead worker or a cancellation is noticed within the heartbeat timeout.
 */
import { ActivityCancellationType, type ActivityOptions, type RetryPolicy } from '@temporalio/workflow';

/**
 * Long activities are cancelled through their heartbeat and the workflow waits until they have
 * really stopped, so cleanup never removes a worktree under a still-running command.
 */
const waitForStop = { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED };

const backoff: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' };

/** Valkey writes and other quick bookkeeping. */
export const quick: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { ...backoff, maximumAttempts: 10 },
};

/** Git and sandbox operations: can take minutes on a big repository. */
export const workspace: ActivityOptions = {
  ...waitForStop,
  startToCloseTimeout: '20m',
  heartbeatTimeout: '30s',
  retry: { ...backoff, maximumAttempts: 5 },
};

/** One model call; rate limits and overload are retried with backoff (or the server's retry-after). */
export const modelCall: ActivityOptions = {
  ...waitForStop,
  startToCloseTimeout: '15m',
  // The call heartbeats every second, so a dead worker is noticed quickly and the turn retried.
  heartbeatTimeout: '10s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 8 },
};

/** One batch of tool calls; a crash re-runs the batch (commands are at-least-once). */
export const toolBatch: ActivityOptions = {
  ...waitForStop,
  startToCloseTimeout: '1h',
  heartbeatTimeout: '10s',
  retry: { ...backoff, maximumAttempts: 3 },
};

/** Quality gates: long builds and test suites. */
export const gates: ActivityOptions = {
  ...waitForStop,
  startToCloseTimeout: '3h',
  heartbeatTimeout: '30s',
  retry: { ...backoff, maximumAttempts: 2 },
};

/** The coordinator may be down for a while: retry for up to an hour, never lose the report. */
export const coordinator: ActivityOptions = {
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
};

/** Cleanup must finish: it runs outside cancellation and retries generously. */
export const cleanup: ActivityOptions = {
  startToCloseTimeout: '10m',
  heartbeatTimeout: '30s',
  retry: { ...backoff, maximumAttempts: 20 },
};
