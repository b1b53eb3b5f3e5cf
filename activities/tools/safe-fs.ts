/**
 * File access inside an agent-written tree without following links or racing the agent.
 *
 * Node has no openat(2), but Linux resolves `/proc/self/fd/<fd>/<name>` from the directory the
 * descriptor holds, not from a path: opening one name at a time below a directory descriptor,
 * with O_NOFOLLOW, is openat with O_NOFOLLOW. A walk that holds descriptors cannot be redirected
 * by renaming or re-linking a component halfway (the time-of-check/time-of-use race), and a
 * symlink anywhere on the way is refused instead of followed. Every open is O_NONBLOCK, so a
 * FIFO or a device never blocks a libuv thread; callers check the type with fstat before reading.
 */
import { constants, promises as fs, type Dir, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;
/** Linux's O_PATH (Node does not export it): a descriptor naming an inode, opened without read permission on it. */
const O_PATH = 0o10000000;

/**
 * How many directories deep `withDirAt` goes: an open per level, so a path tens of thousands of
 * directories deep (an editor path, a coverage summaryPath) is refused before it is walked.
 * Git stores no path longer than PATH_MAX (4096: at most 2048 levels), and the tree walks
 * (inspect-tree.ts) go no deeper, so nothing the host has to reach lies below.
 */
export const MAX_WALK_DEPTH = 2048;

export class UnsafePathError extends Error {
  constructor(
    message: string,
    /** `symlink`, `not-directory`, `not-found`, `special`, `hard-link`, `too-large`, `too-deep`, `invalid` */
    readonly reason: string,
  ) {
    super(message);
    this.name = 'UnsafePathError';
  }
}

/** The path of `name` below an open directory, resolved by the kernel from the descriptor. */
export function atPath(dir: FileHandle, name: string): string {
  return `/proc/self/fd/${dir.fd}/${name}`;
}

/** Opens a directory itself (the walk's anchor); refuses a symlink. */
export async function openRoot(dirPath: string): Promise<FileHandle> {
  try {
    return await fs.open(dirPath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (err) {
    throw describe(err, dirPath);
  }
}

/** Opens the subdirectory `name` of `dir` without following a link. */
export async function openDirAt(dir: FileHandle, name: string, displayPath = name): Promise<FileHandle> {
  assertName(name);
  try {
    return await fs.open(atPath(dir, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (err) {
    throw describe(err, displayPath);
  }
}

/**
 * Gives this process's own directory `name` of `dir` back its owner's read, write and search bits,
 * when a mode (000, 300, 111) keeps the owner out: the agent's sandbox runs as the worker's uid when
 * the worker is not root, so a directory it locks would hide its bytes and nested repositories from
 * every walk. The inode is pinned first (O_PATH, no link followed, a directory only), so a swap
 * cannot redirect the chmod. True when the mode was changed; false for another owner's directory.
 */
export async function unlockOwnDirAt(dir: FileHandle, name: string, displayPath = name): Promise<boolean> {
  assertName(name);
  let pinned: FileHandle;
  try {
    pinned = await fs.open(atPath(dir, name), O_PATH | O_DIRECTORY | O_NOFOLLOW);
  } catch (err) {
    throw describe(err, displayPath);
  }
  try {
    const st = await pinned.stat();
    if (st.uid !== process.getuid?.() || (st.mode & 0o700) === 0o700) return false;
    await fs.chmod(`/proc/self/fd/${pinned.fd}`, (st.mode & 0o7777) | 0o700);
    return true;
  } finally {
    await pinned.close();
  }
}

/** Opens the file `name` of `dir` for reading, non-blocking and without following a link. */
export async function openFileAt(dir: FileHandle, name: string, displayPath = name): Promise<FileHandle> {
  assertName(name);
  try {
    return await fs.open(atPath(dir, name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    throw describe(err, displayPath);
  }
}

/**
 * Opens (creating it when missing) the file `name` of `dir` for writing, without truncating:
 * the caller checks with fstat that it is a regular file before it truncates and writes.
 */
export async function openFileForWriteAt(dir: FileHandle, name: string, displayPath = name, mode = 0o644): Promise<{ handle: FileHandle; created: boolean }> {
  assertName(name);
  try {
    return { handle: await fs.open(atPath(dir, name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK, mode), created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw describe(err, displayPath);
  }
  try {
    return { handle: await fs.open(atPath(dir, name), O_WRONLY | O_NOFOLLOW | O_NONBLOCK), created: false };
  } catch (err) {
    throw describe(err, displayPath);
  }
}

/** Creates the directory `name` in `dir` if it is missing (an existing symlink is refused when opened). */
export async function mkdirAt(dir: FileHandle, name: string, displayPath = name, mode = 0o755): Promise<boolean> {
  assertName(name);
  try {
    await fs.mkdir(atPath(dir, name), { mode });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw describe(err, displayPath);
  }
}

/** lstat of `name` in `dir`; undefined when it does not exist. */
export async function lstatAt(dir: FileHandle, name: string): Promise<Stats | undefined> {
  assertName(name);
  try {
    return await fs.lstat(atPath(dir, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** Renames `from` to `to` inside one directory; a symlink is renamed as a link, never followed. */
export async function renameAt(dir: FileHandle, from: string, to: string): Promise<void> {
  assertName(from);
  assertName(to);
  await fs.rename(atPath(dir, from), atPath(dir, to));
}

/**
 * The entries of an open directory one at a time (closed when iterated to the end or left), through
 * a descriptor of its own. There is no reading one whole: the agent can put a million long names in
 * a directory, which read at once took the worker 680 MB.
 */
export async function dirEntries(dir: FileHandle): Promise<Dir> {
  return fs.opendir(`/proc/self/fd/${dir.fd}`);
}

/**
 * Walks `segments` below `root` (each one a directory, no links), runs `fn` with the last
 * directory's descriptor, and closes every descriptor it opened. `create` makes missing
 * directories on the way (mkdir -p without following links).
 *
 * It holds two descriptors at most, whatever the depth: a level's is closed once the next level is
 * open below it, since nothing is resolved from it again (the next descriptor pins the directory
 * reached, so a swap above cannot move the rest of the walk). Holding one per level, each of
 * several parallel calls 1,000 levels deep took 1,000 of the worker's descriptors, and in a worker
 * allowed 1,024 all of them failed with EMFILE, as would any other activity meanwhile.
 */
export async function withDirAt<T>(
  root: FileHandle,
  segments: readonly string[],
  fn: (dir: FileHandle) => Promise<T>,
  options: { create?: boolean; onCreate?: (dir: FileHandle, name: string) => Promise<void> } = {},
): Promise<T> {
  if (segments.length > MAX_WALK_DEPTH) {
    throw new UnsafePathError(`${segments.slice(0, 3).join('/')}/… is ${segments.length} directories deep; paths go at most ${MAX_WALK_DEPTH} deep`, 'too-deep');
  }
  /** The one descriptor of this walk's own that is open (root is the caller's). */
  let held: FileHandle | undefined;
  try {
    let current = root;
    for (const [i, segment] of segments.entries()) {
      const display = segments.slice(0, i + 1).join('/');
      if (options.create && (await mkdirAt(current, segment, display))) await options.onCreate?.(current, segment);
      current = await openDirAt(current, segment, display);
      // The new descriptor is held before the old one is closed: a close that throws leaks neither.
      const previous = held;
      held = current;
      await previous?.close();
    }
    return await fn(current);
  } finally {
    await held?.close().catch(() => undefined);
  }
}

/** One path component: no separators, not `.` or `..`, no NUL. */
function assertName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new UnsafePathError(`invalid path component ${JSON.stringify(name)}`, 'invalid');
  }
}

function describe(err: unknown, displayPath: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ELOOP':
      return new UnsafePathError(`${displayPath} is a symbolic link; links are not followed`, 'symlink');
    case 'ENOTDIR':
      return new UnsafePathError(`${displayPath}: a path component is not a directory (or is a symbolic link)`, 'not-directory');
    case 'ENOENT':
      return new UnsafePathError(`${displayPath}: no such file or directory`, 'not-found');
    case 'ENXIO':
    case 'ENODEV':
      return new UnsafePathError(`${displayPath} is not a regular file`, 'special');
    case 'EISDIR':
      return new UnsafePathError(`${displayPath} is a directory`, 'not-directory');
    default:
      return err instanceof Error ? err : new Error(String(err));
  }
}

/** Splits a relative path into its components; refuses absolute paths and `..`. */
export function relativeSegments(relativePath: string): string[] {
  if (relativePath.startsWith('/')) throw new UnsafePathError(`${relativePath} is not a relative path`, 'invalid');
  const segments = relativePath.split('/').filter((s) => s !== '' && s !== '.');
  for (const s of segments) assertName(s);
  if (segments.length === 0) throw new UnsafePathError(`${JSON.stringify(relativePath)} names no file`, 'invalid');
  return segments;
}

/**
 * Reads `relativePath` below `root` without following a link anywhere on the way: a regular
 * file up to `maxBytes`, else an UnsafePathError; undefined when it does not exist.
 */
export async function readFileNoFollow(root: string, relativePath: string, maxBytes: number): Promise<string | undefined> {
  const segments = relativeSegments(relativePath);
  const rootHandle = await openRoot(root);
  try {
    return await withDirAt(rootHandle, segments.slice(0, -1), async (dir) => {
      const name = segments[segments.length - 1]!;
      const handle = await openFileAt(dir, name, relativePath);
      try {
        const st = await handle.stat();
        if (!st.isFile()) throw new UnsafePathError(`${relativePath} is not a regular file`, 'special');
        if (st.size > maxBytes) throw new UnsafePathError(`${relativePath} is larger than ${maxBytes} bytes`, 'too-large');
        const buffer = Buffer.alloc(st.size);
        const { bytesRead } = await handle.read(buffer, 0, st.size, 0);
        return buffer.subarray(0, bytesRead).toString('utf8');
      } finally {
        await handle.close();
      }
    });
  } catch (err) {
    if (err instanceof UnsafePathError && err.reason === 'not-found') return undefined;
    throw err;
  } finally {
    await rootHandle.close();
  }
}

/**
 * Removes the entry `relativePath` below `root` (a link is removed, never followed); absent is
 * fine. A directory is left alone: removing one would walk a tree someone else may be changing.
 */
export async function unlinkNoFollow(root: string, relativePath: string): Promise<void> {
  const segments = relativeSegments(relativePath);
  const rootHandle = await openRoot(root);
  try {
    await withDirAt(rootHandle, segments.slice(0, -1), async (dir) => {
      const name = segments[segments.length - 1]!;
      const st = await lstatAt(dir, name);
      if (!st || st.isDirectory()) return;
      await fs.unlink(atPath(dir, name));
    });
  } catch (err) {
    if (err instanceof UnsafePathError && (err.reason === 'not-found' || err.reason === 'not-directory' || err.reason === 'symlink')) return;
    throw err;
  } finally {
    await rootHandle.close();
  }
}
