/**
 * A lock file held across processes (proper-lockfile: a directory whose mtime its holder refreshes,
 * taken over by anyone once it is older than its stale time), whose release removes only a lock
 * that is still its own.
 *
 * proper-lockfile's own release removes the lock directory by path, whoever holds it now: a holder
 * that stalled past the stale time, and whose refresh had not yet noticed the takeover, removed
 * the new holder's lock when it ended, and a third party then took the lock while the new holder
 * still worked (two tool batches of an agent in one worktree, two gits on one mirror). Within one
 * process it was worse: proper-lockfile keys its holders by path, so the old holder's release
 * stopped the new holder's refresh too. Its exit handler removes every lock it holds the same way.
 *
 * So every removal of a held lock goes through `fs.rmdir(Sync)` given to proper-lockfile, which
 * removes the directory only while it still carries the mtime this holder last wrote, and only
 * while that is younger than the stale time (older, another process may be taking it over at this
 * moment: it is left for it, and anyone takes it once stale). A refresh already under way when
 * the release began may have moved the mtime: the lock is then left too, and waits out its stale
 * time, a delay and never two holders.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import lockfile from 'proper-lockfile';

export interface OwnedLockOptions {
  /** Where the lock directory goes; `<file>.lock` by default. */
  lockfilePath?: string;
  /** A lock not refreshed for this long is taken over (refreshed every half of it). */
  stale: number;
  retries?: lockfile.LockOptions['retries'];
  /** The lock was taken over (or removed) while held: the holder must stop what it guards. Never called after release. */
  onLost: (err: Error) => void;
}

/** Releases the lock; resolves `false` when it was no longer this holder's (taken over), and then removes nothing. */
export type ReleaseOwnedLock = () => Promise<boolean>;

/** What proper-lockfile keeps per held lock (lib/lockfile.js, 4.x): the mtime it last wrote, its refresh timer. */
interface HeldEntry {
  mtime: Date;
  released?: boolean;
  updateTimeout?: NodeJS.Timeout | null;
}

// The package's entry does not re-export getLocks; its lib module (the same instance the entry uses) does.
const { getLocks: heldLocks } = createRequire(__filename)('proper-lockfile/lib/lockfile') as { getLocks(): Record<string, HeldEntry | undefined> };

export async function lockOwned(file: string, options: OwnedLockOptions): Promise<ReleaseOwnedLock> {
  // proper-lockfile keys its holders by this path when `realpath` is off.
  const key = path.resolve(file);
  const lockPath = options.lockfilePath ?? `${key}.lock`;
  // Unset while acquiring: the guarded removals then act for proper-lockfile's takeover of a stale lock.
  let entry: HeldEntry | undefined = undefined;
  let released = false;
  let lost = false;
  let leftInPlace = false;

  /**
   * Ours when it carries the mtime we last wrote, and is not yet stale (a taker may be removing it right now).
   * Compared as proper-lockfile does, by the Date: `mtimeMs` of a time set to the millisecond reads back as 0.999 short.
   */
  const stillOurs = (st: fs.Stats | undefined): boolean =>
    entry !== undefined && st !== undefined && st.mtime.getTime() === entry.mtime.getTime() && st.mtime.getTime() >= Date.now() - options.stale;

  // Before the lock is held these remove another holder's stale lock (proper-lockfile's takeover), unguarded.
  const rmdir = (dir: string, callback: (err: NodeJS.ErrnoException | null) => void) => {
    if (!entry) return fs.rmdir(dir, callback);
    fs.stat(dir, (err, st) => {
      if (stillOurs(err ? undefined : st)) return fs.rmdir(dir, callback);
      leftInPlace = true;
      callback(null);
    });
  };
  const rmdirSync = (dir: string) => {
    if (!entry || stillOurs(fs.statSync(dir, { throwIfNoEntry: false }))) fs.rmdirSync(dir);
  };

  const releaseByPath = await lockfile.lock(key, {
    realpath: false,
    lockfilePath: lockPath,
    stale: options.stale,
    retries: options.retries,
    fs: { ...fs, rmdir, rmdirSync },
    onCompromised: (err) => {
      lost = true;
      if (!released) options.onLost(err);
    },
  });
  // Set by proper-lockfile just before it resolved: this holder's.
  entry = heldLocks()[key];
  const held = entry;

  return async () => {
    if (released) return !lost;
    released = true;
    if (lost || !held) return false;
    if (heldLocks()[key] !== held) {
      // Another holder in this process took it over: releasing by path would release theirs. Stop our refresh only.
      if (held.updateTimeout) clearTimeout(held.updateTimeout);
      held.released = true;
      lost = true;
      return false;
    }
    await releaseByPath();
    return !leftInPlace;
  };
}
