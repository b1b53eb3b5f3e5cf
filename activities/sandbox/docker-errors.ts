/** Reading dockerode's errors: HTTP status codes from the engine, socket errors from Node. */
import { SandboxUnavailableError } from './errors';

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH']);

/** The engine's HTTP status for a failed call, if it answered at all. */
export function engineStatus(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** True when the call failed because nothing answered on the socket. */
export function isEngineUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNREACHABLE_CODES.has(code);
}

export const isNotFound = (err: unknown): boolean => engineStatus(err) === 404;
/** 304: the container was already in the requested state (started / stopped). */
export const isNotModified = (err: unknown): boolean => engineStatus(err) === 304;
export const isConflict = (err: unknown): boolean => engineStatus(err) === 409;

/** Socket-level failures become `SandboxUnavailableError`; other errors pass through unchanged. */
export function mapEngineError(err: unknown): unknown {
  if (isEngineUnreachable(err)) {
    return new SandboxUnavailableError(`Docker engine unreachable: ${(err as Error).message}`, { cause: err });
  }
  return err;
}
