/**
 * Publishes agent work. Only `refs/heads/agent/...` (and salvage refs) ever leave the mirror,
 * with --force-with-lease against the last state we saw of the remote branch, so a branch
 * someone else moved is not overwritten. Credentials come from networkAccess, never a URL.
 */
import type { WorkspaceInfo } from '../../domain/agent';
import type { GitContext, OperationOptions } from './context';
import { networkAccess } from './credentials';
import { mirrorRemoteUrl, resolveCommits } from './mirror';
import { onRemote } from './remote-errors';
import { assertAgentBranch } from './validate';
import { openWorkspace } from './worktree-admin';

export interface PushResult {
  pushed: boolean;
  remoteRef: string;
  commitSha?: string;
  /** Why nothing was pushed, when `pushed` is false. */
  skipped?: string;
}

export async function pushAgentBranch(ctx: GitContext, ws: WorkspaceInfo, options: OperationOptions = {}): Promise<PushResult> {
  assertAgentBranch(ws.branch, ws.baseBranch);
  await openWorkspace(ctx.layout, ws);
  const ref = `refs/heads/${ws.branch}`;
  if (!ctx.deps.pushEnabled) {
    ctx.log('git: push disabled, branch kept in the mirror', { branch: ws.branch });
    return { pushed: false, remoteRef: ref, skipped: 'push disabled (GIT_PUSH_ENABLED=false)' };
  }
  // The branch, and what we last saw of it on the remote (none: it must not exist there yet).
  const [localSha, lastSeen] = await resolveCommits(ctx, ws.mirrorPath, [ref, `refs/remotes/origin/${ws.branch}`]);
  const expected = lastSeen ?? '';
  try {
    await pushRefspec(ctx, ws.mirrorPath, `${ref}:${ref}`, [`--force-with-lease=${ref}:${expected}`], options);
  } catch (err) {
    // A retried activity whose first push landed: the remote already has exactly our commit.
    if (localSha && (await remoteSha(ctx, ws.mirrorPath, ref, options).catch(() => undefined)) === localSha) {
      return { pushed: true, remoteRef: ref, commitSha: localSha };
    }
    throw err;
  }
  ctx.log('git: pushed', { event: 'push', branch: ws.branch, commitSha: localSha });
  return { pushed: true, remoteRef: ref, commitSha: localSha };
}

/** `git push origin <refspec>` from the mirror with the configured credentials. */
export async function pushRefspec(ctx: GitContext, mirrorPath: string, refspec: string, flags: string[], options: OperationOptions): Promise<void> {
  const url = await mirrorRemoteUrl(ctx, mirrorPath);
  const net = networkAccess(url, ctx.deps.allowedSchemes, ctx.deps.credentials);
  await onRemote(url, () =>
    ctx.git(['-C', mirrorPath, ...net.args, 'push', '--quiet', '--no-verify', ...flags, '--', 'origin', refspec], {
      ...options,
      env: net.env,
    }),
  );
}

/** The commit `ref` names on the remote now (ls-remote: nothing written here), or undefined when it does not exist. */
export async function remoteSha(ctx: GitContext, mirrorPath: string, ref: string, options: OperationOptions): Promise<string | undefined> {
  const url = await mirrorRemoteUrl(ctx, mirrorPath);
  const net = networkAccess(url, ctx.deps.allowedSchemes, ctx.deps.credentials);
  const { stdout } = await onRemote(url, () => ctx.git(['-C', mirrorPath, ...net.args, 'ls-remote', '--', 'origin', ref], { ...options, env: net.env }));
  const line = stdout.split('\n').find((l) => l.endsWith(`\t${ref}`));
  return line?.split('\t')[0];
}
