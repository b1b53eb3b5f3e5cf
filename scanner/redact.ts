/** What of a secret may leave the scanner: a short prefix and a one-way fingerprint. */
import { createHash } from 'node:crypto';

/** A few leading characters (at most 4, at most a quarter of the secret) followed by `…`. */
export function redact(secret: string): string {
  return secret.slice(0, Math.min(4, Math.floor(secret.length / 4))) + '…';
}

/** sha256 (hex) of the secret: stable across files, so an allowlist can accept a known value. */
export function fingerprint(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}
