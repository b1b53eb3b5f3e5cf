/**
 * Per-agent git worktrees from a mirror cache. `createGitWorkspaces(deps)` is the only entry
 * point the activities need; everything it returns is async, and the long operations take
 * `{ signal, onProgress }` so an activity can heartbeat and be cancelled.
 */
import type { WorkspaceInfo } from '../../domain/agent';
import { checkMergeable, type MergeCheck } from './merge-check';
import { remoteDefaultBranch } from './default-branch';
import { removeCheckpointRepo, restoreWorktree, snapshotWorktree, type GitHazards, type RestoreSource, type WorktreeSnapshot } from './checkpoint';
import { commit, diffAgainstBase, diffBetween, diffFrom, headSha, reviewBaseCommit, scanTree, stageAll, stageAndScan, type CommitResult, type StagedScan } from './changes';
import { checkoutForGates, reapGateCheckouts, removeGateCheckout, stagedTree, type CheckoutOptions, type GateCheckout } from './gate-checkout';
import { listWorktrees, reap, removeWorkspace, type RemoveResult, type WorktreeListing } from './cleanup';
import { reapOrphaned } from './orphaned';
import type { GitContext, GitDeps, OperationOptions } from './context';
import { credentialSecrets } from './credentials';
import { workspaceLayout } from './paths';
import { processScratch } from '../host/scratch';
import { prepareWorkspace, type PrepareRequest } from './prepare';
import { existsAtBase, readAtBase, rootEntriesAtBase, type TreeEntry } from './read-blob';
import type { Allowlist } from '../../scanner';
import { pushAgentBranch, type PushOptions, type PushResult } from './push';
import { IndexTrees } from './index-trees';
import { ObjectCache } from './object-cache';
import { createGitRunner } from './run-git';
import { salvage, type SalvageResult, type WorktreeLocation } from './salvage';

export type { GitDeps, OperationOptions } from './context';
export type { PrepareRequest } from './prepare';
export type { CommitResult, StagedScan } from './changes';
export type { CheckoutOptions, GateCheckout } from './gate-checkout';
export type { ChangeScan, UnscannableFile } from './scan-changes';
export type { MergeCheck } from './merge-check';
export type { PushResult } from './push';
export type { SalvageResult, WorktreeLocation } from './salvage';
export type { RemoveResult, WorktreeListing } from './cleanup';
export type { GitHazards, RestoreSource, WorktreeSnapshot } from './checkpoint';
export * from './errors';
export { salvageRefFor } from './salvage';

