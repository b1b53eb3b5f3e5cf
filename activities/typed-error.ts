/**
 * The one shape every module's errors share: a `type` the workflow branches on and whether a
 * retry can help. The activity layer turns any of them into an `ApplicationFailure` without
 * knowing the class (non-retryable when `retryable` is false).
 */
export abstract class TypedError extends Error {
  abstract readonly type: string;
  abstract readonly retryable: boolean;

  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
