/**
 * A new repository has nothing to start from: no branch at all, or only the agent branches earlier
 * agents pushed to it. Agents on it start from a fixed empty root commit instead of failing for a
 * base branch that does not exist yet. The commit is the same bytes on every host (fixed identity,
 * date and message), so a workspace rebuilt elsewhere finds the same base, and the pushed agent
 * branch has it as its root.
 */
import type { GitContext, OperationOptions } from './context';

const AGENT_BRANCHES = 'refs/remotes/origin/agent/';

/** A branch of the kind agents push (`agent/...`): a repository holding only these is still new. */
export function isAgentBranch(branch: string): boolean {
  return branch.startsWith('agent/');
}

function commitText(tree: string): string {
  const who = 'orchestrator <orchestrator@localhost> 0 +0000';
  return `tree ${tree}\nauthor ${who}\ncommitter ${who}\n\nEmpty repository: the root of the first agent branches\n`;
}

/** Writes the empty base into `repoPath` (a no-op when it is there) and returns its id. */
export async function emptyBaseCommit(ctx: GitContext, repoPath: string, options: OperationOptions = {}): Promise<string> {
  const write = async (type: string, input: string) =>
    (await ctx.git(['-C', repoPath, 'hash-object', '-t', type, '-w', '--stdin'], { ...options, input })).stdout.trim();
  return write('commit', commitText(await write('tree', '')));
}

/**
 * The remote's branches other than agent branches, as the mirror's last fetch found them (short
 * names, sorted): none means the repository is still new.
 */
export async function remoteBaseBranches(ctx: GitContext, mirrorPath: string, options: OperationOptions = {}): Promise<string[]> {
  const { stdout } = await ctx.git(['-C', mirrorPath, 'for-each-ref', '--format=%(refname)', 'refs/remotes/origin/'], options);
  return stdout
    .split('\n')
    .filter((ref) => ref && !ref.startsWith(AGENT_BRANCHES) && ref !== 'refs/remotes/origin/HEAD')
    .map((ref) => ref.slice('refs/remotes/origin/'.length))
    .sort();
}

/** True when the mirror's last fetch found no branch on the remote but agent branches. */
export async function remoteHasOnlyAgentBranches(ctx: GitContext, mirrorPath: string, options: OperationOptions = {}): Promise<boolean> {
  return (await remoteBaseBranches(ctx, mirrorPath, options)).length === 0;
}
