/**
 * Finds a worktree's admin directory (`<mirror>/worktrees/<name>`) from the mirror side.
 * Commands in a worktree run with explicit --git-dir / --work-tree taken from there, never
 * from the `.git` file inside the worktree: the agent can write that file, and pointing it
 * at a repository with hooks or an fsmonitor would make our own git run its programs.
 */
import { copyFile, mkdir, readdir, readFile, rename, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { WorkspaceInfo } from '../../domain/agent';
import type { GitContext } from './context';
import { PathOutsideWorkspaceError } from '../host/paths';
import { GitInputError, WorkspaceLostError } from './errors';
import { orphanedPathFor } from './orphaned';
import { assertInside, type WorkspaceLayout } from './paths';
import { assertBranchName } from './validate';

export interface WorktreeEntry {
  /** `<mirror>/worktrees/<name>` */
  adminDir: string;
  mirrorPath: string;
  /** The worktree directory the entry points at. */
  worktreePath: string;
}

/** Every worktree registered in one mirror. */
export async function worktreeEntries(mirrorPath: string): Promise<WorktreeEntry[]> {
  const adminRoot = path.join(mirrorPath, 'worktrees');
  const names = await readdir(adminRoot).catch(() => [] as string[]);
  const entries = await Promise.all(
    names.map(async (name) => {
      const adminDir = path.join(adminRoot, name);
      const gitdir = await readFile(path.join(adminDir, 'gitdir'), 'utf8').catch(() => undefined);
      // `gitdir` holds `<worktree>/.git`.
      return gitdir ? { adminDir, mirrorPath, worktreePath: path.dirname(path.resolve(gitdir.trim())) } : undefined;
    }),
  );
  return entries.filter((e): e is WorktreeEntry => e !== undefined);
}

/** Every worktree registered in any mirror under the workspace root. */
export async function allWorktreeEntries(layout: WorkspaceLayout): Promise<WorktreeEntry[]> {
  const mirrors = (await readdir(layout.mirrorsDir).catch(() => [] as string[])).filter((n) => n.endsWith('.git'));
  return (await Promise.all(mirrors.map((m) => worktreeEntries(path.join(layout.mirrorsDir, m))))).flat();
}

/**
 * The admin directory registered for `worktreePath`. Git names it after the worktree's directory
 * (`worktrees/<agentId>`), so that one is read first: every host activity asks, and reading all
 * entries costs one file per live worktree of the mirror (hundreds on a busy host). Another
 * name (git added a suffix because the name was taken) is found by the full scan.
 */
export async function findAdminDir(mirrorPath: string, worktreePath: string): Promise<string | undefined> {
  const target = path.resolve(worktreePath);
  const likely = path.join(mirrorPath, 'worktrees', path.basename(target));
  const gitdir = await readFile(path.join(likely, 'gitdir'), 'utf8').catch(() => undefined);
  if (gitdir !== undefined && path.dirname(path.resolve(gitdir.trim())) === target) return likely;
  return (await worktreeEntries(mirrorPath)).find((e) => e.worktreePath === target)?.adminDir;
}

/** Global options that run git in `worktreePath` with the given admin directory. */
export function worktreeArgs(adminDir: string, worktreePath: string): string[] {
  return [`--git-dir=${adminDir}`, `--work-tree=${worktreePath}`];
}

/**
 * A WorkspaceInfo comes back from workflow history; its paths and branch names are checked
 * again before use, and the worktree must be registered in its mirror.
 */
export async function openWorkspace(layout: WorkspaceLayout, ws: WorkspaceInfo): Promise<{ adminDir: string; args: string[] }> {
  assertWorkspacePaths(layout, ws);
  assertBranchName(ws.branch, 'agent branch');
  assertBranchName(ws.baseBranch, 'base branch');
  const adminDir = await findAdminDir(ws.mirrorPath, ws.path);
  if (!adminDir) {
    // Nothing of it left on this disk: the host lost it, and the run can move to another host.
    if (!(await pathExists(ws.path)) && !(await pathExists(ws.mirrorPath))) throw new WorkspaceLostError(`the worktree ${ws.path} is gone from host ${ws.host?.id ?? '?'}`);
    throw new GitInputError(`no worktree is registered at ${ws.path}`);
  }
  return { adminDir, args: worktreeArgs(adminDir, ws.path) };
}

export function assertWorkspacePaths(layout: WorkspaceLayout, ws: Pick<WorkspaceInfo, 'path' | 'mirrorPath'>): void {
  assertInside(layout.worktreesDir, ws.path);
  assertInside(layout.mirrorsDir, ws.mirrorPath);
  if (path.dirname(path.resolve(ws.path)) !== layout.worktreesDir) throw new PathOutsideWorkspaceError('worktree path must be <root>/worktrees/<agentId>');
  if (path.dirname(path.resolve(ws.mirrorPath)) !== layout.mirrorsDir || !ws.mirrorPath.endsWith('.git')) {
    throw new PathOutsideWorkspaceError('mirror path must be <root>/mirrors/<hash>.git');
  }
}

/**
 * A directory with no worktree registration (a crash mid-add, an agent that broke its `.git`) is
 * moved aside, not deleted here; the reaper removes it once its run is closed (orphaned.ts).
 */
export async function moveAside(ctx: GitContext, dir: string): Promise<string> {
  await mkdir(ctx.layout.orphanedDir, { recursive: true });
  const target = orphanedPathFor(ctx.layout, dir);
  await rename(dir, target);
  ctx.log('git: unregistered directory moved aside', { from: dir, to: target });
  return target;
}


async function pathExists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Copies an index file keeping its modification time. Git trusts a cached entry only when the
 * file changed before the index was written; a copy with a new mtime would hide an edit made in
 * the same second as the checkout (same size, same mtime), and that change would be lost.
 */
export async function copyIndexFile(from: string, to: string): Promise<void> {
  await copyFile(from, to);
  const { atime, mtime } = await stat(from);
  await utimes(to, atime, mtime);
}
