/**
 * The agent's changes inside its worktree: stage them (refusing nested repositories), scan what
 * the commit would add (blob by blob, see scan-changes.ts), commit as the configured author, and
 * diff the branch against its base (input to the AI review). Every command runs with the
 * worktree's admin directory from the mirror (never the worktree's own `.git`) and the
 * hardening of run-git; hooks never run and signing is off.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { WorkspaceInfo } from '../../domain/agent';
import { shortPath } from '../../domain/agent-events';
import { plainText } from '../../domain/plain-text';
import { redactSecrets, type Allowlist } from '../../scanner';
import { addAll, lockedOut, removeStaleLock } from './add-all';
import { authorEnv, type GitContext, type OperationOptions } from './context';
import { credentialSecrets } from './credentials';
import { emptyBaseCommit, isAgentBranch, remoteHasOnlyAgentBranches } from './empty-base';
import { GitCommandFailedError, GitInputError, WorktreeUnstageableError } from './errors';
import { inspectTree, removeGitBlockers } from './inspect-tree';
import { scrubbedTail } from './redact';
import { scanTreeChanges, type ChangeScan } from './scan-changes';
import { assertBranchName } from './validate';
import { openWorkspace } from './worktree-admin';

export type CommitResult =
  | { commitSha: string; nothingToCommit?: undefined; /** The commit existed already (a retried activity). */ reused?: boolean }
  | { nothingToCommit: true; commitSha?: undefined };

export interface StagedScan extends ChangeScan {
  /** The tree that was scanned; commit() can insist on committing exactly this. */
  tree: string;
  /** Why staging was refused (nested repositories, entries git refuses); `tree` is HEAD's then, whatever the index holds. */
  refused?: string;
}

/** Trailer that marks a commit as made by this service for an agent. */
export const AGENT_TRAILER = 'Agent-Id';
/** Largest blob the scan reads by default; larger ones block the commit. */
export const DEFAULT_SCAN_MAX_BLOB_BYTES = 64 * 1024 * 1024;

const OBJECT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const DIFF_FLAGS = ['--no-color', '--no-ext-diff', '--no-textconv', '--text', '--ignore-submodules=all'];

/**
 * `git add --all` in the worktree, after checking that no nested repository (a `.git` below the
 * root) is there: git would read it (and block on a FIFO planted as its HEAD); FIFOs named
 * `.gitignore` or `.gitattributes`, which git would block on too, are removed. Returns the reason
 * when staging is refused, for the agent: also when git refuses entries of the tree (add-all.ts;
 * the index then holds the rest, and no caller commits it).
 */
export async function stageAll(ctx: GitContext, ws: WorkspaceInfo, options: OperationOptions = {}): Promise<{ refused?: string }> {
  const wt = await openWorkspace(ctx.layout, ws);
  const inspection = await inspectTree(ws.path, options);
  if (inspection.nestedGit.length > 0) {
    return {
      refused:
        `nested git repositories are not allowed in the worktree: ${listSome(inspection.nestedGit)}. ` +
        'Remove them (rm -rf each .git) or copy the files in without their .git, then finish again.',
    };
  }
  if (inspection.unreadable.length > 0) {
    // git would enter them unseen by the walk (a nested repository inside blocks it or is staged).
    return { refused: `directories the host cannot open are not allowed in the worktree: ${listSome(inspection.unreadable)}. Make them readable (chmod u+rx) or remove them, then finish again.` };
  }
  await removeGitBlockers(ws.path, inspection.gitBlockers);
  try {
    await addAll((args, okExitCodes) => ctx.git([...wt.args, ...args], { ...options, okExitCodes }), {
      ...options,
      indexFile: path.join(wt.adminDir, 'index'),
      secrets: credentialSecrets(ctx.deps.credentials),
    });
  } catch (err) {
    if (!(err instanceof WorktreeUnstageableError)) throw err;
    // The tree's own doing, the same on every attempt: the agent is told, as for a nested repository.
    return {
      refused:
        `git refuses to stage these entries of the worktree: ${listSome(err.problems, 10)}. ` +
        'Rename or remove paths git may not store (.GIT, GIT~1 and the like), make a tracked file that is now a named pipe or another special file a regular file again (or remove it), ' +
        'make files readable (chmod u+r), and fix or remove working-tree-encoding attributes git cannot apply, then finish again.',
    };
  }
  return {};
}

