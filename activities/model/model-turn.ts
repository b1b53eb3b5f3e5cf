/**
 * One model turn: read the transcript, send its view once, store the answer at its index.
 *
 * What is sent is computed from the transcript alone (context-view.ts, cache-breakpoints.ts), so
 * a retried turn sends the same bytes. Before the call the turn is held to the run's budgets: its
 * `max_tokens` never exceeds what the output budget has left, and a turn whose estimated cost
 * (turn-estimate.ts) would pass the dollar budget is refused without a call. If the answer is
 * already stored (the activity is a retry after a crash that followed a successful call), it is
 * returned as is: a turn is never billed twice. Each paid answer goes into the spend ledger
 * (state/spend-ledger.ts), whose total the budget check and the workflow both take.
 */
import { createHash, randomUUID } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import type { AgentType } from '../../domain/agent';
import { outputBreach, refuseTurnOverCost, turnOutputCap, type BudgetBreach } from '../../domain/budgets';
import { costUsd, usageFromApi, ZERO_USAGE, type ModelPrice, type TokenUsage } from '../../domain/pricing';
import { parseReview, type ReviewOutcome } from '../../domain/review';
import type { SpendLedger } from '../../state/spend-ledger';
import type { TranscriptMessage, TranscriptStore } from '../../state/transcript-store';
import { withCacheBreakpoints, type PromptCacheMode } from './cache-breakpoints';
import { callModel, type ModelClient } from './call-model';
import { ContextOverflowError } from './errors';
import { contextView, type CompactionPolicy, type ContextView } from './context-view';
import { systemPrompt } from './prompts';
import { estimateFixedTokens, estimateMessageTokens } from './token-estimate';
import { toolsFor } from './tools';
import { estimateTurn } from './turn-estimate';
import { describeToolCall, joinBounded, oneLine } from '../../domain/agent-events';
import { plainText } from '../../domain/plain-text';

export interface ModelTurnInput {
  agentId: string;
  agentType: AgentType;
  /** The turn this call is (1-based), for the turn's event; absent in histories recorded before events. */
  turn?: number;
  /** Messages `[0, messageCount)` are the conversation; the answer goes to index `messageCount`. */
  messageCount: number;
  workspaceDir: string;
  /** The run's budgets and what it has spent before this turn; absent in runs started before dollar budgets. */
  budget?: TurnBudget;
}

export interface TurnBudget {
  maxOutputTokens: number;
  outputTokens: number;
  maxCostUsd?: number;
  costUsd: number;
}

export interface ModelTurnResult extends TokenUsage {
  stopReason: string | null;
  toolUseCount: number;
  /** USD of this turn at the price table (0 when refused). */
  costUsd: number;
  /**
   * USD the agent's model calls have cost so far by the spend ledger, this one included: more than
   * the workflow counted when a call it never saw was paid (absent when refused).
   */
  spentUsd?: number;
  /** True when the answer came from the transcript (no new model call). */
  reused: boolean;
  /** Estimated tokens of the request as sent, after compaction. */
  contextTokens?: number;
  /** The request's `max_tokens`: all the answer could write, its thinking included (absent in results recorded before it was reported). */
  maxTokens?: number;
  /** The turn was not sent: it would have passed this budget. */
  refused?: BudgetBreach;
  /** A reviewer's verdict and findings, from an answer without tool calls; secrets redacted. */
  review?: ReviewOutcome;
  /**
   * One bounded, redacted line for the Web UI's event history: the tool calls asked for
   * (`bash: npm test; edit: create a.ts`), else the start of the answer's text.
   */
  digest: string;
  /** One redacted line per tool call asked for, for the turn's event (not kept in history). */
  toolCalls?: string[];
}

export interface ContextSettings {
  /** The context the service plans for. */
  windowTokens: number;
  /** Compact when a request would pass this share of the window... */
  compactAt: number;
  /** ...down to this share. */
  compactTo: number;
  keepRecentTurns: number;
}

