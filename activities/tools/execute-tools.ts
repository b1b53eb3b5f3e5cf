/**
 * Executes one assistant message's tool calls and stores the tool results as the next user
 * message (through `deps.store` when the caller saves more with it, e.g. a workspace checkpoint).
 * Idempotent per message index: if the results are already stored, nothing runs again.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { TranscriptMissingError, type TranscriptMessage, type TranscriptStore } from '../../state/transcript-store';
import { runEditorCommand, ToolInputError, type EditorCommand } from './editor';
import { PathOutsideWorkspaceError } from '../host/paths';
import type { CommandRunner } from './runner';
import { describeToolCall, describeToolOutcome } from '../../domain/agent-events';

export interface ToolBatchInput {
  agentId: string;
  /** Index of the user message to write; the tool calls are in the message before it. */
  messageIndex: number;
  readOnly: boolean;
}

export interface ToolBatchResult {
  toolCalls: number;
  failed: number;
  reused: boolean;
  /** One redacted line per call with its outcome (`bash: npm test → exit 1`), for the batch's event. */
  outcomes: string[];
}

export interface ToolBatchDeps {
  transcripts: TranscriptStore;
  /** Secret redaction for the outcome lines. */
  redact: (text: string) => string;
  /** Stores the tool results message; defaults to `transcripts.put`. */
  store?: (index: number, message: TranscriptMessage) => Promise<void>;
  runner: CommandRunner;
  hostRoot: string;
  timeoutMs: number;
  maxOutputBytes: number;
}

export async function executeToolBatch(
  deps: ToolBatchDeps,
  input: ToolBatchInput,
  ctx: { signal?: AbortSignal; heartbeat?: (details?: unknown) => void },
): Promise<ToolBatchResult> {
  const done = await deps.transcripts.get(input.agentId, input.messageIndex);
  const assistant = await deps.transcripts.get(input.agentId, input.messageIndex - 1);
  if (!assistant) throw new TranscriptMissingError(input.agentId, input.messageIndex - 1);
  if (assistant.role !== 'assistant' || typeof assistant.content === 'string') {
    throw new Error(`message ${input.messageIndex - 1} of agent ${input.agentId} is not an assistant message with tool calls`);
  }
  const calls = assistant.content.filter((b): b is Anthropic.ToolUseBlockParam => b.type === 'tool_use');
  if (done) {
    // Ran before (a retry): report what the stored results say, run nothing.
    const stored = typeof done.content === 'string' ? [] : done.content.filter((b): b is Anthropic.ToolResultBlockParam => b.type === 'tool_result');
    return { toolCalls: 0, failed: 0, reused: true, outcomes: describeOutcomes(calls, stored, deps.redact) };
  }
  const results: Anthropic.ToolResultBlockParam[] = [];
  let failed = 0;
  for (const [i, call] of calls.entries()) {
    // Heartbeat details reach the server (and a failed attempt's history): the name redacted.
    ctx.heartbeat?.({ tool: deps.redact(call.name), index: i });
    if (ctx.signal?.aborted) throw abortReason(ctx.signal);
    const { text, isError } = await executeOne(deps, call, input.readOnly, ctx);
    if (isError) failed += 1;
    results.push({ type: 'tool_result', tool_use_id: call.id, content: text, ...(isError ? { is_error: true } : {}) });
  }
  if (ctx.signal?.aborted) throw abortReason(ctx.signal);
  const message: TranscriptMessage = { role: 'user', content: results };
  await (deps.store ? deps.store(input.messageIndex, message) : deps.transcripts.put(input.agentId, input.messageIndex, message));
  return { toolCalls: calls.length, failed, reused: false, outcomes: describeOutcomes(calls, results, deps.redact) };
}

/** `bash: npm test → exit 1`, `edit: create a.ts → ok`: each call with what its result says. */
export function describeOutcomes(calls: Anthropic.ToolUseBlockParam[], results: Anthropic.ToolResultBlockParam[], redact: (text: string) => string): string[] {
  return calls.map((call) => {
    const result = results.find((r) => r.tool_use_id === call.id);
    return describeToolOutcome(describeToolCall(call.name, call.input, redact), result ? outcomeOf(call.name, result) : 'no result');
  });
}

function outcomeOf(tool: string, result: Anthropic.ToolResultBlockParam): string {
  const text = typeof result.content === 'string' ? result.content : '';
  if (tool === 'bash') {
    if (text.includes('[command timed out after')) return 'timeout';
    const exit = /\[exit code (\w+)\]\s*$/.exec(text);
    if (exit) return `exit ${exit[1]}`;
  }
  return result.is_error ? 'error' : 'ok';
}

async function executeOne(
  deps: ToolBatchDeps,
  call: Anthropic.ToolUseBlockParam,
  readOnly: boolean,
  ctx: { signal?: AbortSignal; heartbeat?: (details?: unknown) => void },
): Promise<{ text: string; isError: boolean }> {
  const args = (call.input ?? {}) as Record<string, unknown>;
  try {
    if (call.name === 'bash') {
      if (args.restart) return { text: 'Each command runs in a fresh shell; nothing to restart.', isError: false };
      if (typeof args.command !== 'string' || !args.command.trim()) return { text: 'bash needs a command', isError: true };
      const res = await deps.runner.run(args.command, {
        timeoutMs: deps.timeoutMs,
        maxOutputBytes: deps.maxOutputBytes,
        signal: ctx.signal,
        onProgress: () => ctx.heartbeat?.({ tool: 'bash' }),
      });
      if (res.aborted) throw abortReason(ctx.signal);
      const notes = [
        res.timedOut ? `[command timed out after ${Math.round(deps.timeoutMs / 1000)}s and was stopped]` : '',
        res.oomKilled ? '[command was killed: out of memory]' : '',
        `[exit code ${res.exitCode ?? 'none'}]`,
      ].filter(Boolean);
      return { text: `${res.output}${res.output.endsWith('\n') || !res.output ? '' : '\n'}${notes.join('\n')}`, isError: res.timedOut };
    }
    if (call.name === 'str_replace_based_edit_tool') {
      const text = await runEditorCommand(args as unknown as EditorCommand, {
        hostRoot: deps.hostRoot,
        visibleRoot: deps.runner.workspaceDir,
        readOnly,
        maxOutputBytes: deps.maxOutputBytes,
      });
      return { text, isError: false };
    }
    return { text: `unknown tool ${JSON.stringify(call.name)}`, isError: true };
  } catch (err) {
    if (err instanceof ToolInputError || err instanceof PathOutsideWorkspaceError) return { text: `Error: ${err.message}`, isError: true };
    throw err;
  }
}

/** The activity's cancellation (Temporal's CancelledFailure) rather than a generic error. */
function abortReason(signal?: AbortSignal): unknown {
  return signal?.reason ?? new Error('tool batch cancelled');
}
