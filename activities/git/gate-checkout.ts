/**
 * Clean checkouts for gates: the agent's work as git has it (the staged tree before a commit, the
 * commit after), written by git from the object store into `<root>/gate-checkouts/<agentId>`,
 * never the agent's worktree with whatever it left there (ignored files, a pre-made coverage
 * summary, a tampered node_modules, processes still running).
 *
 * Files the gates must not take from the agent are replaced in the checkout's index before any
 * file is written (`overrides`), and paths that must not pre-exist are dropped (`remove`): no
 * agent-written file is ever opened on the host, so a link or a FIFO in the tree changes nothing.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { WorkspaceInfo } from '../../domain/agent';
import type { GitContext, OperationOptions } from './context';
import { stageAll } from './changes';
import { GitCommandFailedError } from './errors';
import { assertInside, makeTraversable } from './paths';
import { removeTree } from '../host/remove-tree';
import { assertAgentId } from './validate';
import { openWorkspace } from './worktree-admin';

const OBJECT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export function gateCheckoutPathFor(ctx: GitContext, agentId: string): string {
  assertAgentId(agentId);
  return assertInside(path.join(ctx.layout.root, 'gate-checkouts'), path.join(ctx.layout.root, 'gate-checkouts', agentId));
}

/** Stages the worktree and returns the staged tree; `refused` when it holds nested repositories. */
export async function stagedTree(ctx: GitContext, ws: WorkspaceInfo, options: OperationOptions = {}): Promise<{ tree: string } | { refused: string }> {
  const wt = await openWorkspace(ctx.layout, ws);
  const staged = await stageAll(ctx, ws, options);
  if (staged.refused) return { refused: staged.refused };
  const tree = (await ctx.git([...wt.args, 'write-tree'], options)).stdout.trim();
  // The commit of this tree after the gates (scanTree) then finds it staged already.
  await ctx.indexTrees.remember(path.join(wt.adminDir, 'index'), tree);
  return { tree };
}

export interface CheckoutOptions extends OperationOptions {
  /** Paths whose content is replaced (a regular file, mode 644) whatever the tree has there. */
  overrides?: Readonly<Record<string, string>>;
  /** Paths dropped from the checkout if the tree has them. */
  remove?: readonly string[];
}

/** Writes `treeish` (a tree or commit of the agent's mirror) into a fresh gate checkout; returns its path. */
export async function checkoutForGates(
  ctx: GitContext,
  ws: Pick<WorkspaceInfo, 'mirrorPath'>,
  agentId: string,
  treeish: string,
  options: CheckoutOptions = {},
): Promise<string> {
  assertInside(ctx.layout.mirrorsDir, ws.mirrorPath);
  if (!OBJECT_ID.test(treeish)) throw new Error(`not an object id: ${treeish}`);
  const dir = gateCheckoutPathFor(ctx, agentId);
  // The gates ran the agent's code in the last checkout: it may have left any tree there.
  await removeTree(dir);
  await makeTraversable(path.dirname(dir));
  await mkdir(dir);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'gate-index-'));
  try {
    const env = { GIT_INDEX_FILE: path.join(scratch, 'index') };
    const git = (args: string[], input?: string) =>
      ctx.git([`--git-dir=${ws.mirrorPath}`, `--work-tree=${dir}`, ...args], { ...options, env, input });
    await git(['read-tree', treeish]);
    // Every override and removal in two git processes, whatever their number: the contents are
    // hashed from scratch files of ours (as stored, no filters), then one update-index applies all.
    const overrides = Object.entries(options.overrides ?? {});
    const sources = overrides.map((_, i) => path.join(scratch, `override-${i}`));
    await Promise.all(overrides.map(([, content], i) => writeFile(sources[i]!, content)));
    const oids = overrides.length ? (await git(['hash-object', '-w', '--no-filters', '--stdin-paths'], `${sources.join('\n')}\n`)).stdout.split('\n') : [];
    const cacheinfo = overrides.flatMap(([file], i) => {
      const oid = oids[i] ?? '';
      if (!OBJECT_ID.test(oid)) throw new GitCommandFailedError(`git hash-object gave no object id for ${file}`, 'hash-object', 0);
      return ['--cacheinfo', `100644,${oid},${file}`];
    });
    const removals = options.remove?.length ? ['--force-remove', '--', ...options.remove] : [];
    if (cacheinfo.length || removals.length) await git(['update-index', '--add', ...cacheinfo, ...removals]);
    await git(['checkout-index', '--all', '--force']);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return dir;
}

/** Removes the checkout with whatever the gates left in it (removeTree: any depth, any mode, no link followed). */
export async function removeGateCheckout(ctx: GitContext, agentId: string): Promise<void> {
  await removeTree(gateCheckoutPathFor(ctx, agentId));
}

/** Gate checkouts of agents whose workflow is closed (a worker crashed mid-gate); returns how many were removed. */
export async function reapGateCheckouts(ctx: GitContext, isClosed: (agentId: string) => Promise<boolean>): Promise<number> {
  const dir = path.join(ctx.layout.root, 'gate-checkouts');
  let removed = 0;
  for (const agentId of await readdir(dir).catch(() => [] as string[])) {
    try {
      if (!(await isClosed(agentId))) continue;
      await removeGateCheckout(ctx, agentId);
      removed++;
    } catch (err) {
      ctx.log('git: reaping a gate checkout failed', { agentId, error: (err as Error).message });
    }
  }
  return removed;
}
