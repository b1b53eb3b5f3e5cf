/**
 * One model turn: read the transcript, call the Messages API once, store the answer at its index.
 * If the answer is already stored (the activity is a retry after a crash that followed a
 * successful call), it is returned as is: a turn is never billed twice.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { AgentType } from '../../domain/agent';
import type { TranscriptMessage, TranscriptStore } from '../../state/transcript-store';
import { callModel, type ModelClient } from './call-model';
import { systemPrompt } from './prompts';
import { toolsFor } from './tools';

export interface ModelTurnInput {
  agentId: string;
  agentType: AgentType;
  /** Messages `[0, messageCount)` are the conversation; the answer goes to index `messageCount`. */
  messageCount: number;
  workspaceDir: string;
}

export interface ModelTurnResult {
  stopReason: string | null;
  toolUseCount: number;
  inputTokens: number;
  outputTokens: number;
  /** True when the answer came from the transcript (no new model call). */
  reused: boolean;
}

export interface ModelTurnDeps extends ModelClient {
  transcripts: TranscriptStore;
  model: string;
  maxTokensPerTurn: number;
}

export async function runModelTurn(
  deps: ModelTurnDeps,
  input: ModelTurnInput,
  ctx: { signal?: AbortSignal; heartbeat?: () => void },
): Promise<ModelTurnResult> {
  const stored = await deps.transcripts.get(input.agentId, input.messageCount);
  if (stored?.role === 'assistant') return summarise(stored.content, stored.stop_reason ?? null, stored.usage, true);

  const messages = await deps.transcripts.range(input.agentId, input.messageCount);
  const response = await callModel(
    deps,
    {
      model: deps.model,
      max_tokens: deps.maxTokensPerTurn,
      system: systemPrompt(input.agentType, input.workspaceDir),
      tools: toolsFor(input.agentType),
      messages: messages.map(({ role, content }): Anthropic.MessageParam => ({ role, content })),
    },
    ctx,
  );
  const usage = { input_tokens: response.usage.input_tokens, output_tokens: response.usage.output_tokens };
  await deps.transcripts.put(input.agentId, input.messageCount, {
    role: 'assistant',
    content: response.content as Anthropic.ContentBlockParam[],
    usage,
    stop_reason: response.stop_reason,
  });
  return summarise(response.content, response.stop_reason, usage, false);
}

function summarise(
  content: TranscriptMessage['content'],
  stopReason: string | null,
  usage: { input_tokens: number; output_tokens: number } | undefined,
  reused: boolean,
): ModelTurnResult {
  const blocks = typeof content === 'string' ? [] : content;
  return {
    stopReason,
    toolUseCount: blocks.filter((b) => b.type === 'tool_use').length,
    inputTokens: usage?.input_tokens ?? 0,
    outputTokens: usage?.output_tokens ?? 0,
    reused,
  };
}

/** The final text of an assistant message (for review verdicts and summaries). */
export function assistantText(content: TranscriptMessage['content']): string {
  if (typeof content === 'string') return content;
  return content
    .filter((b): b is Anthropic.TextBlockParam => b.type === 'text')
    .map((b) => b.text)
    .join('\n');
}
