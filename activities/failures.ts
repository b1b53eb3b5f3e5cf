/**
 * The one place an activity's error becomes a Temporal failure. Applied to the whole activity
 * object by `createActivities`, so no activity can skip it: a `TypedError` becomes an
 * `ApplicationFailure` with its type, its retryability from the failure table
 * (domain/failures.ts) and any retry delay it asks for. Cancellation and errors of unknown
 * shape pass through otherwise unchanged (Temporal retries those, typed by class name).
 *
 * Every message leaves here redacted and bounded, its stack and causes too: a failure goes into
 * the workflow's history, the run's status and the API's answers, and an error message can carry
 * what the agent wrote (a path, a tool name, a command's output).
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { TypedError } from '../domain/typed-error';
import { redactSecrets } from '../scanner';

/** Longest message a failure carries (history and status stay small). */
export const MAX_FAILURE_MESSAGE = 4000;

export function toActivityFailure(err: unknown, redact: (text: string) => string = redactSecrets): unknown {
  if (err instanceof TypedError) {
    return ApplicationFailure.create({
      message: cleanMessage(err.message, redact),
      type: err.type,
      nonRetryable: !err.retryable,
      ...(err.nextRetryDelayMs !== undefined ? { nextRetryDelay: err.nextRetryDelayMs } : {}),
    });
  }
  if (err instanceof Error && !(err instanceof CancelledFailure)) scrub(err, redact);
  return err;
}

function cleanMessage(message: string, redact: (text: string) => string): string {
  // Redacted before it is cut: a secret across the cut leaves no part behind.
  const clean = redact(message);
  return clean.length <= MAX_FAILURE_MESSAGE ? clean : `${clean.slice(0, MAX_FAILURE_MESSAGE - 1)}…`;
}

/** In place: the error keeps its class (Temporal types a failure by it) and its identity. */
function scrub(err: Error, redact: (text: string) => string, depth = 0): void {
  const clean = cleanMessage(err.message, redact);
  if (clean !== err.message) {
    const stack = err.stack;
    const before = err.message;
    err.message = clean;
    // The stack's first line repeats the message.
    if (stack !== undefined) err.stack = stack.split(before).join(clean);
  }
  if (err.stack !== undefined) {
    const cleanStack = redact(err.stack);
    if (cleanStack !== err.stack) err.stack = cleanStack;
  }
  if (err.cause instanceof Error && depth < 5) scrub(err.cause, redact, depth + 1);
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
