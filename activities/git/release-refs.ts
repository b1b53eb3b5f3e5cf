/**
 * Deletes the refs an agent left in its host's mirror once its worktree is gone for good (the run's
 * cleanup, the reaper for a closed run): its base marker, its local branch and a published salvage
 * ref. Left there, every agent a host ever ran costs every later fetch, worktree add and ref walk
 * of the mirror. Only what is no sole copy of work goes: a branch whose commit the remote does not
 * have (push disabled, or refused), with its marker, and a salvage ref this removal did not publish
 * stay. Objects stay too (gc.auto=0): a rebuild at the same base commit needs no ref of them.
 */
import path from 'node:path';
import type { GitContext, OperationOptions } from './context';
import { worktreePathFor } from './paths';
import { withRepoLock } from './repo-lock';
import { salvageRefFor } from './salvage';
import { assertAgentId } from './validate';
import { findAdminDir } from './worktree-admin';

export interface ReleaseRequest {
  agentId: string;
  /** The agent's branch (`agent/<taskId>/<agentId8>`); unknown: the branch and its marker stay. */
  branch?: string;
  /** The salvage commit this removal published to the remote: the only salvage that may go. */
  publishedSalvage?: string;
}

/** Returns the refs deleted. A ref that moved since it was read is not deleted: the transaction fails, and the cleanup's retry (or the next reaper pass) judges the refs again. */
export async function releaseAgentRefs(ctx: GitContext, mirrorPath: string, req: ReleaseRequest, options: OperationOptions = {}): Promise<string[]> {
  assertAgentId(req.agentId);
  const branch = req.branch !== undefined && isAgentsBranch(req.branch, req.agentId) ? req.branch : undefined;
  // Under the lock a prepare holds while it adds a worktree and marks its base: a rebuild of the
  // same agent on this host is either over (its worktree is registered, and nothing goes) or not begun.
  return withRepoLock(
    mirrorPath,
    async () => {
      if (await findAdminDir(mirrorPath, worktreePathFor(ctx.layout, req.agentId))) return [];
      const marker = `refs/agents/${req.agentId}/base`;
      const salvage = salvageRefFor(req.agentId);
      const local = branch && `refs/heads/${branch}`;
      const tracking = branch && `refs/remotes/origin/${branch}`;
      const patterns = [marker, salvage, ...(local && tracking ? [local, tracking] : [])];
      const { stdout } = await ctx.git(['-C', mirrorPath, 'for-each-ref', '--format=%(objectname) %(refname)', '--', ...patterns], options);
      const oids = new Map(
        stdout
          .split('\n')
          .filter(Boolean)
          .map((line) => [line.slice(line.indexOf(' ') + 1), line.slice(0, line.indexOf(' '))] as const),
      );
      const doomed: [string, string][] = [];
      const branchTip = local ? oids.get(local) : undefined;
      // The remote-tracking ref is what our push left (a push updates it) or the last fetch saw.
      const branchGoes = local !== undefined && (branchTip === undefined || branchTip === oids.get(marker) || (ctx.deps.pushEnabled && branchTip === oids.get(tracking!)));
      if (local && branchTip && branchGoes) doomed.push([local, branchTip]);
      // The marker without its branch is harmless; the branch without its marker would be refused
      // as another agent's by a rebuild on this host, so the marker stays while the branch does.
      const markerTip = oids.get(marker);
      if (markerTip && branchGoes) doomed.push([marker, markerTip]);
      const salvageTip = oids.get(salvage);
      if (salvageTip && salvageTip === req.publishedSalvage) doomed.push([salvage, salvageTip]);
      if (doomed.length === 0) return [];
      const input = doomed.map(([ref, oid]) => `delete ${ref} ${oid}\n`).join('');
      await ctx.git(['-C', mirrorPath, 'update-ref', '--stdin'], { ...options, input });
      const deleted = doomed.map(([ref]) => ref);
      ctx.log('git: agent refs deleted from the mirror', { event: 'refs-release', agentId: req.agentId, mirrorPath: path.basename(mirrorPath), deleted });
      return deleted;
    },
    { signal: options.signal, onProgress: options.onProgress, log: ctx.log },
  );
}

/** `agent/<taskId>/<agentId8>` of this agent: the name a worktree's HEAD or a workflow's record gives is not trusted further. */
function isAgentsBranch(branch: string, agentId: string): boolean {
  const parts = branch.split('/');
  return parts.length === 3 && parts[0] === 'agent' && parts[1] !== '' && parts[2] === agentId.slice(0, 8);
}
