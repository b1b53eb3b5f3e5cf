/**
 * Cutting text that may hold secrets without splitting one: a piece of a secret is no longer
 * recognised by `redactSecrets`, so text cut through a token and redacted later keeps part of it.
 */
import { secretSpans } from './scan';

/**
 * How far past a cut a caller keeps text for `cutBefore` / `cutAfter` to see whole any secret
 * that crosses the cut (a PEM private key, the longest a rule matches, is up to about 20 KB).
 */
export const SECRET_CONTEXT_CHARS = 24 * 1024;

/** The largest offset at or before `at` where cutting `text` splits no secret in it. */
export function cutBefore(text: string, at: number): number {
  return movedCut(text, Math.min(at, text.length), (span) => span.start);
}

/** The smallest offset at or after `at` where cutting `text` splits no secret in it. */
export function cutAfter(text: string, at: number): number {
  return movedCut(text, Math.max(at, 0), (span) => span.end);
}

function movedCut(text: string, at: number, outside: (span: { start: number; end: number }) => number): number {
  const spans = secretSpans(text);
  let cut = at;
  for (let moved = true; moved; ) {
    moved = false;
    for (const span of spans) {
      if (span.start < cut && cut < span.end) {
        cut = outside(span);
        moved = true;
      }
    }
  }
  return cut;
}
