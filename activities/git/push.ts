/**
 * Publishes agent work. Only `refs/heads/agent/...` (and salvage refs) ever leave the mirror,
 * with --force-with-lease against the last state we saw of the remote branch, so a branch
 * someone else moved is not overwritten. Credentials come from networkAccess, never a URL.
 */
import type { WorkspaceInfo } from '../../domain/agent';
import type { GitContext, OperationOptions } from './context';
import { networkAccess } from './credentials';
import { AGENT_TRAILER, trailerOf } from './changes';
import { fetchBranch, mirrorRemoteUrl, resolveCommits } from './mirror';
import { GitAbortedError } from './errors';
import { cancelledByWorkflow } from '../operation';
import { onRemote } from './remote-errors';
import { removeStaleGitLocks, withRepoLock } from './repo-lock';
import { assertAgentBranch } from './validate';
import { openWorkspace } from './worktree-admin';

export interface PushResult {
  pushed: boolean;
  remoteRef: string;
  commitSha?: string;
  /** Why nothing was pushed, when `pushed` is false. */
  skipped?: string;
}

export interface PushOptions extends OperationOptions {
  /**
   * Whether this host may replace a remote tip that is a commit of the same agent (`agentId`):
   * only the host a rebuild moved the agent to, never the host it left. Absent: never.
   */
  mayReplaceOwn?: (agentId: string) => Promise<boolean>;
}

export async function pushAgentBranch(ctx: GitContext, ws: WorkspaceInfo, { mayReplaceOwn, ...options }: PushOptions = {}): Promise<PushResult> {
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
  const onWire = graceAfterAbort(options.signal, PUSH_GRACE_AFTER_ABORT_MS);
  try {
    await pushRefspec(ctx, ws.mirrorPath, `${ref}:${ref}`, [`--force-with-lease=${ref}:${expected}`], { ...options, signal: onWire.signal });
  } catch (err) {
    // A push cut by a kill may have landed: the remote is asked anyway, or the run would end
    // `killed` with its branch delivered.
    const ask = err instanceof GitAbortedError ? { onProgress: options.onProgress, signal: AbortSignal.timeout(LANDED_CHECK_MS) } : options;
    const remote = localSha ? await remoteSha(ctx, ws.mirrorPath, ref, ask).catch(() => undefined) : undefined;
    // A retried activity whose first push landed, or a push a kill cut after it landed: the remote already has exactly our commit.
    if (remote && remote === localSha) return { pushed: true, remoteRef: ref, commitSha: localSha };
    // A host the agent left (cut off, not dead) pushed its commit of the agent after this host
    // last fetched: that is the run's older work, so ours replaces it, leased on it. The host left
    // behind never replaces the new host's push (mayReplaceOwn: the rebuild's claim is not its).
    if (remote && localSha && mayReplaceOwn && (await isOwnCommit(ctx, ws, localSha, remote, mayReplaceOwn, options))) {
      await pushRefspec(ctx, ws.mirrorPath, `${ref}:${ref}`, [`--force-with-lease=${ref}:${remote}`], options);
      ctx.log('git: pushed over a lost host\'s commit of the agent', { event: 'push', branch: ws.branch, commitSha: localSha, replaced: remote });
      return { pushed: true, remoteRef: ref, commitSha: localSha };
    }
    throw err;
  } finally {
    onWire.release();
  }
  ctx.log('git: pushed', { event: 'push', branch: ws.branch, commitSha: localSha });
  return { pushed: true, remoteRef: ref, commitSha: localSha };
}

/** Whether this host may replace, and the remote's `remoteTip` of the agent branch is, a commit of the same agent as `localSha` (its Agent-Id trailer), fetched to read it. */
async function isOwnCommit(
  ctx: GitContext,
  ws: WorkspaceInfo,
  localSha: string,
  remoteTip: string,
  mayReplaceOwn: (agentId: string) => Promise<boolean>,
  options: OperationOptions,
): Promise<boolean> {
  const mirror = ['-C', ws.mirrorPath];
  const agentId = await trailerOf(ctx, mirror, localSha, AGENT_TRAILER);
  if (!agentId || !(await mayReplaceOwn(agentId))) return false;
  await withRepoLock(
    ws.mirrorPath,
    async () => {
      await removeStaleGitLocks(ws.mirrorPath);
      await fetchBranch(ctx, ws.mirrorPath, ws.branch, options);
    },
    { signal: options.signal, onProgress: options.onProgress, log: ctx.log },
  );
  // Moved again since ls-remote: the lease below would refuse it anyway; refuse it here.
  const [fetched] = await resolveCommits(ctx, ws.mirrorPath, [`refs/remotes/origin/${ws.branch}`]);
  return fetched === remoteTip && (await trailerOf(ctx, mirror, remoteTip, AGENT_TRAILER)) === agentId;
}

/**
 * A push that is on the wire when the run's workflow cancels the activity (a kill) is given this
 * long to finish before it is cut: cut, the remote may have taken it anyway (the ref is updated
 * before git reports back), and only asking it tells. Any other cancellation cuts it at once: a
 * terminated run (a forced kill) has recorded `killed`, and nothing would record the push.
 */
const PUSH_GRACE_AFTER_ABORT_MS = 10_000;
/** How long the remote is asked whether a cut push landed. */
const LANDED_CHECK_MS = 10_000;

/**
 * A signal that follows `signal`, `graceMs` late when the workflow cancelled; one already aborted
 * is returned as is, so a push never starts after a kill. `release` drops the listener once the push is over.
 */
function graceAfterAbort(signal: AbortSignal | undefined, graceMs: number): { signal: AbortSignal | undefined; release: () => void } {
  if (!signal || signal.aborted) return { signal, release: () => undefined };
  const late = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    if (cancelledByWorkflow(signal)) timer = setTimeout(() => late.abort(signal.reason), graceMs);
    else late.abort(signal.reason);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return {
    signal: late.signal,
    release: () => {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(timer);
    },
  };
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
