/** API-key authentication for the `/agents` routes. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { ApiError } from './errors';

export const API_KEY_HEADER = 'X-API-Key';

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Requires `X-API-Key` to equal `apiKey`. Both sides are hashed first, so the comparison is
 * constant-time and does not leak the key's length. With no key (auth disabled) every caller
 * passes as `anonymous`.
 */
export function requireApiKey(apiKey: string | undefined): RequestHandler {
  if (apiKey === undefined) {
    return (_req, res, next) => {
      res.locals.requestedBy = 'anonymous';
      next();
    };
  }
  const expected = sha256(apiKey);
  const identity = requesterIdentity(apiKey);
  return (req, res, next) => {
    const provided = req.get(API_KEY_HEADER);
    if (provided === undefined || !timingSafeEqual(sha256(provided), expected)) {
      next(new ApiError(401, 'unauthorized', `missing or invalid ${API_KEY_HEADER} header`));
      return;
    }
    res.locals.requestedBy = identity;
    next();
  };
}

/** A non-secret name for a key holder, for audit records: `api-key:` + 4 hex chars of its sha256. */
export function requesterIdentity(apiKey: string): string {
  return `api-key:${sha256(apiKey).toString('hex').slice(0, 4)}`;
}

/** Who made this request, as set by `requireApiKey`. */
export function requesterOf(res: Response): string {
  const value: unknown = res.locals.requestedBy;
  return typeof value === 'string' ? value : 'anonymous';
}
