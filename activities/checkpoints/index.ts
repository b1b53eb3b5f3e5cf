/**
 * The workspace checkpoint: an agent's changes against its base commit (tracked and untracked
 * files, binary included), saved after every tool batch outside the host that holds the worktree,
 * so any host can rebuild the worktree as it was at a finished turn. Git builds and checks out
 * the snapshot on the host (../git/checkpoint.ts); Valkey keeps it (state/checkpoint-store.ts).
 * Never pushed to the customer's remote: unscanned work does not leave through a push.
 *
 *   save(ws, agentId, turn)               after a tool batch, on the host of `ws`
 *   restore(ws, owner, { agentId, turn }) into a worktree freshly prepared at the same base
 *   list(agentId) / delete(agentId)
 */
import type { WorkspaceInfo } from '../../domain/agent';
import type { CheckpointRecord, CheckpointStore } from '../../state/checkpoint-store';
import type { TranscriptMessage } from '../../state/transcript-store';
import type { GitHazards, GitWorkspaces, OperationOptions } from '../git';
import { GitInputError } from '../git';

export type { CheckpointRecord } from '../../state/checkpoint-store';

export interface WorkspaceCheckpoints {
  /**
   * Saves the worktree as the checkpoint of `turn`; `message` (the turn's tool results) is stored
   * in the same transaction. Throws `CheckpointTooLarge` past the configured bound, writing nothing.
   */
  save(
    ws: WorkspaceInfo,
    agentId: string,
    turn: number,
    options?: OperationOptions & { message?: { index: number; message: TranscriptMessage }; inspected?: GitHazards },
  ): Promise<CheckpointRecord>;
  /**
   * Rebuilds the newest checkpoint of `from.agentId` at or before `from.turn` in `ws`, a worktree
   * freshly prepared at that checkpoint's base and owned by `owner` (the same agent after a
   * failover, another one for a fork). Undefined when there is no such checkpoint.
   */
  restore(ws: WorkspaceInfo, owner: string, from: { agentId: string; turn: number }, options?: OperationOptions): Promise<CheckpointRecord | undefined>;
  list(agentId: string): Promise<CheckpointRecord[]>;
  /** Whether a rebuild on `host` claimed the agent and no later one took it elsewhere. */
  claimedBy(agentId: string, host: string): Promise<boolean>;
  /** Removes the agent's checkpoints from Valkey and its checkpoint repository from this host. */
  delete(agentId: string): Promise<void>;
}

export interface CheckpointDeps {
  workspaces: Pick<GitWorkspaces, 'snapshot' | 'restoreSnapshot' | 'removeCheckpointRepo'>;
  store: CheckpointStore;
}

export function createWorkspaceCheckpoints(deps: CheckpointDeps): WorkspaceCheckpoints {
  const { workspaces, store } = deps;
  return {
    async save(ws, agentId, turn, options = {}) {
      const { message, ...op } = options;
      const previous = await store.latest(agentId, turn - 1);
      const base = previous?.baseSha === ws.baseSha ? previous : undefined;
      const snap = await workspaces.snapshot(ws, agentId, { ...op, previousCommit: base?.commit, previousTree: base?.tree });
      return store.save(agentId, turn, {
        commit: snap.commit,
        tree: snap.tree,
        baseSha: ws.baseSha,
        ...(base && snap.builtOn === base.commit ? { parentTurn: base.turn } : {}),
        pack: snap.pack,
        skipped: snap.skipped,
        message,
        // Workspaces recorded before hosts name none: never refused.
        ...((ws as { host?: { id: string } }).host ? { host: ws.host.id } : {}),
      });
    },

    async restore(ws, owner, from, options = {}) {
      // First: a save the agent's previous host has yet to make is refused, one it made is read below.
      if ((ws as { host?: { id: string } }).host) await store.claimHost(owner, ws.host.id);
      const record = await store.latest(from.agentId, from.turn);
      if (!record) return undefined;
      if (record.baseSha !== ws.baseSha) {
        throw new GitInputError(`checkpoint of turn ${record.turn} is based on ${record.baseSha.slice(0, 12)}, the worktree on ${ws.baseSha.slice(0, 12)}`);
      }
      const packs = await store.packChain(record);
      await workspaces.restoreSnapshot(ws, owner, { commit: record.commit, tree: record.tree, packs }, options);
      return record;
    },

    list: (agentId) => store.list(agentId),

    claimedBy: async (agentId, host) => (await store.claimedHost(agentId)) === host,

    async delete(agentId) {
      await store.delete(agentId);
      await workspaces.removeCheckpointRepo(agentId);
    },
  };
}
