/**
 * How a model API call fails: rate limits, overload, 5xx and connection faults are worth a
 * retry (with the server's `retry-after` as the next delay); other 4xx are the request's fault.
 * Messages never include request headers, so the key cannot leak through them.
 */
import Anthropic from '@anthropic-ai/sdk';
import { CancelledFailure } from '@temporalio/common';
import { TypedError } from '../../domain/typed-error';

const MAX_RETRY_AFTER_MS = 10 * 60_000;

export class ModelUnavailableError extends TypedError {
  readonly type = 'ModelUnavailable';
  constructor(
    message: string,
    override readonly nextRetryDelayMs?: number,
    /** The API cannot have billed the call: it answered with an error, or the request never left this host. */
    readonly unbilled = false,
  ) {
    super(message);
  }
}

export class ModelRequestRejectedError extends TypedError {
  readonly type = 'ModelRequestRejected';
  /** The API answered with an error: nothing billed. */
  readonly unbilled = true;
}

/** No view of the conversation fits the context window (context-view.ts): the API would refuse it (400), so it is not sent. */
export class ContextOverflowError extends TypedError {
  readonly type = 'ContextOverflow';
  readonly unbilled = true;
}

/**
 * The call was cancelled (a kill) before its request left this host: a cancellation still, but one
 * the API cannot have billed, so a hold placed for it can go.
 */
export class CancelledBeforeSendError extends CancelledFailure {
  readonly unbilled = true;
  constructor(reason: unknown) {
    super(reason instanceof Error ? reason.message : 'CANCELLED');
  }
}

/** Connection failures that happen before a request is sent (no route, no such host, nothing listening). */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

/** The typed error for whatever the SDK threw. */
export function classifyModelError(err: unknown): ModelUnavailableError | ModelRequestRejectedError {
  // A timeout or a reset may come after the API took the request: that call may be billed.
  if (err instanceof Anthropic.APIConnectionError) return new ModelUnavailableError(`model API unreachable: ${err.constructor.name}`, undefined, neverSent(err));
  if (err instanceof Anthropic.APIError && typeof err.status === 'number') {
    const status = err.status;
    const summary = `model API answered ${status}${err.type ? ` (${err.type})` : ''}`;
    if (status === 429 || status === 408 || status === 409 || status >= 500) return new ModelUnavailableError(summary, retryAfterMs(err.headers), true);
    return new ModelRequestRejectedError(summary);
  }
  return new ModelUnavailableError(`model call failed: ${err instanceof Error ? err.name : 'unknown error'}`);
}

function neverSent(err: unknown): boolean {
  // The SDK wraps fetch's error, which wraps the socket's: look a few causes down for its code.
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_SENT_CODES.has(code)) return true;
  }
  return false;
}

/** `retry-after-ms` or `retry-after` (seconds or an HTTP date), bounded; undefined lets the retry policy decide. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return Math.min(ms, MAX_RETRY_AFTER_MS);
  const raw = headers.get('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, MAX_RETRY_AFTER_MS) || undefined;
  const date = Date.parse(raw);
  if (Number.isFinite(date)) return Math.min(Math.max(date - now, 0), MAX_RETRY_AFTER_MS) || undefined;
  return undefined;
}
