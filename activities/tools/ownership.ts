/**
 * Worktree ownership for sandboxed agents: a root-owned worktree would make the container run as
 * root. The walk holds a descriptor per directory and names each entry through it (safe-fs.ts), so
 * a process the agent left running that swaps a directory for a link to the host's files halfway
 * through cannot turn a chown onto them: a link is chowned as a link, never entered.
 */
import { promises as fs, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { atPath, dirEntries, lstatAt, openDirAt, openRoot, relativeSegments, UnsafePathError, withDirAt } from './safe-fs';
import { deepWalks, FREE_LEVELS } from './deep-walks';

/** Deeper directories stay the host's: a descriptor per level must not exhaust the worker's (the tree walk stops there too; below FREE_LEVELS it shares deep-walks.ts's budget). */
const MAX_DEPTH = 2048;

/** The activity a walk runs for: stops it when cancelled, and hears from it as it goes (a heartbeat). */
export interface WalkOperation {
  signal?: AbortSignal;
  onProgress?: () => void;
}

/** Entries between two calls of `onProgress` (a million-entry tree must not go quiet for its heartbeat timeout). */
const ENTRIES_PER_PROGRESS = 1000;

/** A walk's operation and the entries it has seen, counted over the whole tree (not per directory). */
interface Walk extends WalkOperation {
  seen: number;
}

/**
 * Hands a root-owned tree to the sandbox user (no-op unless the worker runs as root), or only the
 * entry `rel` below it (and what it holds), reached without following a link.
 */
export async function giveToSandboxUser(root: string, user: { uid: number; gid: number }, rel?: string, operation: WalkOperation = {}): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const op: Walk = { ...operation, seen: 0 };
  const top = await openRoot(root);
  try {
    if (rel === undefined) {
      if ((await top.stat()).uid !== 0) return;
      await top.chown(user.uid, user.gid);
      await giveEntries(top, user, 0, op);
      return;
    }
    const segments = relativeSegments(rel);
    await withDirAt(top, segments.slice(0, -1), async (parent) => {
      if (await giveAt(parent, segments.at(-1)!, user, 0)) await giveBelow(parent, segments.at(-1)!, user, 0, op);
    }).catch((err: unknown) => {
      // A link or a file on the way (swapped in since the host wrote `rel`): nothing of the host's to give there.
      if (!(err instanceof UnsafePathError)) throw err;
    });
  } finally {
    await top.close();
  }
}

/**
 * `name` below `dir`: a host-owned entry given away; true when it is a directory whose entries are
 * to be given too (the caller enters it once its own listing is closed: a descriptor per level).
 */
async function giveAt(dir: FileHandle, name: string, user: { uid: number; gid: number }, depth: number): Promise<boolean> {
  const st: Stats | undefined = await lstatAt(dir, name);
  if (!st || st.uid !== 0) return false;
  // lchown through the directory's descriptor: a link (also one swapped in since the lstat) is chowned itself.
  await fs.lchown(atPath(dir, name), user.uid, user.gid);
  return st.isDirectory() && depth < MAX_DEPTH;
}

/** The entries of the subdirectory `name` of `dir`, reached without following a link. */
async function giveBelow(dir: FileHandle, name: string, user: { uid: number; gid: number }, depth: number, op: Walk): Promise<void> {
  let child: FileHandle;
  try {
    child = await openDirAt(dir, name);
  } catch (err) {
    if (err instanceof UnsafePathError) return; // swapped for a link or gone meanwhile: nothing of ours to give
    throw err;
  }
  try {
    // Deeper than real projects go, the walk shares the worker's budget of descriptors (deep-walks.ts).
    // A wait for a permit heartbeats and ends with the activity (it waited, silent, for good before).
    await (depth + 1 === FREE_LEVELS ? deepWalks.use(op, () => giveEntries(child, user, depth + 1, op)) : giveEntries(child, user, depth + 1, op));
  } finally {
    await child.close();
  }
}

/** One entry at a time (a directory of a million long names read whole took the worker 680 MB); subdirectories after. */
async function giveEntries(dir: FileHandle, user: { uid: number; gid: number }, depth: number, op: Walk): Promise<void> {
  const subdirs: string[] = [];
  for await (const entry of await dirEntries(dir)) {
    // Counted over the walk: a tree of many small directories (node_modules) has no wide one.
    if (++op.seen % ENTRIES_PER_PROGRESS === 0) {
      op.signal?.throwIfAborted();
      op.onProgress?.();
    }
    if (await giveAt(dir, entry.name, user, depth)) subdirs.push(entry.name);
  }
  for (const name of subdirs) {
    op.signal?.throwIfAborted();
    await giveBelow(dir, name, user, depth, op);
  }
}
