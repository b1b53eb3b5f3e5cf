/**
 * Prepares an agent's workspace: validate the request, bring the mirror up to date, and add a
 * worktree on a fresh `agent/<taskId>/<agentId8>` branch from `origin/<baseBranch>`.
 * Idempotent for activity retries: an existing worktree for the agent is returned as is.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { makeTraversable } from './paths';
import path from 'node:path';
import { agentBranchName, type WorkspaceInfo } from '../../domain/agent';
import { plainText } from '../../domain/plain-text';
import { redactSecrets } from '../../scanner';
import type { GitContext, OperationOptions } from './context';
import { BranchNotFoundError, GitInputError } from './errors';
import { emptyBaseCommit, isAgentBranch, remoteBaseBranches } from './empty-base';
import { ensureMirror, exists, resolveCommit, resolveCommits } from './mirror';
import { mirrorPathFor, worktreePathFor } from './paths';
import { removeWorkspace } from './cleanup';
import { removeStaleGitLocks, withRepoLock } from './repo-lock';
import { assertAgentId, assertBranchName, assertRepositoryUrl, assertTaskId } from './validate';
import { findAdminDir, moveAside } from './worktree-admin';
import { removeTree } from '../host/remove-tree';

export interface PrepareRequest {
  agentId: string;
  taskId: string;
  repository: string;
  baseBranch: string;
  /**
   * Start at this commit rather than the branch's tip, in a new worktree on a branch reset to it
   * (whatever this host still had of the agent is salvaged and replaced): the agent's workspace is
   * being rebuilt from its checkpoint, whose changes are relative to this commit.
   */
  baseSha?: string;
}

const COMMIT_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
/** How often a prepare sweeps the mirror's shared areas for stale git locks. */
const LOCK_SWEEP_INTERVAL_MS = 60_000;

