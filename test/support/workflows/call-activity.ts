/** A test workflow that calls one activity by name and reports how it failed, as the agentRun workflow would see it. */
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';

export interface ActivityOutcome {
  ok: boolean;
  type?: string;
  nonRetryable?: boolean;
  message?: string;
}

export async function callActivity(name: string, args: unknown[]): Promise<ActivityOutcome> {
  const activities = proxyActivities<Record<string, (...a: unknown[]) => Promise<unknown>>>({
    startToCloseTimeout: '20s',
    // No list of non-retryable types here: the failure itself must say whether it is final.
    retry: { initialInterval: '20ms', backoffCoefficient: 1, maximumAttempts: 3 },
  });
  try {
    await activities[name]!(...args);
    return { ok: true };
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
      return { ok: false, type: err.cause.type ?? undefined, nonRetryable: err.cause.nonRetryable ?? undefined, message: err.cause.message };
    }
    throw err;
  }
}
