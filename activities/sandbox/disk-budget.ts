/**
 * The agent's disk budget: its worktree and its home together may hold WORKSPACE_MAX_MB and
 * WORKSPACE_MAX_FILES (files, directories and links: empty files cost the host inodes, not bytes).
 *
 * Two checks hold it. After each tool batch the agent's files are walked (exact, links never
 * followed, `.git` directories included). That comes too late for one command that writes a
 * terabyte in files under the size limit, or millions of empty files: it would fill the host's
 * disk before the walk. So while a command runs, the filesystem under the worktree is read once
 * a second (one `statfs`, whatever the tree's size), and the agent's files are walked only when
 * the filesystem has grown by more than the agent had left at the last walk; a walk past the
 * budget stops the command. The agent's usage before its first walk in a batch counts as nothing,
 * so a command is stopped before it holds twice the budget. Gate commands run repository scripts,
 * the attacker's as much as the agent's commands: the gate checkout has the same budget.
 */
import { statfs } from 'node:fs/promises';
import { TypedError } from '../../domain/typed-error';
import { shortPath } from '../../domain/agent-events';
import { plainText } from '../../domain/plain-text';
import { redactSecrets } from '../../scanner';
import { GIT_RULES_MAX_BYTES, inspectTree, type TreeInspection } from '../git/inspect-tree';
import type { CommandRunner } from '../tools/runner';
import { UnsafePathError } from '../tools/safe-fs';

export interface DiskBudget {
  maxBytes: number;
  /** Files, directories and links. */
  maxEntries: number;
}

export interface DiskUsage {
  bytes: number;
  entries: number;
  /** Directories no walk could open (inspect-tree.ts `unreadable`): what they hold is unmeasured. */
  unreadable?: string[];
}

/** The worktree grew past WORKSPACE_MAX_MB or WORKSPACE_MAX_FILES: the run ends, the disk is not the agent's to fill. */
export class WorkspaceTooLargeError extends TypedError {
  readonly type = 'WorkspaceTooLarge';
}

interface Walk {
  signal: AbortSignal;
  onProgress?: () => void;
}

/** The worktree, then the home (a home not made yet holds nothing), each walk stopping once past the budget. */
export async function measureAgentFiles(worktree: string, home: string | undefined, budget: DiskBudget, op: Walk): Promise<{ worktree: TreeInspection; total: DiskUsage }> {
  const walk = { signal: op.signal, onProgress: op.onProgress, countInsideGit: true };
  // A worktree's hard links count at every path: a rebuild from its checkpoint on another host
  // writes each as its own file, so one file linked a thousand times would cost that host a thousand.
  const inTree = await inspectTree(worktree, { ...walk, everyLink: true, stopAtBytes: budget.maxBytes, stopAtEntries: budget.maxEntries });
  const left = { stopAtBytes: Math.max(budget.maxBytes - inTree.bytes, 0), stopAtEntries: Math.max(budget.maxEntries - inTree.entries, 0) };
  const inHome = home && !over(inTree, budget) ? await inspectTree(home, { ...walk, ...left }).catch(missingIsEmpty) : { bytes: 0, entries: 0 };
  const unreadable = [...inTree.unreadable, ...(inHome.unreadable ?? []).map((rel) => `~/${rel}`)];
  return { worktree: inTree, total: { bytes: inTree.bytes + inHome.bytes, entries: inTree.entries + inHome.entries, unreadable } };
}

/** After a tool batch: the walk, refused past the budget; the checkpoint reuses what it found for git (nested repositories, git blockers). */
export async function checkDiskBudget(worktree: string, home: string | undefined, budget: DiskBudget, op: Walk): Promise<TreeInspection> {
  const { worktree: inTree, total } = await measureAgentFiles(worktree, home, budget, op);
  const breach = describeBreach(inTree, total, budget, 'after the batch');
  if (breach) throw new WorkspaceTooLargeError(breach);
  // Before the checkpoint's git reads them: rules enough to keep the host's CPU for minutes per add.
  if (inTree.gitRuleBytes > GIT_RULES_MAX_BYTES) {
    throw new WorkspaceTooLargeError(`the worktree's .gitignore and .gitattributes files hold ${inTree.gitRuleBytes} bytes after the batch, over the ${GIT_RULES_MAX_BYTES} the host's git reads`);
  }
  return inTree;
}

export interface GuardOptions {
  worktree: string;
  /** What `worktree` is, for the failure's message: the agent's worktree unless said otherwise (a gate checkout). */
  name?: string;
  home?: string;
  budget: DiskBudget;
  /** How often the filesystem is read while a command runs. */
  intervalMs?: number;
  /** The filesystem's usage; `statfs` of the worktree's unless a test says otherwise. */
  filesystem?: (path: string) => Promise<FilesystemUsage>;
}

