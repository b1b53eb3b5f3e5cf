/**
 * Clean checkouts for gates: the agent's work as git has it (the staged tree before a commit, the
 * commit after), written by git from the object store into `<root>/gate-checkouts/<agentId>`,
 * never the agent's worktree with whatever it left there (ignored files, a pre-made coverage
 * summary, a tampered node_modules, processes still running).
 *
 * Files the gates must not take from the agent are replaced in the checkout's index before any
 * file is written (`overrides`, or `fromCommit` for whole paths as the base commit has them), and
 * paths that must not pre-exist are dropped (`remove`): no agent-written file is ever opened on the
 * host, so a link or a FIFO in the tree changes nothing.
 *
 * The gates share the checkout and run the project's own code (an eslint config, a test setup),
 * which may rewrite it for the next gate: the checkout's index is kept until the checkout is
 * removed, so `restore()` can put those same paths back as the checkout first had them.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { WorkspaceInfo } from '../../domain/agent';
import type { GitContext, OperationOptions } from './context';
import { stageAll } from './changes';
import { GitCommandFailedError } from './errors';
import { removeGitBlockers } from './inspect-tree';
import { assertInside, makeTraversable } from './paths';
import { removeTree } from '../host/remove-tree';
import { atPath, lstatAt, mkdirAt, openDirAt, openRoot, relativeSegments } from '../tools/safe-fs';
import { isRegularFile, parseTreeListing } from './read-blob';
import { assertAgentId } from './validate';
import { openWorkspace } from './worktree-admin';

const OBJECT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export function gateCheckoutPathFor(ctx: GitContext, agentId: string): string {
  assertAgentId(agentId);
  return assertInside(path.join(ctx.layout.root, 'gate-checkouts'), path.join(ctx.layout.root, 'gate-checkouts', agentId));
}

/** The checkout's index, outside the checkout (the gates never see it), removed with the checkout. */
function gateIndexPathFor(ctx: GitContext, agentId: string): string {
  assertAgentId(agentId);
  return assertInside(path.join(ctx.layout.root, 'gate-indexes'), path.join(ctx.layout.root, 'gate-indexes', agentId));
}

/** Stages the worktree and returns the staged tree; `refused` when stageAll refuses it. */
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
  /**
   * Paths (a file, or a directory and all below it) that hold what `commit` holds there instead of
   * what the tree does: its regular files with their modes (an executable stays one), or nothing
   * when it has none. A link or submodule of `commit` there is left out, as readAtBase refuses
   * one; the tree's entry at an ancestor (a link named `gradle` for `gradle/wrapper`) is dropped.
   */
  fromCommit?: { commit: string; paths: readonly string[] };
}

/** A line of `update-index --index-info`; mode 0 removes the path. */
interface IndexRecord {
  mode: string;
  oid: string;
  path: string;
}

type CheckoutGit = (args: string[], input?: string) => Promise<{ stdout: string }>;

export interface GateCheckout {
  dir: string;
  /**
   * Puts back what the checkout took from the base (`overrides`, `fromCommit` paths) and drops the
   * `remove` paths again, whatever an earlier gate left at them (a directory, a link to the host:
   * moved aside and removed, never followed). Returns the entries it wrote, relative to `dir`.
   */
  restore(): Promise<string[]>;
}

