/**
 * How long finding the secrets of one text may take before redaction withholds the rest of it.
 * Redaction runs on the event loop every other activity, heartbeat and request of the process
 * shares, and its rules have no look-behind (redaction-rules.ts), so a text repeating a keyword
 * costs a match at every repetition, each running on through the rest of the run: 30 KB of
 * `LS0tLS1CRUdJTi` took about 0.4 s, and an agent's answer may ask for 16 such outputs at once.
 */

/** Time for any text, and more per MB: 30 KB of build log takes 0.4 ms, 1 MB of TypeScript 0.15 to 0.2 s. */
export const REDACTION_BUDGET_MS = 25;
export const REDACTION_BUDGET_MS_PER_MB = 500;

/**
 * Steps (a keyword met, a line begun, an encoded run decoded) taken before the clock is read at
 * all: a text with few keywords (a hundred lines naming a token) is redacted whole however
 * busy the machine or long a garbage collection. A hostile text meets thousands, each costing a
 * bounded match (0.15 ms for the costliest, 30 KB of `LS0tLS1CRUdJTi`: these take 40 ms).
 */
export const FREE_STEPS = 256;

export class RedactionDeadline {
  private steps = 0;

  private constructor(private readonly at: number) {}

  /** For `text`, from now; undefined (no limit) for an infinite budget, the free steps only for 0. */
  static forText(text: string, budgetMs: number = REDACTION_BUDGET_MS): RedactionDeadline | undefined {
    if (budgetMs === Number.POSITIVE_INFINITY) return undefined;
    if (budgetMs <= 0) return new RedactionDeadline(Number.NEGATIVE_INFINITY);
    return new RedactionDeadline(performance.now() + budgetMs + (text.length / (1024 * 1024)) * REDACTION_BUDGET_MS_PER_MB);
  }

  /** Counts a step; true once past the deadline (and for every step after). */
  passed(): boolean {
    return ++this.steps > FREE_STEPS && performance.now() > this.at;
  }
}

/** What stands for the part of a text redaction gave up on: never given out unredacted. */
export function withheldMarker(chars: number): string {
  return `[... ${chars} characters withheld: finding the secrets in them took too long ...]`;
}

