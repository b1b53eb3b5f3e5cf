/**
 * Removing worktrees, and the reaper that finds the ones a crashed worker left behind.
 * Nothing is deleted silently: uncommitted work is salvaged to a ref first, and a directory
 * git does not know as a worktree is moved aside rather than deleted. Agent branches stay in
 * the mirror while they may be the only copy of work; a removal for good deletes the agent's
 * other refs there (release-refs.ts).
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { GitContext, OperationOptions } from './context';
import { GitAbortedError } from './errors';
import { exists } from './mirror';
import { removeTree } from '../host/remove-tree';
import { listCheckpointRepos, removeCheckpointRepo } from './checkpoint';
import { assertRealInside } from './paths';
import { withRepoLock } from './repo-lock';
import { releaseAgentRefs } from './release-refs';
import { publishSalvage, snapshotUncommitted, type SalvageResult, type WorktreeLocation } from './salvage';
import { assertAgentId } from './validate';
import { allWorktreeEntries, assertWorkspacePaths, findAdminDir, moveAside } from './worktree-admin';

export interface RemoveResult {
  /** False when there was no worktree to remove (already gone). */
  removed: boolean;
  /** Set when uncommitted work was saved before removal. */
  salvage?: SalvageResult;
}

export interface WorktreeListing {
  agentId: string;
  path: string;
  /** Undefined for a directory no mirror has registered (moved aside by reap). */
  mirrorPath?: string;
}

export interface RemoveOptions {
  /** False: the salvage stays in this host's mirror. */
  publish?: boolean;
  /**
   * The agent is done on this host (its run ended or is closed): its refs in the mirror go too,
   * those that are no sole copy of work. `branch` names the agent branch when the worktree whose
   * HEAD names it is already gone (a retry).
   */
  forGood?: { branch?: string };
}

/**
 * Removes an agent's worktree and its admin entry, salvaging uncommitted work first. Idempotent.
 * With `publish: false` the salvage stays in this host's mirror: work a rebuild replaces is older
 * than the checkpoint, and must not take the remote ref the run's own cleanup is to write.
 */
export async function removeWorkspace(ctx: GitContext, ws: WorktreeLocation, options: OperationOptions = {}, removal: RemoveOptions = {}): Promise<RemoveResult> {
  const result = await removeWorktree(ctx, ws, options, removal);
  if (removal.forGood && (await exists(ws.mirrorPath))) {
    const agentId = path.basename(ws.path);
    const branch = result.branch ?? removal.forGood.branch;
    const publishedSalvage = result.salvage?.pushed ? result.salvage.commitSha : undefined;
    await releaseAgentRefs(ctx, ws.mirrorPath, { agentId, ...(branch ? { branch } : {}), ...(publishedSalvage ? { publishedSalvage } : {}) }, options);
  }
  const { branch: _, ...removed } = result;
  return removed;
}

async function removeWorktree(
  ctx: GitContext,
  ws: WorktreeLocation,
  options: OperationOptions,
  { publish = true }: RemoveOptions,
): Promise<RemoveResult & { branch?: string }> {
  assertWorkspacePaths(ctx.layout, ws);
  const agentId = path.basename(ws.path);
  assertAgentId(agentId);
  if (!(await exists(ws.mirrorPath))) {
    // No mirror, so no registration: keep the directory aside if there is one.
    if (await exists(ws.path)) await moveAside(ctx, await assertRealInside(ctx.layout.worktreesDir, ws.path));
    return { removed: false };
  }
  if (!(await exists(ws.path))) {
    await withRepoLock(ws.mirrorPath, () => ctx.git(['-C', ws.mirrorPath, 'worktree', 'prune'], options), lockOptions(ctx, options));
    return { removed: false };
  }
  await assertRealInside(ctx.layout.worktreesDir, ws.path);
  const adminDir = await findAdminDir(ws.mirrorPath, ws.path);
  if (!adminDir) {
    await moveAside(ctx, ws.path);
    return { removed: true };
  }
  // Without the repository lock, so agents finishing together do not queue behind each other or
  // behind new agents' prepares (the bench's cleanups waited 8 s at 20 agents): the salvage writes
  // objects and its own ref, which git makes safe beside other gits (agents commit in their
  // worktrees the same way), and the admin entry removed last is this worktree's alone (another
  // agent's `worktree add` makes its own; a concurrent `worktree prune` may remove it first).
  const snapshot = await snapshotUncommitted(ctx, ws, agentId, options);
  const branch = await checkedOutBranch(adminDir);
  await removeWorktreeAndEntry(ws.path, adminDir);
  ctx.log('git: worktree removed', { event: 'worktree-remove', agentId, salvageRef: snapshot.ref });
  if (!snapshot.ref) return { removed: true, branch };
  if (!publish) return { removed: true, branch, salvage: { ...snapshot, pushed: false } };
  return { removed: true, branch, salvage: await publishSalvage(ctx, ws, snapshot, agentId, options) };
}

