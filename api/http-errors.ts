/**
 * Maps errors to `{ error: { code, message, details? } }` responses. Client errors say what was
 * wrong; anything unexpected is a 500 with a generic message (logged, never a stack trace).
 */
import { isGrpcServiceError } from '@temporalio/client';
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { ApiError } from './errors';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

/** Body-parser failures, by their `type`. */
const BODY_ERRORS: Readonly<Record<string, { status: number; code: string; message: string }>> = {
  'entity.too.large': { status: 413, code: 'payload_too_large', message: 'request body is too large' },
  'entity.parse.failed': { status: 400, code: 'malformed_json', message: 'request body is not valid JSON' },
  'encoding.unsupported': { status: 415, code: 'unsupported_media_type', message: 'request body encoding is not supported' },
  'charset.unsupported': { status: 415, code: 'unsupported_media_type', message: 'request body charset is not supported' },
  'request.aborted': { status: 400, code: 'request_aborted', message: 'request was aborted' },
  'request.size.invalid': { status: 400, code: 'bad_request', message: 'request size did not match Content-Length' },
};

/** The HTTP status and body for any thrown value. */
export function toErrorResponse(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof ApiError) {
    const error = { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) };
    return { status: err.status, body: { error } };
  }
  const bodyType = (err as { type?: unknown } | null)?.type;
  const bodyError = typeof bodyType === 'string' ? BODY_ERRORS[bodyType] : undefined;
  if (bodyError) return { status: bodyError.status, body: { error: { code: bodyError.code, message: bodyError.message } } };
  // The body parser's 400 with no type is its decompression failing (zlib's Z_DATA_ERROR, brotli's
  // ERR__ERROR_FORMAT_*...): the client's body does not match its Content-Encoding.
  if (isBodyDecodeError(err)) return { status: 400, body: { error: { code: 'malformed_body', message: 'request body does not decode as its Content-Encoding says' } } };
  // The router could not percent-decode a path parameter (`%E0%A4%A`): the client's path is malformed.
  if (err instanceof URIError) return { status: 400, body: { error: { code: 'malformed_path', message: 'the request path has malformed percent-encoding' } } };
  if (isTemporalUnavailable(err)) return unavailable('temporal');
  if (isValkeyUnavailable(err)) return unavailable('valkey');
  return { status: 500, body: { error: { code: 'internal_error', message: 'internal error' } } };
}

function isBodyError(err: unknown): boolean {
  const bodyType = (err as { type?: unknown } | null)?.type;
  return typeof bodyType === 'string' && Object.hasOwn(BODY_ERRORS, bodyType);
}

function isBodyDecodeError(err: unknown): boolean {
  const e = err as { status?: unknown; expose?: unknown; type?: unknown } | null;
  return err instanceof Error && e?.status === 400 && e.expose === true && e.type === undefined;
}

function unavailable(dependency: string): { status: number; body: ErrorBody } {
  return { status: 503, body: { error: { code: `${dependency}_unavailable`, message: `${dependency} is unavailable; retry later` } } };
}

function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e) && (e.code === GRPC_UNAVAILABLE || e.code === GRPC_DEADLINE_EXCEEDED)) return true;
  }
  return false;
}

function isValkeyUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'MaxRetriesPerRequestError' || /^Connection is closed|Stream isn't writeable/.test(err.message);
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    const { status, body } = toErrorResponse(err);
    if (status >= 500) logger.error({ err, method: req.method, path: req.path, code: body.error.code }, 'request failed');
    if (res.headersSent) {
      // A body the parser refused after cutRunawayBodies had answered 413 and closed the connection.
      if (isBodyError(err)) return;
      next(err);
      return;
    }
    res.status(status).json(body);
  };
}

export const notFoundHandler: RequestHandler = (req, res) => {
  res.status(404).json({ error: { code: 'not_found', message: `no route for ${req.method} ${req.path.slice(0, 200)}` } } satisfies ErrorBody);
};

/** 415 for a request body that is not JSON (bodies are only ever JSON here). */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  if (!hasBody(req) || req.is('application/json')) {
    next();
    return;
  }
  next(new ApiError(415, 'unsupported_media_type', 'request body must be application/json'));
};

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
