/**
 * Workspace checkpoints on the git side: the agent's worktree as a git tree (tracked and
 * untracked files, binary included, `.gitignore` honoured), and the objects that tree needs
 * beyond the base commit as a pack, so the worktree can be rebuilt on another host from the base
 * commit plus the packs.
 *
 * Each agent has a checkpoint repository `<root>/checkpoints/<agentId>.git` owned by the service:
 * a bare repository whose alternates point at the mirror's objects, with its own index (the stat
 * cache makes an unchanged file free on the next turn). Git runs with that git dir and the
 * worktree as work tree, hardened like every other call (run-git.ts); the worktree's own `.git`
 * is never read and the agent's index and branch never move. New objects go to the checkpoint
 * repository, never to the mirror, and leave with it when the agent's resources are removed.
 *
 * A checkpoint commit has the tree, the previous checkpoint (or the base) as parent and fixed
 * dates, so the same tree on the same chain always gives the same commit (a retried save is
 * idempotent). Packs are incremental: the objects this checkpoint has and its parent has not.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { WorkspaceInfo } from '../../domain/agent';
import type { GitContext, OperationOptions } from './context';
import { addAll } from './add-all';
import { GitCommandFailedError, GitInputError } from './errors';
import { GIT_RULES_MAX_BYTES, inspectTree, MAX_NESTED_GIT, removeGitBlockers, type TreeInspection } from './inspect-tree';
import { hasLooseObject, isSha1Id, writeLooseCommit } from './loose-commit';
import { exists } from './mirror';
import { assertInside } from './paths';
import { assertAgentId } from './validate';
import { copyIndexFile, openWorkspace } from './worktree-admin';

export interface WorktreeSnapshot {
  /** The whole worktree as a tree object. */
  tree: string;
  /** `tree` as a commit on the base; names the checkpoint. */
  commit: string;
  /** Objects new since `builtOn` (or the base): empty when nothing changed. */
  pack: Buffer;
  /** The previous checkpoint the pack builds on (or is, when nothing changed), when `previousCommit` was found here or unchanged. */
  builtOn?: string;
  /** Directories left out because they hold a nested repository (git must not enter them). */
  skipped: string[];
}

export interface RestoreSource {
  commit: string;
  tree: string;
  /** Every pack of the checkpoint's chain, oldest first. */
  packs: Buffer[];
}

const OBJECT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** Fixed identity and dates: a checkpoint commit depends on its tree and base alone. */
const CHECKPOINT_ENV = {
  GIT_AUTHOR_NAME: 'orchestrator checkpoint',
  GIT_AUTHOR_EMAIL: 'checkpoint@orchestrator.local',
  GIT_COMMITTER_NAME: 'orchestrator checkpoint',
  GIT_COMMITTER_EMAIL: 'checkpoint@orchestrator.local',
  GIT_AUTHOR_DATE: '@0 +0000',
  GIT_COMMITTER_DATE: '@0 +0000',
};

/** What a walk of the worktree found that the host's git must not read: from the caller's own walk, or made here. */
export type GitHazards = Pick<TreeInspection, 'nestedGit' | 'gitBlockers' | 'gitRuleBytes'>;

export function checkpointRepoPath(ctx: GitContext, agentId: string): string {
  assertAgentId(agentId);
  return assertInside(ctx.layout.checkpointsDir, path.join(ctx.layout.checkpointsDir, `${agentId}.git`));
}

