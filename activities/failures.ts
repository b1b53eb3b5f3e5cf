/**
 * The one place an activity's error becomes a Temporal failure. Applied to the whole activity
 * object by `createActivities`, so no activity can skip it: a `TypedError` becomes an
 * `ApplicationFailure` with its type, its retryability from the failure table
 * (domain/failures.ts) and any retry delay it asks for. Cancellation and errors of unknown
 * shape pass through otherwise unchanged (Temporal retries those, typed by class name).
 *
 * Every message leaves here redacted and bounded, its stack and causes too: a failure goes into
 * the workflow's history, the run's status and the API's answers, and an error message can carry
 * what the agent wrote (a path, a tool name, a command's output). Each is made plain before it is
 * redacted: an escape or control character inside a secret (a directory the agent named so) hides
 * it from redaction, not from a terminal that prints the status.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { TypedError } from '../domain/typed-error';
import { plainText } from '../domain/plain-text';
import { redactSecrets } from '../scanner';

/** Longest message a failure carries (history and status stay small). */
export const MAX_FAILURE_MESSAGE = 4000;
/** Causes kept below a failure; deeper ones are dropped. */
const MAX_CAUSE_DEPTH = 5;

export function toActivityFailure(err: unknown, redact: (text: string) => string = redactSecrets): unknown {
  if (err instanceof TypedError) {
    return ApplicationFailure.create({
      message: cleanMessage(err.message, redact),
      type: err.type,
      nonRetryable: !err.retryable,
      ...(err.nextRetryDelayMs !== undefined ? { nextRetryDelay: err.nextRetryDelayMs } : {}),
    });
  }
  if (err instanceof CancelledFailure) return err;
  if (err instanceof Error && scrub(err, redact)) return err;
  // Not an Error (a string, a plain object), or one whose message cannot be rewritten (a
  // DOMException's is a getter): the failure Temporal would make of it, from redacted parts.
  return redactedFailure(err, redact);
}

/** As Temporal's `ensureApplicationFailure` makes a failure of any thrown value (its type the value's class), redacted and bounded. */
function redactedFailure(err: unknown, redact: (text: string) => string): ApplicationFailure {
  const record = typeof err === 'object' && err !== null ? (err as { message?: unknown; stack?: unknown; cause?: unknown }) : undefined;
  const cause = record?.cause instanceof Error && !(record.cause instanceof CancelledFailure) && scrub(record.cause, redact) ? record.cause : undefined;
  const failure = ApplicationFailure.create({
    message: cleanMessage(record?.message !== undefined ? String(record.message) : describe(err), redact),
    type: record?.constructor?.name || undefined,
    nonRetryable: false,
    ...(cause ? { cause } : {}),
  });
  failure.stack = typeof record?.stack === 'string' ? redact(plainText(record.stack)) : '';
  return failure;
}

function describe(value: unknown): string {
  try {
    return String(value);
  } catch {
    return 'a value that is not an Error'; // an object whose toString throws
  }
}

function cleanMessage(message: string, redact: (text: string) => string): string {
  // Redacted before it is cut: a secret across the cut leaves no part behind.
  const clean = redact(plainText(message));
  return clean.length <= MAX_FAILURE_MESSAGE ? clean : `${clean.slice(0, MAX_FAILURE_MESSAGE - 1)}…`;
}

/**
 * In place: the error keeps its class (Temporal types a failure by it) and its identity. False
 * when it cannot be rewritten (a message that is a getter, a frozen error): the caller makes a
 * failure of its own instead.
 */
function scrub(err: Error, redact: (text: string) => string, depth = 0): boolean {
  try {
    const before = err.message;
    const stack = err.stack;
    const clean = cleanMessage(before, redact);
    if (clean !== before) {
      err.message = clean;
      if (err.message !== clean) return false; // read back: outside strict mode a write that does not take throws nothing
    }
    if (stack !== undefined) {
      // The stack's first line repeats the message.
      const cleanStack = redact(plainText(clean === before ? stack : stack.split(before).join(clean)));
      if (cleanStack !== stack) {
        err.stack = cleanStack;
        if (err.stack !== cleanStack) return false;
      }
    }
    // Temporal sends every cause: one not rewritten here (too deep, not an Error, read-only) goes.
    if (err.cause !== undefined && !(err.cause instanceof Error && depth < MAX_CAUSE_DEPTH && scrub(err.cause, redact, depth + 1))) {
      err.cause = undefined;
      if (err.cause !== undefined) return false;
    }
    return true;
  } catch {
    return false;
  }
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
