/**
 * What a fork starts from: the first `turn` turns of a finished agent's conversation and its
 * workspace checkpoint after that turn's tool batch.
 *
 * Turn k's answer is message 2k-1 and the user message after it (its tool results, or gate
 * feedback when it asked for no tools) is message 2k, so "after turn N" is messages `[0, 2N+1)`.
 * The tool results of a turn and its checkpoint are saved in one transaction
 * (checkpoint-store.ts), so the worktree after turn N is the checkpoint of the newest turn up to
 * N whose message carries tool results; a turn without tools changed no file.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { ForkSource } from '../domain/agent';
import { TypedError } from '../domain/typed-error';
import { CheckpointMissingError, type CheckpointRecord, type CheckpointStore } from './checkpoint-store';
import { TranscriptMissingError, type TranscriptMessage, type TranscriptStore } from './transcript-store';

/** The forked agent's conversation or checkpoint is gone (expired with its state): the fork cannot start as asked. */
export class ForkSourceMissingError extends TypedError {
  readonly type = 'ForkSourceMissing';
  constructor(from: ForkSource, what: string) {
    super(`cannot fork agent ${from.agentId} at turn ${from.turn}: ${what} (it expires with the agent's state)`);
  }
}

export interface ForkStart {
  /** Messages the fork starts with: `2 * turn + 1`. */
  messageCount: number;
  /** The forked agent's base commit, which its checkpoints are relative to. */
  baseSha: string;
  /** The checkpoint the fork's worktree is rebuilt from; absent when no tool ran in those turns (the base as is). */
  checkpointTurn?: number;
}

/** How many turns of a stored conversation of `messageCount` messages a fork can start after. */
export function forkableTurns(messageCount: number): number {
  return Math.max(0, Math.floor((messageCount - 1) / 2));
}

/**
 * Copies `from`'s conversation up to its turn and its checkpoint chain to agent `to`.
 * @throws ForkSourceMissingError when a message or the checkpoint is gone
 */
export async function copyForkSource(deps: { transcripts: TranscriptStore; checkpoints: CheckpointStore }, from: ForkSource, to: string): Promise<ForkStart> {
  const messageCount = 2 * from.turn + 1;
  const messages = await deps.transcripts.range(from.agentId, messageCount).catch((err: unknown) => {
    throw err instanceof TranscriptMissingError ? new ForkSourceMissingError(from, `message ${err.index} of its conversation is gone`) : err;
  });
  const saved = await deps.checkpoints.list(from.agentId);
  const baseSha = saved[0]?.baseSha;
  if (!baseSha) throw new ForkSourceMissingError(from, 'its workspace checkpoints are gone');
  const record = saved.filter((r) => r.turn <= from.turn).at(-1);
  const toolTurn = lastTurnWithToolResults(messages);
  if (toolTurn !== undefined && record?.turn !== toolTurn) throw new ForkSourceMissingError(from, `the workspace checkpoint of turn ${toolTurn} is gone`);
  const chain = record
    ? await deps.checkpoints.chain(record).catch((err: unknown) => {
        throw err instanceof CheckpointMissingError ? new ForkSourceMissingError(from, `part of the workspace checkpoint of turn ${record.turn} is gone`) : err;
      })
    : { records: [] as CheckpointRecord[], packs: [] };
  await deps.checkpoints.copyAsFork(to, chain, messages);
  return { messageCount, baseSha, ...(record ? { checkpointTurn: record.turn } : {}) };
}

/** The newest turn whose user message (2k) holds tool results. */
function lastTurnWithToolResults(messages: TranscriptMessage[]): number | undefined {
  for (let k = Math.floor((messages.length - 1) / 2); k >= 1; k--) {
    const content = messages[2 * k]?.content;
    if (Array.isArray(content) && content.some((b: Anthropic.ContentBlockParam) => b.type === 'tool_result')) return k;
  }
  return undefined;
}