/** Snapshots the worktree; `previousCommit` (the last checkpoint's commit) makes the pack incremental. */
export async function snapshotWorktree(
  ctx: GitContext,
  ws: WorkspaceInfo,
  agentId: string,
  options: OperationOptions & { previousCommit?: string; previousTree?: string; inspected?: GitHazards } = {},
): Promise<WorktreeSnapshot> {
  const { adminDir } = await openWorkspace(ctx.layout, ws);
  const repo = await ensureCheckpointRepo(ctx, agentId, ws.mirrorPath);
  const git = gitIn(ctx, repo, ws.path, options);
  // Starting from the worktree's index gives the stat cache of every tracked file on the first save.
  if (!(await exists(path.join(repo, 'index')))) await copyIndexFile(path.join(adminDir, 'index'), path.join(repo, 'index')).catch(() => undefined);

  // A nested repository would be read by `git add` (a FIFO as its HEAD blocks it): leave those directories out.
  const { nestedGit, gitBlockers, gitRuleBytes } = options.inspected ?? (await inspectTree(ws.path, options));
  await removeGitBlockers(ws.path, gitBlockers);
  if (nestedGit.length >= MAX_NESTED_GIT) throw new GitInputError(`the worktree holds ${MAX_NESTED_GIT} or more nested .git entries; it cannot be checkpointed safely`);
  if (gitRuleBytes > GIT_RULES_MAX_BYTES) throw new GitInputError(`the worktree's .gitignore and .gitattributes files hold ${gitRuleBytes} bytes, over the ${GIT_RULES_MAX_BYTES} the host's git reads; it cannot be checkpointed`);
  const skipped = [...new Set(nestedGit.map((p) => path.posix.dirname(p)))];
  // What git refuses to store (a path like .GIT, a tracked file now a FIFO) stays out of the
  // checkpoint as it stays out of every commit; staging tells the agent when it finishes.
  const refused = await addAll((args, okExitCodes) => git(args, { okExitCodes }), {
    signal: options.signal,
    onProgress: options.onProgress,
    pathspecs: ['.', ...skipped.map((dir) => `:(top,exclude,literal)${dir}`)],
    skipRefusedPaths: true,
    indexFile: path.join(repo, 'index'),
  });
  if (refused.length) ctx.log('git: checkpoint left out entries git refuses', { agentId, refused: refused.length });
  const tree = (await git(['write-tree'])).stdout.trim();

  // An unchanged worktree is the previous checkpoint again. Its tree comes with it from its record
  // (`previousTree`), or from git, which then also says whether the commit is here (a new host has none).
  const known = options.previousCommit && options.previousTree && OBJECT_ID.test(options.previousCommit) ? { commit: options.previousCommit, tree: options.previousTree } : undefined;
  const previousTree = known?.tree ?? (options.previousCommit ? await commitTree(git, options.previousCommit) : undefined);
  if (options.previousCommit && previousTree === tree) {
    return { tree, commit: options.previousCommit, pack: Buffer.alloc(0), builtOn: options.previousCommit, skipped };
  }
  // Chained on the previous checkpoint, so the pack is exactly what this turn added (a push's "have" logic).
  // No ref names the commit: the next save names it as its parent, and git prunes no recent object.
  // commit-tree refuses a parent that is not here, so a previous checkpoint known only from its
  // record is tried as the parent and the base taken when it is missing.
  const message = { input: `checkpoint of ${agentId}\n` };
  let previous = previousTree ? options.previousCommit : undefined;
  let commit: string;
  try {
    commit = (await writtenHere(repo, tree, previous, ws.baseSha, message.input)) ?? (await git(['commit-tree', tree, '-p', previous ?? ws.baseSha], message)).stdout.trim();
  } catch (err) {
    if (!(previous && known && err instanceof GitCommandFailedError) || (await commitTree(git, previous))) throw err;
    previous = undefined;
    commit = (await git(['commit-tree', tree, '-p', ws.baseSha], message)).stdout.trim();
  }
  const parent = previous ?? ws.baseSha;
  const revs = `${commit}\n^${parent}\n`;
  const packed = await git(['pack-objects', '--revs', '--stdout', '--quiet'], { input: revs, binaryStdout: true });
  return { tree, commit, pack: packed.stdoutBytes ?? Buffer.alloc(0), ...(previous ? { builtOn: previous } : {}), skipped };
}

/**
 * Rebuilds a checkpoint in a worktree freshly added at the base commit: the packs go into a new
 * checkpoint repository, the tree is checked out over the base (files the agent deleted are
 * deleted), and the worktree's own index stays at the base, so the changes show as uncommitted
 * work exactly as they were.
 */
