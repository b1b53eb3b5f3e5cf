/**
 * Does the agent branch still merge cleanly into its target? Fetch the target into the
 * mirror, then let `git merge-tree --write-tree` do the merge in the object store only: no
 * worktree, index or ref changes, and exit code 1 with the conflicting paths when it fails.
 */
import type { WorkspaceInfo } from '../../domain/agent';
import type { GitContext, OperationOptions } from './context';
import { GitCommandFailedError } from './errors';
import { fetchBranch } from './mirror';
import { removeStaleGitLocks, withRepoLock } from './repo-lock';
import { openWorkspace } from './worktree-admin';

export type MergeCheck = { clean: true } | { clean: false; conflicts: string[] };

export async function checkMergeable(ctx: GitContext, ws: WorkspaceInfo, options: OperationOptions = {}): Promise<MergeCheck> {
  await openWorkspace(ctx.layout, ws);
  const requestedAt = Date.now();
  await withRepoLock(
    ws.mirrorPath,
    async () => {
      await removeStaleGitLocks(ws.mirrorPath);
      // Agents finishing together queue on this lock: a fetch of the target (or of the whole
      // mirror) that started after this check was asked for has brought the target as it is now.
      const targetKey = `${ws.mirrorPath}#${ws.baseBranch}`;
      if (Math.max(ctx.fetchStartedAt.get(ws.mirrorPath) ?? -1, ctx.fetchStartedAt.get(targetKey) ?? -1) > requestedAt) return;
      const startedAt = Date.now();
      await fetchBranch(ctx, ws.mirrorPath, ws.baseBranch, options);
      ctx.fetchStartedAt.set(targetKey, startedAt);
      ctx.log('git: target fetched', { event: 'fetch-target', mirrorPath: ws.mirrorPath, branch: ws.baseBranch });
    },
    { signal: options.signal, onProgress: options.onProgress, log: ctx.log },
  );
  const { stdout, exitCode } = await ctx.git(
    [
      '-C', ws.mirrorPath,
      'merge-tree', '-z', '--write-tree', '--name-only', '--no-messages',
      '--', `refs/remotes/origin/${ws.baseBranch}`, `refs/heads/${ws.branch}`,
    ],
    { ...options, okExitCodes: [0, 1] },
  );
  if (exitCode === 0) return { clean: true };
  const conflicts = parseConflictedPaths(stdout);
  if (conflicts.length === 0) throw new GitCommandFailedError('git merge-tree reported a conflict without paths', 'merge-tree', exitCode);
  return { clean: false, conflicts };
}

/** `-z --name-only` output: tree oid NUL, then one conflicted path per NUL, ended by an empty field. */
export function parseConflictedPaths(output: string): string[] {
  const fields = output.split('\0').slice(1);
  const end = fields.indexOf('');
  return [...new Set(end === -1 ? fields : fields.slice(0, end))];
}