export async function prepareWorkspace(ctx: GitContext, req: PrepareRequest, options: OperationOptions = {}): Promise<WorkspaceInfo> {
  // Everything from the request is checked before a directory is made or a process started.
  assertAgentId(req.agentId);
  assertTaskId(req.taskId);
  assertRepositoryUrl(req.repository, ctx.deps.allowedSchemes);
  assertBranchName(req.baseBranch, 'base branch');
  const branch = agentBranchName(req.taskId, req.agentId);
  assertBranchName(branch, 'agent branch');
  if (req.baseSha !== undefined && !COMMIT_SHA.test(req.baseSha)) throw new GitInputError(`base commit is not a commit id: ${JSON.stringify(req.baseSha)}`);
  const worktreePath = worktreePathFor(ctx.layout, req.agentId);
  const mirrorPath = mirrorPathFor(ctx.layout, req.repository);
  // A rebuild starts from nothing this host kept of the agent (salvaged first, like any removal,
  // but kept on this host: the checkpoint is newer, and the remote's salvage ref is the run's cleanup's).
  if (req.baseSha && (await exists(worktreePath))) await removeWorkspace(ctx, { path: worktreePath, mirrorPath }, options, { publish: false });

  await mkdir(ctx.layout.mirrorsDir, { recursive: true });
  await makeTraversable(ctx.layout.worktreesDir);
  const requestedAt = Date.now();

  return withRepoLock(
    mirrorPath,
    async () => {
      if (await exists(mirrorPath)) {
        // The sweep walks every ref directory (one per agent): once a minute per mirror is enough
        // for locks a crashed git left, and keeps it out of every spawn's time under this lock.
        const sharedAreas = Date.now() - (ctx.lockSweptAt.get(mirrorPath) ?? 0) >= LOCK_SWEEP_INTERVAL_MS;
        const removed = await removeStaleGitLocks(mirrorPath, { worktreeName: req.agentId, sharedAreas });
        if (removed.length) ctx.log('git: removed stale git locks', { mirrorPath, removed });
        if (sharedAreas) ctx.lockSweptAt.set(mirrorPath, Date.now());
      }
      // Agents spawned together queue on this lock: a fetch that started after this request
      // arrived has brought everything this agent could ask for, so it is not repeated.
      if ((ctx.fetchStartedAt.get(mirrorPath) ?? -1) <= requestedAt) {
        const fetchStartedAt = Date.now();
        await ensureMirror(ctx, mirrorPath, req.repository, options);
        ctx.fetchStartedAt.set(mirrorPath, fetchStartedAt);
      }

      // One git process answers every ref this needs: the base, the agent's branch and its marker.
      const [resolved, branchTip, marker] = await resolveCommits(ctx, mirrorPath, [
        req.baseSha ?? `refs/remotes/origin/${req.baseBranch}`,
        `refs/heads/${branch}`,
        baseMarkerRef(req.agentId),
      ]);
      const base = await chooseBase(ctx, mirrorPath, req, resolved, options);
      const info: WorkspaceInfo = { host: ctx.deps.host, path: worktreePath, branch, baseBranch: req.baseBranch, baseSha: base.sha, mirrorPath, ...(base.empty ? { emptyBase: true } : {}) };

      const adminDir = await findAdminDir(mirrorPath, worktreePath);
      const halfAdded = adminDir !== undefined && (await discardHalfAdded(ctx, worktreePath, adminDir));
      if (halfAdded) {
        // Added again below, on the branch that add made (it holds no commit of the agent yet).
      } else if (await exists(worktreePath)) {
        if (adminDir) return resumeExisting(ctx, info, adminDir, marker, options);
        await moveAside(ctx, worktreePath);
      }
      // A registration left without its directory (a crash mid-removal) would refuse the add.
      else if (adminDir) await ctx.git(['-C', mirrorPath, 'worktree', 'prune'], options);
      const ownBranch = halfAdded ? branchTip !== undefined : branchBelongsToAgent(branch, branchTip, marker);
      const reuseBranch = ownBranch && !req.baseSha && !halfAdded;
      const addArgs = reuseBranch
        ? ['worktree', 'add', '--', worktreePath, branch] // a retry after the worktree was removed: keep the agent's commits
        : ['worktree', 'add', '--no-track', ownBranch ? '-B' : '-b', branch, '--', worktreePath, info.baseSha];
      // Parallel checkout (one worker per core): writing the files is most of a warm prepare.
      await ctx.git(['-C', mirrorPath, '-c', 'checkout.workers=0', ...addArgs], options);
      if (!reuseBranch) await ctx.git(['-C', mirrorPath, 'update-ref', baseMarkerRef(req.agentId), info.baseSha], options);
      ctx.log('git: worktree added', { event: 'worktree-add', agentId: req.agentId, branch, mirrorPath, reusedBranch: reuseBranch });
      // The reused branch is still on the base it was made from, whatever the base branch's tip is now.
      return reuseBranch ? withMarkedBase(ctx, info, marker, options) : info;
    },
    { signal: options.signal, onProgress: options.onProgress, log: ctx.log },
  );
}

/**
 * Removes a worktree whose `git worktree add` never finished (the worker died mid-checkout: git's
 * own `locked` marker is still there, and a part of the files): returned as it was, the agent would
 * work on, and commit, a tree with files missing. Nothing in it is the agent's work. Its branch
 * was made by that add: an add for another agent's branch is refused before any of this exists.
 */
async function discardHalfAdded(ctx: GitContext, worktreePath: string, adminDir: string): Promise<boolean> {
  if (!(await exists(path.join(adminDir, 'locked')))) return false;
  await removeTree(worktreePath);
  await rm(adminDir, { recursive: true, force: true });
  ctx.log('git: removed a worktree whose add never finished', { event: 'worktree-discard', path: worktreePath });
  return true;
}

/**
 * The commit the workspace starts from: `resolved` (the base branch's tip, or the rebuild's base
 * commit) when there is one; the empty base for a repository with nothing on it yet, or for a
 * rebuild on a host that never made it.
 */