export async function restoreWorktree(ctx: GitContext, ws: WorkspaceInfo, agentId: string, source: RestoreSource, options: OperationOptions = {}): Promise<void> {
  const { adminDir } = await openWorkspace(ctx.layout, ws);
  await removeCheckpointRepo(ctx, agentId);
  const repo = await ensureCheckpointRepo(ctx, agentId, ws.mirrorPath);
  const git = gitIn(ctx, repo, ws.path, options);
  for (const pack of source.packs) {
    if (pack.length > 0) await git(['index-pack', '--stdin'], { input: pack });
  }
  const tree = (await git(['rev-parse', '--verify', '--end-of-options', `${source.commit}^{tree}`]).catch(() => undefined))?.stdout.trim();
  if (tree !== source.tree) throw new GitInputError(`checkpoint ${source.commit.slice(0, 12)} does not rebuild: its objects are incomplete`);
  await copyIndexFile(path.join(adminDir, 'index'), path.join(repo, 'index'));
  await git(['read-tree', '--reset', '-u', source.tree]);
}

/** Removes an agent's checkpoint repository on this host; a missing one is fine. */
export async function removeCheckpointRepo(ctx: GitContext, agentId: string): Promise<void> {
  await rm(checkpointRepoPath(ctx, agentId), { recursive: true, force: true });
}

/** Agent ids with a checkpoint repository on this host (for the reaper). */
export async function listCheckpointRepos(ctx: GitContext): Promise<string[]> {
  const names = await readdir(ctx.layout.checkpointsDir).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.git')).map((n) => n.slice(0, -'.git'.length));
}

async function ensureCheckpointRepo(ctx: GitContext, agentId: string, mirrorPath: string): Promise<string> {
  const repo = checkpointRepoPath(ctx, agentId);
  if ((await exists(path.join(repo, 'objects', 'info', 'alternates'))) && (await exists(path.join(repo, 'info', 'attributes')))) return repo;
  await mkdir(ctx.layout.checkpointsDir, { recursive: true });
  await ctx.git(['init', '--quiet', '--bare', '--template=', '--', repo]);
  await mkdir(path.join(repo, 'objects', 'info'), { recursive: true });
  // A checkpoint keeps the worktree's bytes as they are: no working-tree-encoding the agent names
  // applies (one git cannot apply makes every add die), on saving nor on restoring, where this
  // repository writes them back. This file outranks every .gitattributes.
  await mkdir(path.join(repo, 'info'), { recursive: true });
  await writeFile(path.join(repo, 'info', 'attributes'), '* -working-tree-encoding\n');
  // Reads fall back to the mirror (the base and everything before it); writes stay here.
  await writeFile(path.join(repo, 'objects', 'info', 'alternates'), `${path.join(mirrorPath, 'objects')}\n`);
  return repo;
}

/**
 * The checkpoint commit written by the worker (loose-commit.ts), saving a git process per save,
 * when its parent is surely here: the base (in the mirror, which the worktree was made from) or
 * the previous checkpoint as a loose object of this repository. Otherwise (a checkpoint restored
 * from packs, or one known only from its record) undefined, and git writes it.
 */
async function writtenHere(repo: string, tree: string, previous: string | undefined, baseSha: string, message: string): Promise<string | undefined> {
  const parent = previous ?? baseSha;
  if (!isSha1Id(tree) || !isSha1Id(parent)) return undefined;
  if (previous !== undefined && !(await hasLooseObject(repo, previous))) return undefined;
  const identity = `${CHECKPOINT_ENV.GIT_COMMITTER_NAME} <${CHECKPOINT_ENV.GIT_COMMITTER_EMAIL}>`;
  return writeLooseCommit(repo, { tree, parent, identity, epochSeconds: 0, message });
}

type GitIn = (args: string[], extra?: { input?: string | Buffer; binaryStdout?: boolean; okExitCodes?: readonly number[] }) => ReturnType<GitContext['git']>;

function gitIn(ctx: GitContext, repo: string, worktree: string, options: OperationOptions): GitIn {
  return (args, extra = {}) => ctx.git([`--git-dir=${repo}`, `--work-tree=${worktree}`, ...args], { ...options, ...extra, env: CHECKPOINT_ENV });
}

/** The tree of commit `oid` when that commit is in the repository, else undefined. */
async function commitTree(git: GitIn, oid: string): Promise<string | undefined> {
  if (!OBJECT_ID.test(oid)) return undefined;
  return git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${oid}^{commit}^{tree}`]).then(
    (r) => r.stdout.trim() || undefined,
    () => undefined,
  );
}