export interface ModelTurnDeps extends ModelClient {
  transcripts: TranscriptStore;
  ledger: Pick<SpendLedger, 'record' | 'committed' | 'hold' | 'release'>;
  model: string;
  maxTokensPerTurn: number;
  price: ModelPrice;
  promptCache: PromptCacheMode;
  context: ContextSettings;
  /** Secret redaction for the digest and the review (both leave the worker: history, state, API). */
  redact: (text: string) => string;
  /**
   * Where the repository is as the agent's commands see it when they run in a sandbox
   * (`/workspace`); the host path the workflow passes is only right without one.
   */
  sandboxWorkspaceDir?: string;
  now?: () => number;
}

const CACHE_TTL_MS: Readonly<Record<PromptCacheMode, number>> = { off: 0, '5m': 5 * 60_000, '1h': 60 * 60_000 };
/** A cache entry is trusted to be alive only this long before its TTL ends. */
const CACHE_TTL_MARGIN_MS = 30_000;

export async function runModelTurn(deps: ModelTurnDeps, input: ModelTurnInput, ctx: { signal?: AbortSignal; heartbeat?: () => void }): Promise<ModelTurnResult> {
  const now = deps.now ?? Date.now;
  const stored = await deps.transcripts.get(input.agentId, input.messageCount);
  if (stored?.role === 'assistant') {
    // Recorded again (once per call id): an answer stored before its cost was recorded loses nothing.
    const spentUsd = await deps.ledger.record(input.agentId, stored.callId ?? turnCallId(input.messageCount), stored.costUsd ?? 0);
    return { ...summarise(deps.redact, input.agentType, stored, true), spentUsd };
  }

  const transcript = await deps.transcripts.range(input.agentId, input.messageCount);
  const system: Anthropic.TextBlockParam[] = [{ type: 'text', text: systemPrompt(input.agentType, input.workspaceDir, deps.sandboxWorkspaceDir !== undefined) }];
  const tools = toolsFor(input.agentType);
  const policy = compactionPolicy(deps.context, estimateFixedTokens(tools, system), deps.maxTokensPerTurn);
  const fixed = fixedKey(tools, system);
  const view = contextView(transcript, policy, fixed);
  if (view.overLimit) throw contextOverflow(deps, policy, view);
  const maxTokens = input.budget ? turnOutputCap(input.budget.maxOutputTokens, input.budget.outputTokens, deps.maxTokensPerTurn) : deps.maxTokensPerTurn;

  // This call's own id: an attempt retried while this one still waited (a missed heartbeat, a host
  // taken for lost) pays for a second answer at the same index, and both go on the bill.
  const callId = `${turnCallId(input.messageCount)}:${randomUUID()}`;
  let held = false;
  if (input.budget) {
    const { maxCostUsd, costUsd: countedUsd } = input.budget;
    const refused =
      maxTokens <= 0
        ? outputBreach(input.budget.maxOutputTokens, input.budget.outputTokens)
        : maxCostUsd === undefined
          ? undefined
          : await holdWithinBudget(deps.ledger, input.agentId, callId, { maxCostUsd, countedUsd, estimateUsd: estimateCost(deps, transcript, view, policy, fixed, maxTokens, now()) });
    if (refused) {
      return { ...ZERO_USAGE, stopReason: null, toolUseCount: 0, costUsd: 0, reused: false, contextTokens: view.estimatedTokens, refused, digest: `refused: ${refused.budget}` };
    }
    held = maxCostUsd !== undefined;
  }

  const prompt = withCacheBreakpoints({ system, messages: view.messages }, deps.promptCache, view);
  const sentAt = now();
  const response = await callModel(deps, { model: deps.model, max_tokens: maxTokens, system: prompt.system, tools, messages: prompt.messages }, ctx).catch(async (err: unknown) => {
    // The hold stays when the call may have been billed (a timeout, a cancellation): the budget keeps counting it.
    // A release that fails leaves the hold (the budget stays safe) and must not hide the call's own error.
    if (held && (err as { unbilled?: boolean }).unbilled) await deps.ledger.release(input.agentId, callId).catch(() => undefined);
    throw err;
  });
  const usage = usageFromApi(response.usage);
  const answer: TranscriptMessage = {
    role: 'assistant',
    content: response.content as Anthropic.ContentBlockParam[],
    usage: {
      input_tokens: response.usage.input_tokens,
      output_tokens: response.usage.output_tokens,
      cache_creation_input_tokens: response.usage.cache_creation_input_tokens ?? 0,
      cache_read_input_tokens: response.usage.cache_read_input_tokens ?? 0,
      ...(response.usage.cache_creation ? { cache_creation: response.usage.cache_creation } : {}),
    },
    stop_reason: response.stop_reason,
    costUsd: costUsd(usage, deps.price),
    callId,
    sentAt,
    answeredAt: now(),
    request: { estimatedTokens: view.estimatedTokens, maxTokens, clearedBefore: view.clearedBefore, dropped: view.dropped, fixed },
  };
  // On the bill before it is stored: an attempt that fails in between has still paid.
  const spentUsd = await deps.ledger.record(input.agentId, answer.callId!, answer.costUsd ?? 0);
  await deps.transcripts.put(input.agentId, input.messageCount, answer);
  return { ...summarise(deps.redact, input.agentType, answer, false), spentUsd };
}

