/**
 * Maps model API errors to Temporal failures: rate limits, overload, 5xx and connection faults
 * are retried by the activity's retry policy (with `retry-after` honoured as the next delay);
 * other 4xx are the request's fault and retrying cannot help. Messages never include request
 * headers, so the key cannot leak through them.
 */
import Anthropic from '@anthropic-ai/sdk';
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES } from '../../domain/agent';

const MAX_RETRY_AFTER_MS = 10 * 60_000;

export function classifyModelError(err: unknown): ApplicationFailure {
  if (err instanceof Anthropic.APIConnectionError) {
    return ApplicationFailure.retryable(`model API unreachable: ${err.constructor.name}`, 'ModelUnavailable');
  }
  if (err instanceof Anthropic.APIError && typeof err.status === 'number') {
    const status = err.status;
    const summary = `model API answered ${status}${err.type ? ` (${err.type})` : ''}`;
    if (status === 429 || status === 408 || status === 409 || status >= 500) {
      return ApplicationFailure.create({
        message: summary,
        type: 'ModelUnavailable',
        nonRetryable: false,
        nextRetryDelay: retryAfterMs(err.headers),
      });
    }
    return ApplicationFailure.nonRetryable(summary, FAILURE_TYPES.modelRequestRejected);
  }
  if (err instanceof ApplicationFailure) return err;
  return ApplicationFailure.retryable(`model call failed: ${err instanceof Error ? err.name : 'unknown error'}`, 'ModelUnavailable');
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
