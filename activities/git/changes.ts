/**
 * The agent's changes inside its worktree: stage, show the staged diff (input to the secret
 * scanner), commit as the configured author, and diff the branch against its base (input to
 * the AI review). Hooks never run (run-git disables them) and signing is off.
 */
import type { WorkspaceInfo } from '../../domain/agent';
import { authorEnv, type GitContext, type OperationOptions } from './context';
import { GitInputError } from './errors';
import { openWorkspace } from './worktree-admin';

export type CommitResult = { commitSha: string; nothingToCommit?: undefined } | { nothingToCommit: true; commitSha?: undefined };

const DIFF_FLAGS = ['--no-color', '--no-ext-diff', '--no-textconv'];

export async function stageAll(ctx: GitContext, ws: WorkspaceInfo, options: OperationOptions = {}): Promise<void> {
  const wt = await openWorkspace(ctx.layout, ws);
  await ctx.git([...wt.args, 'add', '--all'], { ...options, cwd: ws.path });
}

/** `git diff --cached -U0`: the lines about to be committed, whole (a cut diff could hide a secret). */
export async function stagedDiff(ctx: GitContext, ws: WorkspaceInfo, options: OperationOptions = {}): Promise<string> {
  const wt = await openWorkspace(ctx.layout, ws);
  const { stdout } = await ctx.git([...wt.args, 'diff', '--cached', '-U0', ...DIFF_FLAGS], { ...options, cwd: ws.path });
  return stdout;
}

/** Commits what is staged; an empty index is a result, not an error. */
export async function commit(ctx: GitContext, ws: WorkspaceInfo, message: string, options: OperationOptions = {}): Promise<CommitResult> {
  if (typeof message !== 'string' || message.trim() === '') throw new GitInputError('commit message must not be empty');
  const wt = await openWorkspace(ctx.layout, ws);
  const staged = await ctx.git([...wt.args, 'diff', '--cached', '--quiet'], { ...options, cwd: ws.path, okExitCodes: [0, 1] });
  if (staged.exitCode === 0) return { nothingToCommit: true };
  // The message goes through stdin: no argv limit, and nothing in it is read as an option.
  await ctx.git([...wt.args, 'commit', '--quiet', '--no-verify', '--no-gpg-sign', '--cleanup=whitespace', '--file=-'], {
    ...options,
    cwd: ws.path,
    input: message,
    env: authorEnv(ctx.deps.author),
  });
  return { commitSha: await headSha(ctx, ws) };
}

export async function headSha(ctx: GitContext, ws: WorkspaceInfo): Promise<string> {
  const wt = await openWorkspace(ctx.layout, ws);
  const { stdout } = await ctx.git([...wt.args, 'rev-parse', '--verify', 'HEAD^{commit}'], { cwd: ws.path });
  return stdout.trim();
}

/** Everything the agent branch adds since it forked from `origin/<base>` (three-dot diff). */
export async function diffAgainstBase(ctx: GitContext, ws: WorkspaceInfo, options: OperationOptions = {}): Promise<string> {
  const wt = await openWorkspace(ctx.layout, ws);
  const { stdout } = await ctx.git(
    [...wt.args, 'diff', ...DIFF_FLAGS, `refs/remotes/origin/${ws.baseBranch}...refs/heads/${ws.branch}`, '--'],
    { ...options, cwd: ws.path },
  );
  return stdout;
}

/** True when the worktree has staged, unstaged or untracked (not ignored) changes. */
export async function hasUncommittedChanges(ctx: GitContext, adminArgs: string[], worktreePath: string, options: OperationOptions = {}): Promise<boolean> {
  const { stdout } = await ctx.git([...adminArgs, 'status', '--porcelain', '-z', '--untracked-files=all'], { ...options, cwd: worktreePath });
  return stdout.length > 0;
}
