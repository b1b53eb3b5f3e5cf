/**
 * Removes credentials from text before it leaves this module in an error or a log line.
 * Known secrets (the configured token) are replaced wherever they appear, also in the base64
 * form an HTTP Basic header would carry; generic shapes (URL userinfo, auth headers,
 * `password=` lines) are caught even when the value is not known.
 */
import { redactSecrets } from '../../scanner';

const REDACTED = '[redacted]';

const GENERIC_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // scheme://user:secret@host -> scheme://[redacted]@host
  [/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, `$1${REDACTED}@`],
  [/(authorization:\s*(?:basic|bearer|token)\s+)\S+/gi, `$1${REDACTED}`],
  [/((?:password|passwd|token|secret)\s*[=:]\s*)\S+/gi, `$1${REDACTED}`],
  // Provider token shapes, in case one arrives through a path we do not know about; glued to other characters too (`a_ghp_…`).
  [/(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,})/g, REDACTED],
];

/** Returns `text` with every known secret and every credential-like substring replaced. */
export function scrubCredentials(text: string, secrets: ReadonlyArray<string | undefined> = []): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    for (const form of secretForms(secret)) out = out.split(form).join(REDACTED);
  }
  for (const [pattern, replacement] of GENERIC_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

function secretForms(secret: string): string[] {
  return [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')];
}

/**
 * The last `max` characters of git's output for an error, scrubbed, and with the scanner's secrets
 * redacted too: git repeats paths and names the agent chose. Scrubbed before the cut, and the
 * window begins at a word, so no cut leaves half a secret the patterns no longer recognise.
 */
export function scrubbedTail(text: string, secrets: ReadonlyArray<string | undefined>, max = 4000): string {
  const window = text.length > 2 * max ? text.slice(-2 * max).replace(/^\S*/, '') : text;
  return redactSecrets(scrubCredentials(window, secrets)).slice(-max);
}