/** Stages everything and scans the blobs the commit would add or change relative to HEAD. */
export async function stageAndScan(
  ctx: GitContext,
  ws: WorkspaceInfo,
  options: OperationOptions & { allowlist?: Allowlist; maxBlobBytes?: number } = {},
): Promise<StagedScan> {
  const wt = await openWorkspace(ctx.layout, ws);
  const staged = await stageAll(ctx, ws, options);
  if (staged.refused) {
    const head = await revParse(ctx, wt.args, 'HEAD^{tree}');
    return { tree: head, refused: staged.refused, findings: [], unscannable: [], scannedFiles: 0, scannedBytes: 0 };
  }
  const tree = (await ctx.git([...wt.args, 'write-tree'], options)).stdout.trim();
  await ctx.indexTrees.remember(path.join(wt.adminDir, 'index'), tree);
  // diff-tree resolves HEAD itself (the worktree's own HEAD, through its admin dir): no rev-parse first.
  const scan = await scanTreeChanges(ctx, wt.args, 'HEAD', tree, { ...options, maxBlobBytes: options.maxBlobBytes ?? DEFAULT_SCAN_MAX_BLOB_BYTES });
  return { tree, ...scan };
}

/**
 * Scans the blobs `tree` adds or changes relative to HEAD and makes it the staged tree, without
 * staging the worktree again: `tree` is what the pre-commit gates checked, and a process the
 * agent left running may have changed the worktree since. The commit is then exactly the gated
 * tree; later writes stay uncommitted.
 */
export async function scanTree(
  ctx: GitContext,
  ws: WorkspaceInfo,
  tree: string,
  options: OperationOptions & { allowlist?: Allowlist; maxBlobBytes?: number } = {},
): Promise<StagedScan> {
  if (!OBJECT_ID.test(tree)) throw new GitInputError(`not a tree id: ${tree}`);
  const wt = await openWorkspace(ctx.layout, ws);
  const index = path.join(wt.adminDir, 'index');
  // Normally the index is still the tree the gates staged; after anything else wrote it, read it back.
  if ((await ctx.indexTrees.recall(index)) !== tree) {
    await ctx.git([...wt.args, 'read-tree', '--end-of-options', tree], options);
    await ctx.indexTrees.remember(index, tree);
  }
  const scan = await scanTreeChanges(ctx, wt.args, 'HEAD', tree, { ...options, maxBlobBytes: options.maxBlobBytes ?? DEFAULT_SCAN_MAX_BLOB_BYTES });
  return { tree, ...scan };
}

/**
 * Commits what is staged, with `Agent-Id: <agentId>` among its trailers. An empty index is a
 * result, not an error, unless HEAD is already this agent's commit: then an earlier attempt of
 * this very step committed and the retry reports that commit. With `expectedTree`, the staged
 * tree must be the one that was scanned.
 */
