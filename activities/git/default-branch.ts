/**
 * The remote's default branch: the branch its HEAD names, asked of the remote itself. The mirror
 * cannot say: it is made with `init --bare` and a fetch (mirror.ts), so its own HEAD is whatever
 * `init` chose on this host, and git 2.39 fetches no `refs/remotes/origin/HEAD`.
 */
import type { WorkspaceInfo } from '../../domain/agent';
import { validateBranchName } from '../../domain/git-input';
import type { GitContext, OperationOptions } from './context';
import { networkAccess } from './credentials';
import { mirrorRemoteUrl } from './mirror';
import { onRemote } from './remote-errors';

/** The short name origin's HEAD points at; undefined when the remote names none (an unborn HEAD, a dumb server). */
export async function remoteDefaultBranch(ctx: GitContext, ws: Pick<WorkspaceInfo, 'mirrorPath'>, options: OperationOptions = {}): Promise<string | undefined> {
  const url = await mirrorRemoteUrl(ctx, ws.mirrorPath);
  const net = networkAccess(url, ctx.deps.allowedSchemes, ctx.deps.credentials);
  const { stdout } = await onRemote(url, () => ctx.git(['-C', ws.mirrorPath, ...net.args, 'ls-remote', '--symref', '--', 'origin', 'HEAD'], { ...options, env: net.env }));
  const target = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(stdout)?.[1];
  return target !== undefined && validateBranchName(target).ok ? target : undefined;
}
