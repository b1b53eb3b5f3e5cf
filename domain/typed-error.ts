/**
 * The one shape every module's errors share: a `type` from the failure table
 * (domain/failures.ts), which also decides whether a retry can help. The activity layer turns
 * any of them into an `ApplicationFailure` without knowing the class.
 */
import { FAILURES, type FailureType } from './failures';

export abstract class TypedError extends Error {
  abstract readonly type: FailureType;
  /** Overrides the retry policy's next delay (a model API's `retry-after`). */
  readonly nextRetryDelayMs?: number;

  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  get retryable(): boolean {
    return FAILURES[this.type].retryable;
  }
}