export async function commit(
  ctx: GitContext,
  ws: WorkspaceInfo,
  message: string,
  options: OperationOptions & { agentId?: string; expectedTree?: string } = {},
): Promise<CommitResult> {
  if (typeof message !== 'string' || message.trim() === '') throw new GitInputError('commit message must not be empty');
  const wt = await openWorkspace(ctx.layout, ws);
  const hasStaged = async () =>
    (await ctx.git([...wt.args, 'diff', '--cached', '--quiet', '--ignore-submodules=none'], { ...options, okExitCodes: [0, 1] })).exitCode === 1;
  const nothingStaged = async (): Promise<CommitResult> => {
    const head = await revParse(ctx, wt.args, 'HEAD^{commit}');
    if (options.agentId && head !== ws.baseSha && (await trailerOf(ctx, wt.args, head, AGENT_TRAILER)) === options.agentId) {
      return { commitSha: head, reused: true };
    }
    return { nothingToCommit: true };
  };
  if (options.expectedTree) {
    // Right after the scan the index is still the one it wrote as a tree: no write-tree again.
    const tree = (await ctx.indexTrees.recall(path.join(wt.adminDir, 'index'))) ?? (await ctx.git([...wt.args, 'write-tree'], options)).stdout.trim();
    // With nothing staged there is nothing to commit, whatever the tree (a retry finds its commit).
    if (tree !== options.expectedTree) {
      if (!(await hasStaged())) return nothingStaged();
      throw new GitCommandFailedError(`the staged tree ${tree.slice(0, 12)} is not the scanned tree ${options.expectedTree.slice(0, 12)}`, 'commit', null);
    }
  }
  // Committing straight away saves asking first: git exits 1 when nothing is staged (or the
  // message is empty after cleanup), and only then is the index compared with HEAD. Untracked
  // files are not listed in that answer, so git walks no directory of the agent's for it.
  // The message goes through stdin: no argv limit, and nothing in it is read as an option.
  const runCommit = () =>
    ctx.git([...wt.args, 'commit', '--quiet', '--no-verify', '--no-gpg-sign', '--untracked-files=no', '--cleanup=whitespace', '--file=-'], {
      ...options,
      input: message,
      env: authorEnv(ctx.deps.author),
      okExitCodes: [0, 1],
    });
  let committed: Awaited<ReturnType<typeof runCommit>>;
  try {
    committed = await runCommit();
  } catch (err) {
    // A commit killed while it held the index (the OOM killer) left its lock: the retry of this
    // step (the scanned tree, no add before it) would fail on it every time. Once stale, it goes.
    const stale = err instanceof GitCommandFailedError && lockedOut(err.stderr) && (await removeStaleLock(path.join(wt.adminDir, 'index.lock'), options));
    if (!stale) throw err;
    committed = await runCommit();
  }
  if (committed.exitCode === 1) {
    if (!(await hasStaged())) return nothingStaged();
    const detail = scrubbedTail(committed.stderr.trim() || committed.stdout.trim(), credentialSecrets(ctx.deps.credentials));
    throw new GitCommandFailedError(`git commit failed (exit 1): ${detail}`, 'commit', 1);
  }
  return { commitSha: (await headFromRefFiles(wt.adminDir, ws.mirrorPath, ws.branch)) ?? (await revParse(ctx, wt.args, 'HEAD^{commit}')) };
}

/**
 * The commit HEAD names when it is on `branch` (checked by openWorkspace), read from the files
 * git just wrote: the worktree's HEAD in its admin dir and the branch's loose ref in the mirror,
 * both the service's and out of the agent's reach. Undefined when they are not of that shape
 * (another branch, a packed ref): git is asked then.
 */
async function headFromRefFiles(adminDir: string, mirrorPath: string, branch: string): Promise<string | undefined> {
  const head = await readFile(path.join(adminDir, 'HEAD'), 'utf8').catch(() => '');
  if (head.trim() !== `ref: refs/heads/${branch}`) return undefined;
  const oid = (await readFile(path.join(mirrorPath, 'refs', 'heads', branch), 'utf8').catch(() => '')).trim();
  return /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(oid) ? oid : undefined;
}

export async function headSha(ctx: GitContext, ws: WorkspaceInfo): Promise<string> {
  const wt = await openWorkspace(ctx.layout, ws);
  return revParse(ctx, wt.args, 'HEAD^{commit}');
}

/** Everything the agent branch adds since it forked from `origin/<base>` (three-dot diff), content shown as text whatever the attributes say. */
export async function diffAgainstBase(ctx: GitContext, ws: WorkspaceInfo, options: OperationOptions = {}): Promise<string> {
  await openWorkspace(ctx.layout, ws);
  const { stdout } = await ctx.git(
    // From the empty base, all the branch holds: compared as trees, so a branch not rooted there (a reviewer's) has it too.
    ['-C', ws.mirrorPath, 'diff', ...DIFF_FLAGS, ...(ws.emptyBase ? [ws.baseSha, `refs/heads/${ws.branch}`] : [`refs/remotes/origin/${ws.baseBranch}...refs/heads/${ws.branch}`]), '--'],
    options,
  );
  return stdout;
}

/**
 * What `to` (a commit or tree of the workspace's) changes from `from`, compared as trees: a
 * reviewer's AI review gate diffs the branch under review from where it forked from its review
 * base (reviewBaseCommit), not from the branch's own tip, where nothing has changed.
 */
export async function diffBetween(ctx: GitContext, ws: WorkspaceInfo, from: string, to: string, options: OperationOptions = {}): Promise<string> {
  await openWorkspace(ctx.layout, ws);
  for (const id of [from, to]) if (!OBJECT_ID.test(id)) throw new GitInputError(`not an object id: ${JSON.stringify(id)}`);
  const { stdout } = await ctx.git(['-C', ws.mirrorPath, 'diff', ...DIFF_FLAGS, from, to, '--'], options);
  return stdout;
}

