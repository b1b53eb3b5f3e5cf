/**
 * `git add --all` over a worktree the agent wrote.
 *
 * Git refuses some of what it finds, the same way on every attempt: a path it may not store
 * (`.GIT`, `GIT~1`), a tracked file replaced by a FIFO, a file it cannot open. It always runs with
 * `--ignore-errors`, so such a refusal is exit 1 with the index written with everything else (git
 * exits 1 for nothing but that; any other failure dies, exit 128, and writes nothing): what says
 * so is the exit code, never text a path the agent named could forge. A checkpoint or a salvage
 * (`skipRefusedPaths`) keeps what git took and gets the refusals back; staging for a commit throws
 * them as WorktreeUnstageableError (final: the agent is told). A working-tree-encoding that git
 * cannot apply to a file (an unknown encoding, bytes that do not convert) is no refusal: git dies
 * at the first such file, whatever `--ignore-errors` says. That is thrown as
 * WorktreeUnstageableError too, for either caller; a checkpoint's own attributes switch the
 * conversion off (checkpoint.ts), a salvage falls back to that (salvage.ts).
 *
 * Two failures pass and are waited out here. A process the agent left running can delete a file
 * between git's directory scan and its stat of that file ("unable to stat '<file>': No such file
 * or directory": git dies) or its open() ("open(\"<file>\"): No such file or directory": a
 * refusal, run again unless refusals are skipped, where the file is gone anyway). Both sandboxes
 * end every process with its command (docker-runner.ts sweeps the container), so only the `none`
 * runtime, or a sweep that could not run, leaves such a writer: the add is run again, a few times.
 * And a git killed while it held the index (the OOM killer) leaves `<index>.lock`, which fails
 * every later git on that index: once no git could still be writing it (STALE_GIT_LOCK_MS after it
 * was last written), the lock is removed and the add run again.
 *
 * Git's stderr is read whole here (run-git.ts keeps only its tail in an error): ten thousand
 * refusals, or one path four thousand characters long, would push what matters out of a tail.
 */
import { rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OperationOptions } from './context';
import { GitAbortedError, GitCommandFailedError, WorktreeUnstageableError } from './errors';
import { scrubbedTail } from './redact';
import { STALE_GIT_LOCK_MS } from './repo-lock';

/** Runs `git <args>`, answering with the exit codes listed; any other is thrown (run-git.ts). */
export type AddRunner = (args: string[], okExitCodes: readonly number[]) => Promise<{ exitCode: number; stderr: string }>;

export interface AddAllOptions extends OperationOptions {
  /** Pathspecs after `--`; none: the whole worktree. */
  pathspecs?: readonly string[];
  /** Add what git can and return the entries it refused, instead of throwing them. */
  skipRefusedPaths?: boolean;
  /** The index git writes: a stale lock on it is removed. */
  indexFile?: string;
  /** Scrubbed from the error of a failure that is not the tree's (credentialSecrets). */
  secrets?: readonly string[];
  /** How old a lock on the index must be to count as stale; STALE_GIT_LOCK_MS unless a test says otherwise. */
  staleLockMs?: number;
}

/** Attempts in all; a writer that wins every one of them fails the add. */
export const ADD_ATTEMPTS = 4;
const ANSWERED_EXIT_CODES = [0, 1, 128] as const;

const VANISHED_DURING_SCAN = /unable to stat '.*': No such file or directory/;
const VANISHED_BEFORE_OPEN = /^open\(".*"\): No such file or directory$/;
const LOCKED = /^fatal: Unable to create '.*\.lock': File exists\./m;
/** The start of git's last words when a working-tree-encoding does not apply (convert.c); the path may run on over lines. */
const CONVERSION = /^fatal: (failed to encode '|BOM is (required|prohibited) in ')/m;
/** Lines that repeat the refusal before them (the path they name may go on over lines). */
const FOLLOW_UP = /^error: (unable to add '|unable to index file ')/;

/** Runs the add; returns git's words for each entry it left out (only with `skipRefusedPaths`). */
export async function addAll(run: AddRunner, options: AddAllOptions = {}): Promise<string[]> {
  const args = ['add', '--all', '--ignore-errors', ...(options.pathspecs ? ['--', ...options.pathspecs] : [])];
  for (let attempt = 1; ; attempt++) {
    const { exitCode, stderr } = await run(args, ANSWERED_EXIT_CODES);
    if (exitCode === 0) return [];
    if (exitCode === 1) {
      const refused = refusals(stderr);
      if (options.skipRefusedPaths) return refused;
      // A file gone between git's stat and its open() is the same race as one gone before the stat.
      if (attempt < ADD_ATTEMPTS && refused.some((r) => VANISHED_BEFORE_OPEN.test(r))) continue;
      throw new WorktreeUnstageableError(refused);
    }
    const conversion = CONVERSION.exec(stderr);
    if (conversion) throw new WorktreeUnstageableError([stderr.slice(conversion.index + 'fatal: '.length).trim(), ...refusals(stderr.slice(0, conversion.index))]);
    const retry =
      attempt < ADD_ATTEMPTS &&
      (VANISHED_DURING_SCAN.test(stderr) || (LOCKED.test(stderr) && options.indexFile !== undefined && (await removeStaleLock(`${options.indexFile}.lock`, options))));
    if (!retry) {
      const secrets = options.secrets ?? [];
      throw new GitCommandFailedError(`git add failed (exit ${exitCode}): ${scrubbedTail(stderr.trim(), secrets)}`, 'add', exitCode, scrubbedTail(stderr, secrets));
    }
  }
}

/**
 * What git refused, one entry per path: its `error:` lines but those that repeat the one before.
 * A path may hold a newline, so a line that is not git's own is passed over (it only continues a
 * path); never empty, as exit 1 says there was a refusal.
 */
function refusals(stderr: string): string[] {
  const found = stderr
    .split('\n')
    .filter((line) => line.startsWith('error: ') && !FOLLOW_UP.test(line))
    .map((line) => line.slice('error: '.length));
  return found.length > 0 ? found : ['git left out entries it did not name'];
}

/** Whether git failed because a lock file of the index is there (a git holds it, or one died holding it). */
export function lockedOut(stderr: string): boolean {
  return LOCKED.test(stderr);
}

/**
 * Waits until the lock is STALE_GIT_LOCK_MS old (a git still holding it has finished by then, or
 * died), then removes it if it was not written meanwhile. True when the add should run again:
 * the lock is gone, by its git or by this.
 */
export async function removeStaleLock(lock: string, options: Pick<AddAllOptions, 'staleLockMs' | 'signal' | 'onProgress'>): Promise<boolean> {
  const staleMs = options.staleLockMs ?? STALE_GIT_LOCK_MS;
  const first = await stat(lock).catch(() => undefined);
  if (!first) return true;
  for (let waited = Date.now() - first.mtimeMs; waited < staleMs; waited = Date.now() - first.mtimeMs) {
    if (options.signal?.aborted) throw new GitAbortedError('add');
    options.onProgress?.();
    await sleep(Math.min(1000, staleMs - waited));
  }
  const now = await stat(lock).catch(() => undefined);
  if (!now) return true;
  if (now.mtimeMs !== first.mtimeMs) return false; // written meanwhile: a git is alive and holds it
  await rm(lock, { force: true });
  return true;
}
