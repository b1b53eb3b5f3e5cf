/** The AI review gate: one model call over the agent's diff, answered with a verdict line. Its cost counts toward the run's. */
import type Anthropic from '@anthropic-ai/sdk';
import { CallOverBudgetError } from '../../domain/budgets';
import type { ReviewVerdict } from '../../domain/gates';
import { costUsd, formatUsd, usageFromApi, type ModelPrice } from '../../domain/pricing';
import { callModel, type ModelClient } from './call-model';
import { assistantText } from './model-turn';
import { REVIEW_SYSTEM_PROMPT } from './prompts';
import { estimateTextTokens } from './token-estimate';

const MAX_DIFF_CHARS = 200_000;
const REVIEW_MAX_TOKENS = 2048;


export async function reviewDiff(
  client: ModelClient & { model: string; price: ModelPrice },
  args: { taskId: string; diff: string; maxCostUsd?: number },
  ctx: { signal?: AbortSignal; heartbeat?: () => void },
): Promise<ReviewVerdict> {
  if (!args.diff.trim()) return { approved: true, summary: 'No changes to review.' };
  const content = `Task: ${args.taskId}\n\nReview this diff:\n\n${args.diff.slice(0, MAX_DIFF_CHARS)}`;
  if (args.maxCostUsd !== undefined) {
    // Uncached input and every output token it may write: an estimate that errs high, as for a turn.
    const worst = costUsd({ inputTokens: estimateTextTokens(REVIEW_SYSTEM_PROMPT) + estimateTextTokens(content), outputTokens: REVIEW_MAX_TOKENS, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 }, client.price);
    if (worst > args.maxCostUsd) {
      // Not asked for: the run ends on its dollar budget (the gate activity reports the refusal).
      throw new CallOverBudgetError(`cost budget (maxCostUsd) reached: the AI review could cost up to ${formatUsd(worst)}, more than the ${formatUsd(args.maxCostUsd)} left of the run's dollar budget (maxCostUsd)`);
    }
  }
  const response = await callModel(
    client,
    { model: client.model, max_tokens: REVIEW_MAX_TOKENS, system: REVIEW_SYSTEM_PROMPT, messages: [{ role: 'user', content }] },
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