export interface GitWorkspaces {
  /** Mirror (clone once, then fetch) + a worktree on `agent/<taskId>/<agentId8>` from `origin/<baseBranch>`. */
  prepare(req: PrepareRequest, options?: OperationOptions): Promise<WorkspaceInfo>;
  /** `git add --all` in the worktree; refused (with the reason) when it holds nested repositories or entries git refuses. */
  stageAll(ws: WorkspaceInfo, options?: OperationOptions): Promise<{ refused?: string }>;
  /** Stages, then secret-scans every blob the commit would add or change (see scan-changes.ts). */
  stageAndScan(ws: WorkspaceInfo, options?: OperationOptions & { allowlist?: Allowlist }): Promise<StagedScan>;
  /** Stages `tree` (the one the pre-commit gates checked) instead of the worktree, then scans it like stageAndScan. */
  scanTree(ws: WorkspaceInfo, tree: string, options?: OperationOptions & { allowlist?: Allowlist }): Promise<StagedScan>;
  /**
   * Commits the index as deps.author; `{ nothingToCommit: true }` when it is empty, unless HEAD is
   * already this agent's commit (a retry), which is then reported with `reused: true`.
   */
  commit(ws: WorkspaceInfo, message: string, options?: OperationOptions & { agentId?: string; expectedTree?: string }): Promise<CommitResult>;
  /** Stages the worktree and returns the staged tree (pre-commit gates run on it); `refused` as stageAll is. */
  stagedTree(ws: WorkspaceInfo, options?: OperationOptions): Promise<{ tree: string } | { refused: string }>;
  /** A fresh checkout of a tree or commit for gates, in `<root>/gate-checkouts/<agentId>`: its path, and how to restore what it took from the base. */
  checkoutForGates(ws: Pick<WorkspaceInfo, 'mirrorPath'>, agentId: string, treeish: string, options?: CheckoutOptions): Promise<GateCheckout>;
  removeGateCheckout(agentId: string): Promise<void>;
  /** A regular file as a tree or commit of the mirror has it; undefined when absent. */
  readAt(ws: Pick<WorkspaceInfo, 'mirrorPath'>, treeish: string, relativePath: string, options?: OperationOptions): Promise<string | undefined>;
  /** A regular file as the agent's base commit has it, read from the mirror; undefined when absent. */
  readAtBase(ws: Pick<WorkspaceInfo, 'mirrorPath' | 'baseSha'>, relativePath: string, options?: OperationOptions): Promise<string | undefined>;
  /** Whether the base commit has a regular file there (lockfiles, wrappers: looked for, not read). */
  existsAtBase(ws: Pick<WorkspaceInfo, 'mirrorPath' | 'baseSha'>, relativePath: string, options?: OperationOptions): Promise<boolean>;
  /** The entries at the root of the base commit, by name (one git call for many lookups). */
  rootEntriesAtBase(ws: Pick<WorkspaceInfo, 'mirrorPath' | 'baseSha'>, options?: OperationOptions): Promise<Map<string, TreeEntry>>;
  /** The entries at the root of a tree or commit of the mirror, by name. */
  rootEntriesAt(ws: Pick<WorkspaceInfo, 'mirrorPath'>, treeish: string, options?: OperationOptions): Promise<Map<string, TreeEntry>>;
  headSha(ws: WorkspaceInfo): Promise<string>;
  /** The agent branch's changes since it forked from `origin/<base>`, for an AI review. */
  diffAgainstBase(ws: WorkspaceInfo, options?: OperationOptions): Promise<string>;
  /** The agent branch's changes since it forked from `origin/<base>` (another branch); InvalidInput when the remote has no such branch. */
  diffFrom(ws: WorkspaceInfo, base: string, options?: OperationOptions): Promise<string>;
  /** What `to` (a commit or tree id) changes from commit `from`, as trees: a reviewer's AI review of the branch from its gate base. */
  diffBetween(ws: WorkspaceInfo, from: string, to: string, options?: OperationOptions): Promise<string>;
  /** The branch origin's HEAD names, asked of the remote (undefined: it names none): a reviewer's base when it was given none. */
  defaultBranch(ws: WorkspaceInfo, options?: OperationOptions): Promise<string | undefined>;
  /** Where a branch under review (the workspace's base) forked from `origin/<base>`: the commit its gates come from. */
  reviewBase(ws: WorkspaceInfo, base: string, options?: OperationOptions): Promise<string>;
  /** Fetches the base and merges in memory: `{ clean: false, conflicts }` lists conflicting paths. */
  checkMergeable(ws: WorkspaceInfo, options?: OperationOptions): Promise<MergeCheck>;
  /** Pushes `refs/heads/agent/...` with a lease; never the base branch; a no-op when push is disabled. */
  push(ws: WorkspaceInfo, options?: PushOptions): Promise<PushResult>;
  /** Uncommitted work to `refs/agents/<agentId>/salvage` (pushed when allowed); `{}` when clean. */
  salvage(ws: WorktreeLocation, agentId: string, options?: OperationOptions): Promise<SalvageResult>;
  /** Removes the worktree and its admin entry (salvaging first if dirty); a missing worktree is fine. */
  remove(ws: WorktreeLocation, options?: OperationOptions): Promise<RemoveResult>;
  /**
   * `remove` for an agent done on this host (its run's cleanup): its refs in the mirror go too, but
   * never a branch or salvage that is the only copy of work (release-refs.ts). `branch`: the agent
   * branch, for a retry that finds the worktree (whose HEAD names it) already gone.
   */
  removeForGood(ws: WorktreeLocation & { branch?: string }, options?: OperationOptions): Promise<RemoveResult>;
  /** Removes a worktree that holds nothing of its own (a copy of a checkpoint): salvaged to this host's mirror at most, never published. */
  discard(ws: WorktreeLocation, options?: OperationOptions): Promise<RemoveResult>;
  listWorktrees(): Promise<WorktreeListing[]>;
  /** The whole worktree as a tree and the objects it needs beyond `previousCommit` (or the base), as a pack. */
  /** `inspected`: what a walk of the worktree just found for git (nested repositories, git blockers); else it walks again. */
  /** `previousTree`: the tree of `previousCommit` from its record (else git is asked for it). */
  snapshot(ws: WorkspaceInfo, agentId: string, options?: OperationOptions & { previousCommit?: string; previousTree?: string; inspected?: GitHazards }): Promise<WorktreeSnapshot>;
  /** Checks a snapshot out over a worktree freshly prepared at its base; `agentId` owns the worktree. */
  restoreSnapshot(ws: WorkspaceInfo, agentId: string, source: RestoreSource, options?: OperationOptions): Promise<void>;
  /** Removes the agent's checkpoint repository on this host (its objects and index). */
  removeCheckpointRepo(agentId: string): Promise<void>;
  /** Salvages and removes the worktrees whose workflow is closed, with their gate checkouts and moved-aside directories; returns the number removed. */
  reap(isClosed: (agentId: string) => Promise<boolean>, options?: OperationOptions): Promise<number>;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 60 * 60_000;

/** Builds the git workspace operations over `deps.workspaceRoot`. */
export function createGitWorkspaces(deps: GitDeps): GitWorkspaces {
  const layout = workspaceLayout(deps.workspaceRoot);
  const ctx: GitContext = {
    deps,
    layout,
    git: createGitRunner({
      secrets: credentialSecrets(deps.credentials),
      defaultTimeoutMs: deps.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    }),
    log: deps.log ?? (() => undefined),
    fetchStartedAt: new Map(),
    lockSweptAt: new Map(),
    remoteUrls: new Map(),
    objects: new ObjectCache(),
    indexTrees: new IndexTrees(),
    scratch: deps.scratch ?? processScratch(layout.scratchDir, { log: deps.log }),
  };
  return {
    prepare: (req, options) => prepareWorkspace(ctx, req, options),
    stageAll: (ws, options) => stageAll(ctx, ws, options),
    stageAndScan: (ws, options) => stageAndScan(ctx, ws, { maxBlobBytes: deps.scanMaxBlobBytes, ...options }),
    scanTree: (ws, tree, options) => scanTree(ctx, ws, tree, { maxBlobBytes: deps.scanMaxBlobBytes, ...options }),
    commit: (ws, message, options) => commit(ctx, ws, message, options),
    readAtBase: (ws, relativePath, options) => readAtBase(ctx, ws, relativePath, options),
    readAt: (ws, treeish, relativePath, options) => readAtBase(ctx, { mirrorPath: ws.mirrorPath, baseSha: treeish }, relativePath, options),
    stagedTree: (ws, options) => stagedTree(ctx, ws, options),
    checkoutForGates: (ws, agentId, treeish, options) => checkoutForGates(ctx, ws, agentId, treeish, options),
    removeGateCheckout: (agentId) => removeGateCheckout(ctx, agentId),
    existsAtBase: (ws, relativePath, options) => existsAtBase(ctx, ws, relativePath, options),
    rootEntriesAtBase: (ws, options) => rootEntriesAtBase(ctx, ws, options),
    rootEntriesAt: (ws, treeish, options) => rootEntriesAtBase(ctx, { mirrorPath: ws.mirrorPath, baseSha: treeish }, options),
    headSha: (ws) => headSha(ctx, ws),
    diffAgainstBase: (ws, options) => diffAgainstBase(ctx, ws, options),
    diffFrom: (ws, base, options) => diffFrom(ctx, ws, base, options),
    diffBetween: (ws, from, to, options) => diffBetween(ctx, ws, from, to, options),
    defaultBranch: (ws, options) => remoteDefaultBranch(ctx, ws, options),
    reviewBase: (ws, base, options) => reviewBaseCommit(ctx, ws, base, options),
    checkMergeable: (ws, options) => checkMergeable(ctx, ws, options),
    push: (ws, options) => pushAgentBranch(ctx, ws, options),
    salvage: (ws, agentId, options) => salvage(ctx, ws, agentId, options),
    remove: (ws, options) => removeWorkspace(ctx, ws, options),
    removeForGood: (ws, options) => removeWorkspace(ctx, ws, options, { forGood: { ...(ws.branch ? { branch: ws.branch } : {}) } }),
    discard: (ws, options) => removeWorkspace(ctx, ws, options, { publish: false }),
    listWorktrees: () => listWorktrees(ctx),
    snapshot: (ws, agentId, options) => snapshotWorktree(ctx, ws, agentId, options),
    restoreSnapshot: (ws, agentId, source, options) => restoreWorktree(ctx, ws, agentId, source, options),
    removeCheckpointRepo: (agentId) => removeCheckpointRepo(ctx, agentId),
    // Orphaned directories last: a worktree this pass moved aside goes in the same pass.
    reap: async (isClosed, options) => (await reap(ctx, isClosed, options)) + (await reapGateCheckouts(ctx, isClosed)) + (await reapOrphaned(ctx, isClosed)),
  };
}
