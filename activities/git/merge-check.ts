/**
 * Does the agent branch still merge cleanly into its target? Ask the remote for the target's tip
 * (ls-remote writes nothing, so agents finishing together need no lock for it), fetch it into the
 * mirror only when this host does not have that commit yet (usually it has: the prepare or another
 * agent's check fetched it), then let `git merge-tree --write-tree` do the merge in the object
 * store only: no worktree, index or ref changes, and exit code 1 with the conflicting paths.
 */
import type { WorkspaceInfo } from '../../domain/agent';
import { plainText } from '../../domain/plain-text';
import { redactSecrets } from '../../scanner';
import type { GitContext, OperationOptions } from './context';
import { BranchNotFoundError, GitCommandFailedError } from './errors';
import { fetchBranch, mirrorRemoteUrl, resolveCommit, resolveCommits } from './mirror';
import { remoteSha } from './push';
import { removeStaleGitLocks, withRepoLock } from './repo-lock';
import { openWorkspace } from './worktree-admin';

export type MergeCheck = { clean: true } | { clean: false; conflicts: string[] };

export async function checkMergeable(ctx: GitContext, ws: WorkspaceInfo, options: OperationOptions = {}): Promise<MergeCheck> {
  await openWorkspace(ctx.layout, ws);
  const target = await remoteSha(ctx, ws.mirrorPath, `refs/heads/${ws.baseBranch}`, options);
  // Started in a repository with no branch yet, and still none: nothing to merge into.
  if (!target && ws.emptyBase) return { clean: true };
  if (!target) throw new BranchNotFoundError(`base branch "${ws.baseBranch}" does not exist in ${await mirrorRemoteUrl(ctx, ws.mirrorPath)}`);
  // The base the worktree was made from is in the mirror (its marker ref keeps it): no need to look.
  const present = target === ws.baseSha || (await resolveCommit(ctx, ws.mirrorPath, target)) === target;
  let against: string | undefined = target;
  if (!present) {
    await withRepoLock(
      ws.mirrorPath,
      async () => {
        await removeStaleGitLocks(ws.mirrorPath);
        await fetchBranch(ctx, ws.mirrorPath, ws.baseBranch, options);
        ctx.log('git: target fetched', { event: 'fetch-target', mirrorPath: ws.mirrorPath, branch: ws.baseBranch });
      },
      { signal: options.signal, onProgress: options.onProgress, log: ctx.log },
    );
    // Force-pushed away between ls-remote and the fetch: check against what the fetch brought.
    const [fetched, tracking] = await resolveCommits(ctx, ws.mirrorPath, [target, `refs/remotes/origin/${ws.baseBranch}`]);
    against = fetched ?? tracking;
  }
  if (!against) throw new BranchNotFoundError(`base branch "${ws.baseBranch}" could not be fetched from ${await mirrorRemoteUrl(ctx, ws.mirrorPath)}`);
  const { stdout, exitCode } = await ctx.git(
    [
      '-C', ws.mirrorPath,
      'merge-tree', '-z', '--write-tree', '--name-only', '--no-messages',
      // From the empty base, a base branch pushed since shares no history: merged from an empty tree, what both add conflicts.
      ...(ws.emptyBase ? ['--allow-unrelated-histories'] : []),
      '--', against, `refs/heads/${ws.branch}`,
    ],
    { ...options, okExitCodes: [0, 1] },
  );
  if (exitCode === 0) return { clean: true };
  const conflicts = parseConflictedPaths(stdout);
  if (conflicts.length === 0) throw new GitCommandFailedError('git merge-tree reported a conflict without paths', 'merge-tree', exitCode);
  // The paths go into the run's history, failure, status and events, and a repository's names
  // (the agent's, the target's) can hold a secret: redacted, made plain first.
  return { clean: false, conflicts: conflicts.map((p) => redactSecrets(plainText(p))) };
}

/** `-z --name-only` output: tree oid NUL, then one conflicted path per NUL, ended by an empty field. */
export function parseConflictedPaths(output: string): string[] {
  const fields = output.split('\0').slice(1);
  const end = fields.indexOf('');
  return [...new Set(end === -1 ? fields : fields.slice(0, end))];
}