async function chooseBase(
  ctx: GitContext,
  mirrorPath: string,
  req: PrepareRequest,
  resolved: string | undefined,
  options: OperationOptions,
): Promise<{ sha: string; empty: boolean }> {
  if (resolved && !req.baseSha) return { sha: resolved, empty: false };
  if (req.baseSha) {
    const empty = await emptyBaseCommit(ctx, mirrorPath, options);
    if (resolved || req.baseSha === empty) return { sha: req.baseSha, empty: req.baseSha === empty };
    throw new GitInputError(`base commit ${req.baseSha.slice(0, 12)} is no longer in the repository: the workspace cannot be rebuilt`);
  }
  // A missing base branch is a mistake in a repository that has others; in a new one there is none yet.
  // A missing agent branch is one even there: it was never pushed or is misnamed, and a reviewer of
  // it would be handed an empty workspace and an empty diff to approve.
  const branches = await remoteBaseBranches(ctx, mirrorPath, options);
  if (isAgentBranch(req.baseBranch) || branches.length > 0) {
    const what = await notABranch(ctx, mirrorPath, req.baseBranch, branches);
    throw new BranchNotFoundError(`base branch "${req.baseBranch}" does not exist in ${req.repository}${what}${branchesHint(branches)}`);
  }
  ctx.log('git: the repository has no branch yet; starting from the empty base', { event: 'empty-base', mirrorPath, baseBranch: req.baseBranch });
  return { sha: await emptyBaseCommit(ctx, mirrorPath, options), empty: true };
}

/**
 * What a name that is no branch is instead, when it is something a newcomer passes as one: a tag
 * or a commit id (the branch is where the agent's work is based and later merged, so it must be
 * a branch), or a branch spelt as its full ref.
 */
async function notABranch(ctx: GitContext, mirrorPath: string, name: string, branches: readonly string[]): Promise<string> {
  const short = name.startsWith('refs/heads/') ? name.slice('refs/heads/'.length) : undefined;
  if (short !== undefined && branches.includes(short)) return `: name it without "refs/heads/" ("${short}")`;
  const asBranch = ': context.branch takes a branch name; spawn on a branch that has it';
  if (/^[0-9a-f]{7,64}$/.test(name)) return `: "${name}" looks like a commit id${asBranch}`;
  const tag = name.startsWith('refs/tags/') ? name : `refs/tags/${name}`;
  if (await resolveCommit(ctx, mirrorPath, tag)) return `: "${name}" is a tag${asBranch}`;
  return '';
}

/** The branches a caller may have meant (a repository whose default is `master`, say), a few of them. */
function branchesHint(branches: readonly string[]): string {
  if (branches.length === 0) return '';
  // Redacted before the cut (a branch may be named after a token pasted by mistake): the first 80
  // characters of a 108-character key are no longer recognised by the redaction of the whole message.
  const shown = branches.slice(0, BRANCHES_NAMED).map((b) => redactSecrets(plainText(b))).map((b) => `"${b.length > 80 ? `${b.slice(0, 80)}…` : b}"`);
  const more = branches.length - shown.length;
  return ` (its branches: ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''})`;
}
const BRANCHES_NAMED = 5;

/** The worktree survived a previous attempt; report it with the base it was made from (`marker`, the commit its base marker names). */
async function resumeExisting(ctx: GitContext, info: WorkspaceInfo, adminDir: string, marker: string | undefined, options: OperationOptions): Promise<WorkspaceInfo> {
  const head = (await readFile(path.join(adminDir, 'HEAD'), 'utf8').catch(() => '')).trim();
  if (head !== `ref: refs/heads/${info.branch}`) throw new GitInputError(`worktree ${info.path} already exists on another branch`);
  ctx.log('git: worktree already present', { event: 'worktree-reuse', path: info.path });
  return withMarkedBase(ctx, info, marker, options);
}

/** `info` with the base the agent's branch was made from (`marker`): an older one, or the empty one when the repository had no branch then. */
async function withMarkedBase(ctx: GitContext, info: WorkspaceInfo, marker: string | undefined, options: OperationOptions): Promise<WorkspaceInfo> {
  if (!marker || marker === info.baseSha) return info;
  const { emptyBase: _, ...rest } = info;
  return { ...rest, baseSha: marker, ...(marker === (await emptyBaseCommit(ctx, info.mirrorPath, options)) ? { emptyBase: true } : {}) };
}

/**
 * Records where an agent's branch started. It marks the branch as this agent's, so a retry
 * reuses it while another agent whose id shares the first 8 characters is refused.
 */
function baseMarkerRef(agentId: string): string {
  return `refs/agents/${agentId}/base`;
}

/** Whether the agent branch exists and is this agent's, from the commits its ref and the agent's base marker name. */
function branchBelongsToAgent(branch: string, branchTip: string | undefined, marker: string | undefined): boolean {
  if (!branchTip) return false;
  if (marker) return true;
  throw new GitInputError(`branch ${branch} already belongs to another agent (agent ids share their first 8 characters)`);
}