/** Writes `treeish` (a tree or commit of the agent's mirror) into a fresh gate checkout. */
export async function checkoutForGates(
  ctx: GitContext,
  ws: Pick<WorkspaceInfo, 'mirrorPath'>,
  agentId: string,
  treeish: string,
  options: CheckoutOptions = {},
): Promise<GateCheckout> {
  assertInside(ctx.layout.mirrorsDir, ws.mirrorPath);
  if (!OBJECT_ID.test(treeish)) throw new Error(`not an object id: ${treeish}`);
  if (options.fromCommit && !OBJECT_ID.test(options.fromCommit.commit)) throw new Error(`not an object id: ${options.fromCommit.commit}`);
  const dir = gateCheckoutPathFor(ctx, agentId);
  const index = gateIndexPathFor(ctx, agentId);
  // The gates ran the agent's code in the last checkout: it may have left any tree there.
  await removeTree(dir);
  await makeTraversable(path.dirname(dir));
  await mkdir(dir);
  await mkdir(path.dirname(index), { recursive: true, mode: 0o700 });
  // Literal pathspecs: a `remove` path from the base's gates.json is a name, never a glob.
  const env = { GIT_INDEX_FILE: index, GIT_LITERAL_PATHSPECS: '1' };
  const git: CheckoutGit = (args, input) => ctx.git([`--git-dir=${ws.mirrorPath}`, `--work-tree=${dir}`, ...args], { ...options, env, input });
  // Only the overrides' contents pass through here now: the index itself is gate-indexes/<agentId>.
  const scratch = await ctx.scratch.make(`${agentId}.gate-index`);
  try {
    await git(['read-tree', treeish]);
    // Every change to the index in one update-index, in this order (a later record of a path wins);
    // a handful of git processes whatever the number of paths.
    const removed = '0'.repeat(treeish.length);
    const records = [
      ...(await fromCommitRecords(git, treeish, removed, options.fromCommit)),
      ...(options.remove ?? []).map((file) => ({ mode: '0', oid: removed, path: file })),
      ...(await overrideRecords(git, scratch, options.overrides ?? {})),
    ];
    if (records.length) await git(['update-index', '-z', '--index-info'], records.map((r) => `${r.mode} ${r.oid}\t${r.path}\0`).join(''));
    await git(['checkout-index', '--all', '--force']);
  } finally {
    await ctx.scratch.release(scratch);
  }
  const paths = [...Object.keys(options.overrides ?? {}), ...(options.remove ?? []), ...(options.fromCommit?.paths ?? [])];
  return { dir, restore: () => restorePaths(git, dir, paths) };
}

/** Clears `paths` in the checkout, then has git write the index's files below them; returns the entries git created. */
async function restorePaths(git: CheckoutGit, dir: string, paths: readonly string[]): Promise<string[]> {
  if (!paths.length) return [];
  const root = await openRoot(dir);
  try {
    await clearPaths(root, dir, paths);
    const files = (await git(['ls-files', '-z', '--', ...paths])).stdout.split('\0').filter(Boolean);
    // checkout-index reads the .gitattributes of each directory above a file it writes, from the
    // checkout where the index has none: a FIFO a gate left under that name would block it.
    await removeGitBlockers(dir, attributesAbove(files));
    const created = new Set<string>();
    for (const file of files) {
      const missing = await firstMissing(root, relativeSegments(file));
      if (missing) created.add(missing);
    }
    if (files.length) await git(['checkout-index', '--force', '-z', '--stdin'], files.map((f) => `${f}\0`).join(''));
    return [...created];
  } finally {
    await root.close();
  }
}

/**
 * Moves whatever is at each path, or the first entry on its way that is not a directory (a link to
 * the host included), through directory descriptors into a fresh directory at the checkout root,
 * then removes that with removeTree: nothing is ever written or removed through a link.
 */
async function clearPaths(root: FileHandle, dir: string, paths: readonly string[]): Promise<void> {
  const aside = `.gate-aside-${randomBytes(8).toString('hex')}`;
  if (!(await mkdirAt(root, aside, aside, 0o700))) throw new Error(`${aside} exists already`);
  try {
    const bin = await openDirAt(root, aside);
    try {
      for (const [n, file] of paths.entries()) await moveAside(root, relativeSegments(file), atPath(bin, String(n)));
    } finally {
      await bin.close();
    }
  } finally {
    await removeTree(path.join(dir, aside));
  }
}

async function moveAside(root: FileHandle, segments: string[], to: string): Promise<void> {
  let parent = root;
  const opened: FileHandle[] = [];
  try {
    for (const [i, name] of segments.entries()) {
      const st = await lstatAt(parent, name);
      if (!st) return;
      if (i === segments.length - 1 || !st.isDirectory()) return await rename(atPath(parent, name), to);
      parent = await openDirAt(parent, name, segments.slice(0, i + 1).join('/'));
      opened.push(parent);
    }
  } finally {
    await Promise.all(opened.map((h) => h.close()));
  }
}