/** Tries before a budget check that keeps losing to another attempt's hold gives up (and the activity retries). */
const HOLD_TRIES = 10;

/**
 * Checks the turn against the dollar budget and holds its estimate on the ledger, as one step: a
 * hold or a price written by another attempt in between makes it check again. Returns the breach
 * when the turn would pass the budget (nothing held then).
 */
export async function holdWithinBudget(
  ledger: Pick<SpendLedger, 'committed' | 'hold'>,
  agentId: string,
  callId: string,
  turn: { maxCostUsd: number; countedUsd: number; estimateUsd: number },
): Promise<BudgetBreach | undefined> {
  for (let i = 0; i < HOLD_TRIES; i++) {
    const seen = await ledger.committed(agentId);
    // What was paid or may be, also for calls the workflow never saw (an attempt that failed after its call, or one still waiting).
    const refused = refuseTurnOverCost(turn.maxCostUsd, Math.max(turn.countedUsd, seen.usd), turn.estimateUsd, seen.heldUsd);
    if (refused) return refused;
    if (await ledger.hold(agentId, callId, turn.estimateUsd, seen)) return undefined;
  }
  throw new Error(`the spend ledger of ${agentId} changed under ${HOLD_TRIES} budget checks in a row`);
}

/** The spend ledger's entry of the answer stored at `messageCount` (answers stored before call ids: theirs alone). */
const turnCallId = (messageCount: number) => `turn:${messageCount}`;

function compactionPolicy(settings: ContextSettings, fixedTokens: number, maxTokensPerTurn: number): CompactionPolicy {
  return {
    compactAtTokens: Math.floor(settings.windowTokens * settings.compactAt),
    compactToTokens: Math.floor(settings.windowTokens * settings.compactTo),
    fixedTokens,
    keepRecentTurns: settings.keepRecentTurns,
    // The models that think take max_tokens as a hard limit: input and all a turn may write must fit
    // the window (the API answers 400 otherwise). The most a turn asks for, so the bound is the same every turn.
    limitTokens: settings.windowTokens - maxTokensPerTurn,
  };
}

