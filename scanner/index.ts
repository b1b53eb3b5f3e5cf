/**
 * Secret scanner: finds credentials in text before an agent's work is pushed.
 *
 * Pure API (no I/O; callers read files): `scanText`, `scanAddedLines`, `loadAllowlist`, `RULES`,
 * and `redactSecrets` for free text such as logs.
 * The CLI (`npm run --silent scan -- PATH` or `-- --staged`) lives in cli.ts.
 *
 * Accepting a value:
 * - a line containing `orchestrator:allow` (e.g. in a trailing comment) is not reported;
 * - the allowlist file `.secretsignore` at the root of the scanned tree lists, one per line,
 *   sha256 fingerprints (as printed in each finding's `fingerprint`, optionally written
 *   `fingerprint:<hex>`) of accepted secrets, and gitignore-style path globs of files not to
 *   scan; `#` starts a comment.
 *
 * Findings never carry a secret: `match` holds at most four leading characters and `…`.
 */
export { scanText, redactSecrets, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_LINE_LENGTH } from './scan';
export { cutAfter, cutBefore, SECRET_CONTEXT_CHARS } from './cuts';
export { scanAddedLines, parseAddedLines } from './diff';
export { scanContent, scanContentYielding, type ContentScanOptions } from './content';
export { loadAllowlist, ALLOWLIST_FILE, INLINE_ALLOW_MARKER } from './allow';
export { RULES } from './rules';
export type { Allowlist, Rule, ScanOptions, ScanResult, SecretFinding, SkippedFile } from './types';
