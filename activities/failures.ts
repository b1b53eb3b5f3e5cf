/**
 * The one place an activity's error becomes a Temporal failure. Applied to the whole activity
 * object by `createActivities`, so no activity can skip it: a `TypedError` becomes an
 * `ApplicationFailure` with its type, its retryability from the failure table
 * (domain/failures.ts) and any retry delay it asks for. Cancellation and errors of unknown
 * shape pass through unchanged (Temporal retries those, typed by class name).
 */
import { ApplicationFailure } from '@temporalio/common';
import { TypedError } from '../domain/typed-error';

export function toActivityFailure(err: unknown): unknown {
  if (!(err instanceof TypedError)) return err;
  return ApplicationFailure.create({
    message: err.message,
    type: err.type,
    nonRetryable: !err.retryable,
    ...(err.nextRetryDelayMs !== undefined ? { nextRetryDelay: err.nextRetryDelayMs } : {}),
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- activities take any argument shape
export type AnyActivity = (...args: any[]) => Promise<unknown>;

/** Wraps every activity so its thrown errors are classified by `toActivityFailure`. */
export function classifyFailures<T extends Record<string, AnyActivity>>(activities: T): T {
  const wrapped: Record<string, AnyActivity> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toActivityFailure(err);
      }
    };
  }
  return wrapped as T;
}
