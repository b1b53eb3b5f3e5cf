/** The AI review gate: one model call over the agent's diff, answered with a verdict line. Its cost counts toward the run's. */
import type Anthropic from '@anthropic-ai/sdk';
import type { ReviewVerdict } from '../../domain/gates';
import { costUsd, usageFromApi, type ModelPrice } from '../../domain/pricing';
import { callModel, type ModelClient } from './call-model';
import { assistantText } from './model-turn';
import { REVIEW_SYSTEM_PROMPT } from './prompts';
import { estimateTextTokens } from './token-estimate';

const MAX_DIFF_CHARS = 200_000;
/** The review's `max_tokens`. */
export const REVIEW_OUTPUT_TOKENS = 2048;

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
  const content = `Task: ${args.taskId}\n\nReview this diff:\n\n${args.diff.slice(0, MAX_DIFF_CHARS)}`;
  // Uncached input and every output token it may write: an estimate that errs high, as for a turn.
  if (args.reserve) await args.reserve(costUsd({ inputTokens: estimateTextTokens(REVIEW_SYSTEM_PROMPT) + estimateTextTokens(content), outputTokens: REVIEW_OUTPUT_TOKENS, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 }, client.price));
  const response = await callModel(
    client,
    { model: client.model, max_tokens: REVIEW_OUTPUT_TOKENS, system: REVIEW_SYSTEM_PROMPT, messages: [{ role: 'user', content }] },
    ctx,
  );
  const text = assistantText(response.content as Anthropic.ContentBlockParam[]);
  // Whole (max_tokens bounds it): the gate redacts it before cutting it.
  return { approved: finalLineApproves(text), summary: text, costUsd: costUsd(usageFromApi(response.usage), client.price) };
}

/**
 * The verdict is the answer's last non-empty line and nothing else: `VERDICT: APPROVE` quoted
 * from the diff (which the agent wrote) or mentioned mid-answer does not approve.
 */
export function finalLineApproves(answer: string): boolean {
  const last = answer.trimEnd().split('\n').pop() ?? '';
  return /^VERDICT:\s*APPROVE$/i.test(last.replace(/[*_`]/g, '').trim());
}