export interface FilesystemUsage {
  usedBytes: number;
  /** Undefined where the filesystem does not count inodes (btrfs reports none). */
  usedInodes?: number;
}

/**
 * The runner, with each command held to the budget while it runs: past it, the command is
 * stopped and the run fails with WorkspaceTooLarge (the message says what grew). One guard per
 * tool batch: it carries what the last walk found from one command to the next.
 */
export function guardDisk(runner: CommandRunner, opts: GuardOptions): CommandRunner {
  const readFilesystem = opts.filesystem ?? filesystemUsage;
  const intervalMs = opts.intervalMs ?? 1000;
  let known: DiskUsage = { bytes: 0, entries: 0 };
  return {
    workspaceDir: runner.workspaceDir,
    async run(command, options) {
      // No reading of the filesystem, no guard: the batch's walk still holds the budget.
      let base = await readFilesystem(opts.worktree).catch(() => undefined);
      if (!base) return runner.run(command, options);
      const stop = new AbortController();
      const done = new AbortController();
      let breach: string | undefined;
      let checking = false;
      let nextWalkAt = 0;
      const check = async (from: FilesystemUsage) => {
        const now = await readFilesystem(opts.worktree);
        const grewBytes = now.usedBytes - from.usedBytes;
        const grewEntries = now.usedInodes !== undefined && from.usedInodes !== undefined ? now.usedInodes - from.usedInodes : 0;
        if (grewBytes <= opts.budget.maxBytes - known.bytes && grewEntries <= opts.budget.maxEntries - known.entries) return;
        // Near the budget, any growth calls for a walk: they take at most a third of the time.
        if (Date.now() < nextWalkAt) return;
        const started = Date.now();
        const { worktree, total } = await measureAgentFiles(opts.worktree, opts.home, opts.budget, { signal: done.signal });
        nextWalkAt = Date.now() + 2 * (Date.now() - started);
        breach = describeBreach(worktree, total, opts.budget, 'during a command', opts.name);
        if (breach) return stop.abort(new WorkspaceTooLargeError(breach));
        known = total;
        base = now;
      };
      const timer = setInterval(() => {
        if (checking || stop.signal.aborted) return;
        checking = true;
        // A failed look (the tree changing under the walk, or the command done) is not a breach: the next tick looks again, the batch's walk decides.
        check(base!)
          .catch(() => undefined)
          .finally(() => (checking = false));
      }, intervalMs);
      try {
        const result = await runner.run(command, { ...options, signal: options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal });
        if (breach && !options.signal?.aborted) throw new WorkspaceTooLargeError(breach);
        return result;
      } finally {
        clearInterval(timer);
        done.abort(); // a walk still running stops with the command
      }
    },
  };
}

async function filesystemUsage(path: string): Promise<FilesystemUsage> {
  const fs = await statfs(path);
  return { usedBytes: (fs.blocks - fs.bfree) * fs.bsize, ...(fs.files > 0 ? { usedInodes: fs.files - fs.ffree } : {}) };
}

function over(usage: DiskUsage, budget: DiskBudget): boolean {
  return usage.bytes > budget.maxBytes || usage.entries > budget.maxEntries;
}

/** What exceeded the budget, and when it was seen, for the run's failure; undefined within it. */
function describeBreach(worktree: DiskUsage, total: DiskUsage, budget: DiskBudget, seen: 'after the batch' | 'during a command', name = 'the worktree'): string | undefined {
  const mb = Math.round(budget.maxBytes / (1024 * 1024));
  if (total.unreadable?.length) {
    // Made plain and redacted before it is cut: a secret across the cut would leave its first part behind.
    const which = `${total.unreadable.slice(0, 3).map((rel) => shortPath(redactSecrets(plainText(rel)))).join(', ')}${total.unreadable.length > 3 ? ', …' : ''}`;
    const what = `${name} holds directories the host cannot open (${which}), so their size cannot be held to WORKSPACE_MAX_MB=${mb}`;
    return seen === 'after the batch' ? `${what}; the run is stopped` : `${what}; the command and the run are stopped`;
  }
  if (!over(total, budget)) return undefined;
  const what = over(worktree, budget) ? `${name} holds` : `${name} and the agent's home hold`;
  const amount = total.bytes > budget.maxBytes ? [`more than ${mb} MB`, `WORKSPACE_MAX_MB=${mb}`] : [`more than ${budget.maxEntries} files and directories`, `WORKSPACE_MAX_FILES=${budget.maxEntries}`];
  return seen === 'after the batch'
    ? `${what} ${amount[0]} after the last tool batch (${amount[1]}); the run is stopped`
    : `${what} ${amount[0]} while a command ran (${amount[1]}); the command and the run are stopped`;
}

function missingIsEmpty(err: unknown): DiskUsage {
  if (err instanceof UnsafePathError && err.reason === 'not-found') return { bytes: 0, entries: 0 };
  throw err;
}