/**
 * What the agent branch adds since it forked from `origin/<base>`, `base` being another branch
 * than the one the worktree started from: a reviewer's branch under review against its base.
 * A base the remote does not have is bad input, not a transient failure, unless the repository
 * is new (only agent branches) and `base` is not one: then everything the branch holds is new, as
 * from the empty base.
 */
export async function diffFrom(ctx: GitContext, ws: WorkspaceInfo, base: string, options: OperationOptions = {}): Promise<string> {
  const { emptyBase: _, ...rest } = ws;
  try {
    await ctx.git(['-C', ws.mirrorPath, 'rev-parse', '--verify', '--quiet', '--end-of-options', `refs/remotes/origin/${base}^{commit}`], options);
  } catch (err) {
    if (!(err instanceof GitCommandFailedError)) throw err;
    if (isAgentBranch(base) || !(await remoteHasOnlyAgentBranches(ctx, ws.mirrorPath, options))) throw new GitInputError(`base branch "${base}" does not exist on the remote`);
    return diffAgainstBase(ctx, { ...rest, baseBranch: base, baseSha: await emptyBaseCommit(ctx, ws.mirrorPath, options), emptyBase: true }, options);
  }
  return diffAgainstBase(ctx, { ...rest, baseBranch: base }, options);
}

/**
 * The commit whose gate definitions judge a branch under review: where it forked from `origin/<base>`,
 * never the branch's own tip (whoever pushed the branch could rewrite its gates file, scripts and
 * runner files there). A base the remote does not have is refused as diffFrom refuses it; in a new
 * repository (only agent branches), and for a branch that shares no history with the base, it is the
 * empty base: nothing of the branch's defines a gate.
 */
export async function reviewBaseCommit(ctx: GitContext, ws: WorkspaceInfo, base: string, options: OperationOptions = {}): Promise<string> {
  assertBranchName(base, 'review base');
  await openWorkspace(ctx.layout, ws);
  if (!OBJECT_ID.test(ws.baseSha)) throw new GitInputError(`not a commit id: ${JSON.stringify(ws.baseSha)}`);
  let baseTip: string;
  try {
    baseTip = await revParse(ctx, ['-C', ws.mirrorPath], `refs/remotes/origin/${base}^{commit}`);
  } catch (err) {
    if (!(err instanceof GitCommandFailedError)) throw err;
    if (isAgentBranch(base) || !(await remoteHasOnlyAgentBranches(ctx, ws.mirrorPath, options))) throw new GitInputError(`base branch "${base}" does not exist on the remote`);
    return emptyBaseCommit(ctx, ws.mirrorPath, options);
  }
  // Exit 1: no common ancestor.
  const { stdout, exitCode } = await ctx.git(['-C', ws.mirrorPath, 'merge-base', baseTip, ws.baseSha], { ...options, okExitCodes: [0, 1] });
  return exitCode === 0 ? stdout.trim() : emptyBaseCommit(ctx, ws.mirrorPath, options);
}

/** True when the worktree has staged, unstaged or untracked (not ignored) changes. */
export async function hasUncommittedChanges(ctx: GitContext, adminArgs: string[], options: OperationOptions = {}): Promise<boolean> {
  const { stdout } = await ctx.git([...adminArgs, 'status', '--porcelain', '-z', '--untracked-files=all', '--ignore-submodules=all'], options);
  return stdout.length > 0;
}

async function revParse(ctx: GitContext, repoArgs: readonly string[], rev: string): Promise<string> {
  return (await ctx.git([...repoArgs, 'rev-parse', '--verify', '--end-of-options', rev])).stdout.trim();
}

export async function trailerOf(ctx: GitContext, repoArgs: readonly string[], commitSha: string, key: string): Promise<string | undefined> {
  const { stdout } = await ctx.git([...repoArgs, 'log', '-1', `--format=%(trailers:key=${key},valueonly,separator=%x00)`, commitSha, '--']);
  return stdout.split('\0')[0]?.trim() || undefined;
}

/**
 * The first few of a list, and how many more: a reason for the agent stays short. Paths are the
 * agent's to name, and the reason goes to the agent, the run's failure and history: redacted.
 */
function listSome(paths: string[], shown = 20): string {
  // Made plain and redacted before it is cut: a secret across the cut leaves no part behind.
  const items = paths.map((p) => shortPath(redactSecrets(plainText(p))));
  return items.length <= shown ? items.join(', ') : `${items.slice(0, shown).join(', ')} and ${items.length - shown} more`;
}
