/** The AI review gate: one model call over the agent's diff, answered with a verdict line. Its cost counts toward the run's. */
import type Anthropic from '@anthropic-ai/sdk';
import type { ReviewVerdict } from '../../domain/gates';
import { costUsd, usageFromApi, type ModelPrice } from '../../domain/pricing';
import { callModel, type ModelClient } from './call-model';
import { assistantText } from './model-turn';
import { REVIEW_SYSTEM_PROMPT } from './prompts';

const MAX_DIFF_CHARS = 200_000;

export async function reviewDiff(
  client: ModelClient & { model: string; price: ModelPrice },
  args: { taskId: string; diff: string },
  ctx: { signal?: AbortSignal; heartbeat?: () => void },
): Promise<ReviewVerdict> {
  if (!args.diff.trim()) return { approved: true, summary: 'No changes to review.' };
  const response = await callModel(
    client,
    {
      model: client.model,
      max_tokens: 2048,
      system: REVIEW_SYSTEM_PROMPT,
      messages: [{ role: 'user', content: `Task: ${args.taskId}\n\nReview this diff:\n\n${args.diff.slice(0, MAX_DIFF_CHARS)}` }],
    },
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