/** Why no request is sent: what the smallest one carries, against what the window takes. */
function contextOverflow(deps: ModelTurnDeps, policy: CompactionPolicy, view: ContextView): ContextOverflowError {
  const task = view.messages[0] ? estimateMessageTokens(view.messages[0]) : 0;
  return new ContextOverflowError(
    `the conversation does not fit the model's context window: its smallest request is ${view.estimatedTokens} estimated tokens ` +
      `(tools and system prompt ${policy.fixedTokens}, task ${task}, every earlier turn shortened or left out, ${view.cutResults} of the newest tool results cut), ` +
      `more than the ${policy.limitTokens} a request may carry (CONTEXT_WINDOW_TOKENS ${deps.context.windowTokens} less AGENT_MAX_TOKENS_PER_TURN ${deps.maxTokensPerTurn})`,
  );
}

/** Key of a request's tools and system prompt: the prefix every cache entry of the run starts with. */
function fixedKey(tools: readonly Anthropic.ToolUnion[], system: readonly Anthropic.TextBlockParam[]): string {
  return createHash('sha256').update(JSON.stringify({ tools, system })).digest('hex').slice(0, 16);
}

/** The most this turn can cost: the previous request's view is what the cache may hold. */
function estimateCost(deps: ModelTurnDeps, transcript: TranscriptMessage[], view: ContextView, policy: CompactionPolicy, fixed: string, maxTokens: number, nowMs: number): number {
  let previousAnswer = -1;
  for (let i = transcript.length - 1; i >= 0; i--) {
    if (transcript[i]!.role === 'assistant') {
      previousAnswer = i;
      break;
    }
  }
  // The cache entry's TTL runs from when its request was sent, not from the end of a long answer.
  const previous = previousAnswer >= 0 ? transcript[previousAnswer] : undefined;
  const cachedAt = previous?.sentAt ?? previous?.answeredAt;
  // Sent with other tools or another system prompt, nothing it cached starts as this request does.
  const sameFixed = previous?.request?.fixed === undefined || previous.request.fixed === fixed;
  return estimateTurn({
    previous: previousAnswer > 0 ? contextView(transcript.slice(0, previousAnswer), policy, fixed).messages : undefined,
    current: view.messages,
    fixedTokens: policy.fixedTokens,
    maxTokens,
    price: deps.price,
    cache: deps.promptCache,
    cacheWarm: sameFixed && cachedAt !== undefined && nowMs - cachedAt < CACHE_TTL_MS[deps.promptCache] - CACHE_TTL_MARGIN_MS,
    // What the API says it cached, not what the estimate thinks it could.
    ...(previous?.usage ? { cachedBefore: (previous.usage.cache_creation_input_tokens ?? 0) + (previous.usage.cache_read_input_tokens ?? 0) } : {}),
  }).costUsd;
}

function summarise(redact: (text: string) => string, agentType: AgentType, message: TranscriptMessage, reused: boolean): ModelTurnResult {
  const blocks = typeof message.content === 'string' ? [] : message.content;
  const toolCalls = blocks.filter((b): b is Anthropic.ToolUseBlockParam => b.type === 'tool_use').map((b) => describeToolCall(b.name, b.input, redact));
  const toolUseCount = toolCalls.length;
  const stopReason = message.stop_reason ?? null;
  const finalAnswer = stopReason !== 'tool_use' || toolUseCount === 0;
  // Redacted whole, before any cut: a secret split by a cut is no longer recognised. Made plain
  // first: an escape inside a secret hides it from redaction, not from a terminal that prints it.
  const text = redact(plainText(assistantText(message.content)));
  return {
    ...(message.usage ? usageFromApi(message.usage) : ZERO_USAGE),
    stopReason,
    toolUseCount,
    costUsd: message.costUsd ?? 0,
    reused,
    digest: toolCalls.length ? joinBounded(toolCalls) : oneLine(`"${text.slice(0, 2000)}"`),
    ...(toolCalls.length ? { toolCalls } : {}),
    ...(message.request ? { contextTokens: message.request.estimatedTokens, maxTokens: message.request.maxTokens } : {}),
    ...(agentType === 'reviewer' && finalAnswer ? { review: parseReview(text) } : {}),
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
