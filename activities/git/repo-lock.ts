/**
 * Serialises changes to one mirror (fetches, worktree add/remove, salvage refs):
 * a promise chain per mirror inside this process, and a lock file `<hash>.lock` beside the mirror
 * across processes (two workers on one host share the workspace root; activities/host/owned-lock.ts).
 * Stale git `*.lock` files left by a crashed git are removed only while this lock is held.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { lockOwned, type ReleaseOwnedLock } from '../host/owned-lock';
import { GitAbortedError, GitCommandFailedError } from './errors';

/** Tail of the in-process queue per mirror; the only module-level state in the git activities. */
const inProcessTails = new Map<string, Promise<void>>();

export interface RepoLockOptions {
  signal?: AbortSignal;
  /** Ticked while waiting for the lock, so a queued activity keeps heartbeating. */
  onProgress?: () => void;
  log?: (msg: string, meta?: Record<string, unknown>) => void;
  /** How long another process may wait for the file lock before giving up (retryable). */
  maxWaitMs?: number;
}

const FILE_LOCK_STALE_MS = 30_000;
const FILE_LOCK_MAX_WAIT_MS = 10 * 60_000;

export function repoLockPath(mirrorPath: string): string {
  return mirrorPath.replace(/\.git$/, '') + '.lock';
}

/** Runs `fn` while holding the in-process and the cross-process lock for `mirrorPath`. */
export async function withRepoLock<T>(mirrorPath: string, fn: () => Promise<T>, options: RepoLockOptions = {}): Promise<T> {
  const previous = inProcessTails.get(mirrorPath) ?? Promise.resolve();
  let releaseTurn!: () => void;
  const turn = new Promise<void>((resolve) => (releaseTurn = resolve));
  const tail = previous.then(() => turn);
  inProcessTails.set(mirrorPath, tail);
  const waitTicker = options.onProgress ? setInterval(options.onProgress, 1000) : undefined;
  try {
    let releaseFile: ReleaseOwnedLock;
    try {
      await untilAborted(previous, options.signal);
      releaseFile = await acquireFileLock(mirrorPath, options);
    } finally {
      clearInterval(waitTicker);
    }
    try {
      if (options.signal?.aborted) throw new GitAbortedError('lock');
      return await fn();
    } finally {
      await releaseFile().then(
        (own) => own || options.log?.('git: repository lock was taken over; left to its new holder', { mirrorPath }),
        (err: unknown) => options.log?.('git: releasing repository lock failed', { mirrorPath, error: String(err) }),
      );
    }
  } finally {
    releaseTurn();
    if (inProcessTails.get(mirrorPath) === tail) inProcessTails.delete(mirrorPath);
  }
}

async function acquireFileLock(mirrorPath: string, options: RepoLockOptions): Promise<ReleaseOwnedLock> {
  const maxWaitMs = options.maxWaitMs ?? FILE_LOCK_MAX_WAIT_MS;
  try {
    // The mirror may not exist yet: the lock also guards its creation (lockOwned never resolves its path).
    return await lockOwned(mirrorPath, {
      lockfilePath: repoLockPath(mirrorPath),
      stale: FILE_LOCK_STALE_MS,
      retries: { retries: Math.ceil(maxWaitMs / 1000), minTimeout: 50, maxTimeout: 1000, factor: 1.5 },
      // The git command already running is not stopped; its release leaves the new holder's lock.
      onLost: (err) => options.log?.('git: repository lock compromised', { mirrorPath, error: err.message }),
    });
  } catch (err) {
    throw new GitCommandFailedError(`repository lock for ${path.basename(mirrorPath)} is busy: ${(err as Error).message}`, 'lock', null);
  }
}

function untilAborted(wait: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return wait;
  if (signal.aborted) return Promise.reject(new GitAbortedError('lock'));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(new GitAbortedError('lock'));
    signal.addEventListener('abort', onAbort, { once: true });
    void wait.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** A git lock younger than this may belong to a live git (an agent's own commit); leave it. */
export const STALE_GIT_LOCK_MS = 10_000;

/**
 * Removes `*.lock` files a crashed git left in the mirror's shared areas (top level, refs/;
 * unless `sharedAreas` is false) and, when named, in one worktree's admin directory. Call only
 * while holding withRepoLock.
 */
export async function removeStaleGitLocks(
  mirrorPath: string,
  options: { worktreeName?: string; olderThanMs?: number; now?: number; sharedAreas?: boolean } = {},
): Promise<string[]> {
  const cutoff = (options.now ?? Date.now()) - (options.olderThanMs ?? STALE_GIT_LOCK_MS);
  const shared = options.sharedAreas ?? true;
  const candidates = [
    ...(shared ? await lockFilesIn(mirrorPath, false) : []),
    ...(shared ? await lockFilesIn(path.join(mirrorPath, 'refs'), true) : []),
    ...(options.worktreeName ? await lockFilesIn(path.join(mirrorPath, 'worktrees', options.worktreeName), false) : []),
  ];
  const removed: string[] = [];
  for (const file of candidates) {
    const info = await stat(file).catch(() => undefined);
    if (!info || info.mtimeMs > cutoff) continue;
    await rm(file, { force: true, recursive: true });
    removed.push(file);
  }
  return removed;
}

async function lockFilesIn(dir: string, recursive: boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isFile() && entry.name.endsWith('.lock')) found.push(full);
    else if (recursive && entry.isDirectory()) found.push(...(await lockFilesIn(full, true)));
  }
  return found;
}