/** The branch the worktree's admin entry (the service's, in the mirror) has checked out. */
async function checkedOutBranch(adminDir: string): Promise<string | undefined> {
  const head = (await readFile(path.join(adminDir, 'HEAD'), 'utf8').catch(() => '')).trim();
  return head.startsWith('ref: refs/heads/') ? head.slice('ref: refs/heads/'.length) : undefined;
}

/**
 * Removed by us, not `git worktree remove`: that reads the worktree's `.git`, which the agent may
 * have replaced. removeTree follows no link and goes through any depth or mode the agent left.
 * The admin entry goes even when the files could not: left registered, the worktree would fail
 * every cleanup retry and reaper pass the same way; unregistered, the next attempt moves it aside.
 * A crash between the two leaves an admin entry whose worktree is gone: the next prune removes it.
 */
async function removeWorktreeAndEntry(worktreePath: string, adminDir: string): Promise<void> {
  try {
    await removeTree(worktreePath);
  } finally {
    await rm(adminDir, { recursive: true, force: true });
  }
}

const lockOptions = (ctx: GitContext, options: OperationOptions) => ({ signal: options.signal, onProgress: options.onProgress, log: ctx.log });

/** Every directory under `<root>/worktrees`, with the mirror that registered it. */
export async function listWorktrees(ctx: GitContext): Promise<WorktreeListing[]> {
  const dirs = await readdir(ctx.layout.worktreesDir, { withFileTypes: true }).catch(() => []);
  const registered = await allWorktreeEntries(ctx.layout);
  return dirs
    .filter((d) => d.isDirectory())
    .map((d) => {
      const worktreePath = path.join(ctx.layout.worktreesDir, d.name);
      return { agentId: d.name, path: worktreePath, mirrorPath: registered.find((e) => e.worktreePath === worktreePath)?.mirrorPath };
    });
}

/**
 * Salvages then removes the worktrees whose workflow is closed; returns how many were removed.
 * One failing worktree (or an unanswered isClosed) is logged and skipped, not fatal to the sweep.
 */
export async function reap(ctx: GitContext, isClosed: (agentId: string) => Promise<boolean>, options: OperationOptions = {}): Promise<number> {
  let removed = 0;
  for (const entry of await listWorktrees(ctx)) {
    try {
      if (!(await isClosed(entry.agentId))) continue;
      if (!entry.mirrorPath) {
        await moveAside(ctx, entry.path);
        removed++;
        continue;
      }
      const result = await removeWorkspace(ctx, { path: entry.path, mirrorPath: entry.mirrorPath }, options, { forGood: {} });
      if (result.removed) removed++;
      options.onProgress?.();
    } catch (err) {
      if (err instanceof GitAbortedError) throw err;
      ctx.log('git: reaping a worktree failed', { agentId: entry.agentId, error: (err as Error).message });
    }
  }
  // Checkpoint repositories are scratch space: nothing in them is the only copy (Valkey has the checkpoints).
  for (const agentId of await listCheckpointRepos(ctx)) {
    try {
      if (await isClosed(agentId)) await removeCheckpointRepo(ctx, agentId);
    } catch (err) {
      ctx.log('git: reaping a checkpoint repository failed', { agentId, error: (err as Error).message });
    }
  }
  if (removed) ctx.log('git: reaped worktrees', { event: 'reap', removed });
  return removed;
}
