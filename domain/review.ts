/**
 * A reviewer's verdict and findings, read from its final answer. The reviewer is asked to end with
 *
 *   FINDINGS:
 *   - [major] src/app.ts:42 what is wrong and why
 *   VERDICT: APPROVE | REQUEST_CHANGES
 *
 * and the parse is lenient (a missing section gives no findings, a missing verdict `none`), since
 * the text comes from a model. Everything is bounded: the result travels in workflow history.
 */

export type ReviewVerdict = 'approve' | 'request_changes' | 'none';

export interface ReviewFinding {
  severity?: string;
  file?: string;
  line?: number;
  text: string;
}

export interface ReviewOutcome {
  verdict: ReviewVerdict;
  findings: ReviewFinding[];
  /** The answer before its findings, shortened. */
  summary: string;
}

export const REVIEW_LIMITS = { findings: 50, findingLength: 500, summaryLength: 2000 } as const;

export const REVIEW_ANSWER_FORMAT = `End your final answer (the one without a tool call) in exactly this format:
FINDINGS:
- [blocker|major|minor|nit] path/to/file:line what is wrong and why
(one line per finding; write "- none" when there is nothing to report)
VERDICT: APPROVE or VERDICT: REQUEST_CHANGES`;

const VERDICT_LINE = /^\s*\**VERDICT\**\s*:?\**\s*(APPROVE|REQUEST_CHANGES)\b/i;
const FINDINGS_HEADING = /^\s*\**FINDINGS\**\s*:?\**\s*$/i;
const FINDING = /^\s*[-*]\s+(?:\[([a-z]+)\]\s*)?(?:([^\s:[\]]+):(\d+)\b[\s:—-]*)?(.+)$/i;

/**
 * The verdict on the answer's last non-empty line, and nowhere else: a `VERDICT: APPROVE` quoted
 * from the diff (which the agent under review wrote) or mentioned mid-answer decides nothing, and
 * neither does a verdict the answer goes on after. Markdown emphasis around it is tolerated. The
 * reviewer agent's final answer and the AI review gate are both read with this.
 */
export function finalVerdict(answer: string): Exclude<ReviewVerdict, 'none'> | undefined {
  const last = answer.trimEnd().split('\n').pop() ?? '';
  // `_` only at the ends: REQUEST_CHANGES has one of its own.
  const bare = last.replace(/[*`]/g, '').trim().replace(/^_+|_+$/g, '').trim();
  const word = /^VERDICT\s*:?\s*(APPROVE|REQUEST_CHANGES)\.?$/i.exec(bare)?.[1]?.toUpperCase();
  return word === undefined ? undefined : word === 'APPROVE' ? 'approve' : 'request_changes';
}

export function parseReview(answer: string): ReviewOutcome {
  const lines = answer.split('\n');
  const verdict: ReviewVerdict = finalVerdict(answer) ?? 'none';

  const start = lines.findIndex((l) => FINDINGS_HEADING.test(l));
  const findings: ReviewFinding[] = [];
  for (const line of start >= 0 ? lines.slice(start + 1) : []) {
    if (VERDICT_LINE.test(line)) break;
    const m = FINDING.exec(line);
    if (!m || /^none\.?$/i.test(m[4]!.trim())) continue;
    if (findings.length === REVIEW_LIMITS.findings) break;
    findings.push({
      ...(m[1] ? { severity: m[1].toLowerCase() } : {}),
      ...(m[2] ? { file: m[2], line: Number(m[3]) } : {}),
      text: m[4]!.trim().slice(0, REVIEW_LIMITS.findingLength),
    });
  }
  const summaryLines = start >= 0 ? lines.slice(0, start) : lines.filter((l) => !VERDICT_LINE.test(l));
  return { verdict, findings, summary: summaryLines.join('\n').trim().slice(-REVIEW_LIMITS.summaryLength) };
}