/** The first of the path's entries (from the root down) that does not exist, as a relative path. */
async function firstMissing(root: FileHandle, segments: string[]): Promise<string | undefined> {
  let parent = root;
  const opened: FileHandle[] = [];
  try {
    for (const [i, name] of segments.entries()) {
      if (!(await lstatAt(parent, name))) return segments.slice(0, i + 1).join('/');
      if (i === segments.length - 1) return undefined;
      parent = await openDirAt(parent, name, segments.slice(0, i + 1).join('/'));
      opened.push(parent);
    }
    return undefined;
  } finally {
    await Promise.all(opened.map((h) => h.close()));
  }
}

/** The tree's entries at the paths (and their ancestors) removed, then the commit's regular files there added. */
async function fromCommitRecords(git: CheckoutGit, treeish: string, removed: string, from: CheckoutOptions['fromCommit']): Promise<IndexRecord[]> {
  if (!from?.paths.length) return [];
  const ancestors = [...new Set(from.paths.flatMap(ancestorsOf))];
  const below = (file: string) => from.paths.some((p) => file === p || file.startsWith(`${p}/`));
  const list = async (commitish: string, paths: string[]) => parseTreeListing((await git(['ls-tree', '-r', '-z', '--full-tree', commitish, '--', ...paths])).stdout);
  const [ours, theirs] = await Promise.all([list(treeish, [...from.paths, ...ancestors]), list(from.commit, [...from.paths])]);
  const drop = [...ours.keys()].filter((file) => below(file) || ancestors.includes(file)).map((file) => ({ mode: '0', oid: removed, path: file }));
  const take = [...theirs].filter(([file, entry]) => below(file) && isRegularFile(entry)).map(([file, entry]) => ({ mode: entry.mode, oid: entry.oid, path: file }));
  return [...drop, ...take];
}

/** The `.gitattributes` git reads for each of `files`: at the root and in every directory above it. */
function attributesAbove(files: readonly string[]): string[] {
  const dirs = new Set(['', ...files.flatMap(ancestorsOf)]);
  return [...dirs].map((d) => (d ? `${d}/.gitattributes` : '.gitattributes'));
}

/** `a/b/c` -> `a`, `a/b`. */
function ancestorsOf(file: string): string[] {
  const parts = file.split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** The contents hashed from scratch files of ours (as stored, no filters), all in one git process. */
async function overrideRecords(git: CheckoutGit, scratch: string, overrides: Readonly<Record<string, string>>): Promise<IndexRecord[]> {
  const entries = Object.entries(overrides);
  if (!entries.length) return [];
  const sources = entries.map((_, i) => path.join(scratch, `override-${i}`));
  await Promise.all(entries.map(([, content], i) => writeFile(sources[i]!, content)));
  const oids = (await git(['hash-object', '-w', '--no-filters', '--stdin-paths'], `${sources.join('\n')}\n`)).stdout.split('\n');
  return entries.map(([file], i) => {
    const oid = oids[i] ?? '';
    if (!OBJECT_ID.test(oid)) throw new GitCommandFailedError(`git hash-object gave no object id for ${file}`, 'hash-object', 0);
    return { mode: '100644', oid, path: file };
  });
}

/** Removes the checkout with whatever the gates left in it (removeTree: any depth, any mode, no link followed), and its index. */
export async function removeGateCheckout(ctx: GitContext, agentId: string): Promise<void> {
  await rm(gateIndexPathFor(ctx, agentId), { force: true });
  await removeTree(gateCheckoutPathFor(ctx, agentId));
}

/** Gate checkouts of agents whose workflow is closed (a worker crashed mid-gate); returns how many were removed. */
export async function reapGateCheckouts(ctx: GitContext, isClosed: (agentId: string) => Promise<boolean>): Promise<number> {
  // An index whose checkout is gone (a crash between the two removals) is found through its own directory.
  const names = await Promise.all(['gate-checkouts', 'gate-indexes'].map((sub) => readdir(path.join(ctx.layout.root, sub)).catch(() => [] as string[])));
  let removed = 0;
  for (const agentId of new Set(names.flat())) {
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
