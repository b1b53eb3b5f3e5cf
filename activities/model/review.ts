/** The AI review gate: one model call over the agent's diff, answered with a verdict line. Its cost counts toward the run's. */
import type Anthropic from '@anthropic-ai/sdk';
import type { ReviewVerdict } from '../../domain/gates';
import { finalVerdict } from '../../domain/review';
import { costUsd, usageFromApi, type ModelPrice } from '../../domain/pricing';
import { callModel, type ModelClient } from './call-model';
import { assistantText } from './model-turn';
import { REVIEW_SYSTEM_PROMPT } from './prompts';
import { estimateTextTokens } from './token-estimate';
import { fitDiff } from './fit-diff';

const MAX_DIFF_CHARS = 200_000;
/**
 * The review's `max_tokens`: a hard limit on all it writes, its thinking included. The default
 * models think by default (adaptive thinking; a `budget_tokens` is refused on them, 400), at high
 * effort, before the findings and the verdict line: 2,048 could all go to thinking over a long
 * diff. Anthropic's own adaptive-thinking examples ask for 16,000.
 */
export const REVIEW_OUTPUT_TOKENS = 16_000;

export interface ReviewArgs {
  taskId: string;
  diff: string;
  /**
   * Called with the most the call can cost before it is made: holds that much of the run's dollar
   * budget, or throws (CallOverBudgetError) and no call is made.
   */
  reserve?: (worstUsd: number) => Promise<void>;
}

export async function reviewDiff(
  client: ModelClient & { model: string; price: ModelPrice },
  args: ReviewArgs,
  ctx: { signal?: AbortSignal; heartbeat?: () => void },
): Promise<ReviewVerdict> {
  if (!args.diff.trim()) return { approved: true, summary: 'No changes to review.' };
  const content = `Task: ${args.taskId}\n\n${reviewRequest(args.diff)}`;
  // Uncached input and every output token it may write: an estimate that errs high, as for a turn.
  if (args.reserve) await args.reserve(costUsd({ inputTokens: estimateTextTokens(REVIEW_SYSTEM_PROMPT) + estimateTextTokens(content), outputTokens: REVIEW_OUTPUT_TOKENS, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 }, client.price));
  const response = await callModel(
    client,
    { model: client.model, max_tokens: REVIEW_OUTPUT_TOKENS, system: REVIEW_SYSTEM_PROMPT, messages: [{ role: 'user', content }] },
    ctx,
  );
  const text = assistantText(response.content as Anthropic.ContentBlockParam[]);
  const paid = costUsd(usageFromApi(response.usage), client.price);
  if (response.stop_reason === 'max_tokens' && !hasVerdictLine(text)) {
    const thought = response.content.some((b) => b.type === 'thinking' || b.type === 'redacted_thinking');
    const incomplete =
      `the reviewer's answer was cut off at max_tokens (${REVIEW_OUTPUT_TOKENS} output tokens${thought ? ', its thinking included' : ''}) ` +
      `before its verdict line${text.trim() ? '' : ': it wrote no text at all'}`;
    return { approved: false, summary: text, costUsd: paid, incomplete };
  }
  // Whole (max_tokens bounds it): the gate redacts it before cutting it.
  return { approved: finalLineApproves(text), summary: text, costUsd: paid };
}

/** The answer's last non-empty line is a verdict, either way. */
function hasVerdictLine(answer: string): boolean {
  return finalVerdict(answer) !== undefined;
}

/** The diff to review; one too long is cut file by file (fit-diff.ts), and the reviewer is told what it does not see. */
export function reviewRequest(diff: string): string {
  const fitted = fitDiff(diff, MAX_DIFF_CHARS);
  if (fitted.omitted === 0) return `Review this diff:\n\n${diff}`;
  return (
    `Review this diff. It is ${diff.length} characters, more than a review reads (${MAX_DIFF_CHARS}): ` +
    `${fitted.omitted} characters of ${fitted.cutFiles.length} files are not shown, each marked "[review: ...]" where it is left out. ` +
    'What is not shown has not been reviewed: approve only if it cannot matter (generated files such as lockfiles); ' +
    `otherwise request changes and name those files.\n\n${fitted.text}`
  );
}

/** Approved only by the answer's last non-empty line (domain/review.ts finalVerdict), as a reviewer agent's verdict is. */
export function finalLineApproves(answer: string): boolean {
  return finalVerdict(answer) === 'approve';
}
