/**
 * Scratch directories: files one operation needs only while it runs (a temporary git index, a
 * gate's HOME), at `<root>/tmp/<process>/<label>-<random>`. They live under the workspace root,
 * not the OS temp directory, so the host owns them: the operation removes its directory when it
 * ends, and what a process killed first (kill -9, a lost power) left is removed by the reaper.
 *
 * Several worker processes may share a workspace root (activities/turn/in-flight.ts), so no
 * process may sweep the whole of it at start-up. Each keeps its scratch in a directory of its own
 * and holds a lock beside it (`<process>.lock`, refreshed: ./owned-lock.ts); a reaper removes
 * another process's directory once its lock is gone or stale, and in its own only what no
 * operation of it uses (a removal that failed).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { lockOwned, type ReleaseOwnedLock } from './owned-lock';
import { assertInside, PathOutsideWorkspaceError } from './paths';
import { removeTree } from './remove-tree';

/** Far beyond a stalled event loop: a live process's scratch must never look abandoned. */
const DEFAULT_STALE_MS = 10 * 60_000;

export type ScratchLog = (msg: string, meta?: Record<string, unknown>) => void;

export interface Scratch {
  /** A fresh empty directory named after `label` (an agent id and a purpose); the caller releases it in a `finally`. */
  make(label: string): Promise<string>;
  /** Removes a directory from `make`; one that will not go is left to the reaper, never thrown. */
  release(dir: string): Promise<void>;
  /** Removes abandoned scratch: other processes' whose lock is stale, this process's that nothing uses; returns how many. */
  reap(): Promise<number>;
  /** Removes this process's scratch and releases its lock (at shutdown, once no operation runs). */
  close(): Promise<void>;
}

export interface ScratchOptions {
  log?: ScratchLog;
  /** A lock not refreshed for this long marks its process as gone. */
  staleMs?: number;
  remove?: (dir: string) => Promise<void>;
}

/** Node's rm for the usual small directory; GNU rm (any depth, locked modes) for one a gate's commands wrote. */
async function removeScratch(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true }).catch(() => removeTree(dir));
}

export function processScratch(root: string, { log = () => undefined, staleMs = DEFAULT_STALE_MS, remove = removeScratch }: ScratchOptions = {}): Scratch {
  const base = path.resolve(root);
  const lockOptions = { realpath: false, stale: staleMs };
  const inUse = new Set<string>();
  let own: Promise<{ dir: string; release: ReleaseOwnedLock }> | undefined;

  // Locked before the directory exists: a reaper never sees it unlocked.
  const claim = async (onLost: () => void) => {
    const dir = path.join(base, `${process.pid}-${randomBytes(4).toString('hex')}`);
    // The mode on this directory alone: a workspace root created here must stay passable for the sandbox user.
    await mkdir(base, { recursive: true });
    await chmod(base, 0o700);
    const release = await lockOwned(dir, {
      stale: staleMs,
      onLost: (err) => {
        // Another process took this one for dead: start over in a new directory.
        log('scratch: lock lost', { dir, error: err.message });
        onLost();
      },
    });
    await mkdir(dir, { mode: 0o700 });
    return { dir, release };
  };
  const ownDir = async () => {
    if (!own) {
      const forget = () => {
        if (own === claimed) own = undefined;
      };
      const claimed = claim(forget).catch((err: unknown) => {
        forget();
        throw err;
      });
      own = claimed;
    }
    return (await own).dir;
  };
  // A failed removal is left to the next reaper pass, never the operation's failure.
  const removeQuietly = (dir: string) =>
    remove(dir).then(
      () => true,
      (err: unknown) => {
        log('scratch: removal failed, left to the reaper', { dir, error: (err as Error).message });
        return false;
      },
    );

  return {
    async make(label) {
      const parent = await ownDir();
      const dir = assertInside(parent, path.join(parent, `${label}-${randomBytes(6).toString('hex')}`));
      if (path.dirname(dir) !== parent) throw new PathOutsideWorkspaceError(`scratch label ${JSON.stringify(label)} is not a plain name`);
      // Marked in use before it exists, so this process's own reaper never takes it.
      inUse.add(dir);
      try {
        await mkdir(dir, { mode: 0o700 });
      } catch (err) {
        inUse.delete(dir);
        throw err;
      }
      return dir;
    },
    async release(dir) {
      await removeQuietly(dir);
      inUse.delete(dir);
    },
    async reap() {
      let removed = 0;
      const current = own && (await own.then((o) => o.dir).catch(() => undefined));
      const names = await readdir(base).catch(() => [] as string[]);
      for (const name of new Set(names.map((n) => n.replace(/\.lock$/, '')))) {
        const dir = path.join(base, name);
        if (dir === current) continue;
        if (await lockfile.check(dir, lockOptions).catch(() => true)) continue;
        if (await removeQuietly(dir)) {
          await rm(`${dir}.lock`, { recursive: true, force: true });
          removed++;
        }
      }
      if (current) {
        for (const name of await readdir(current).catch(() => [] as string[])) {
          const dir = path.join(current, name);
          if (!inUse.has(dir) && (await removeQuietly(dir))) removed++;
        }
      }
      return removed;
    },
    async close() {
      const held = own;
      // An operation still running keeps the directory: the lock goes stale once the process exits.
      if (!held || inUse.size > 0) return;
      own = undefined;
      const { dir, release } = await held;
      try {
        await remove(dir);
      } finally {
        await release().catch(() => undefined);
      }
    },
  };
}
