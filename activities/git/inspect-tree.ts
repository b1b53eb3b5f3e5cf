/**
 * A look at an agent-written directory tree without trusting it: the walk holds a descriptor
 * per directory and opens each child below it without following links (tools/safe-fs), so
 * neither a symlink nor a component swapped halfway can lead it outside; nothing but
 * directories is opened (a FIFO cannot block it); a directory of this process's own that its
 * mode closes is given its owner's bits back first (a non-root worker shares its uid with the
 * sandbox); it stays on the tree's own filesystem. It
 * answers what the host needs before git or a budget check touches the tree: how many bytes
 * it holds, which `.git` entries sit below the root (nested repositories, or `.git` files
 * pointing anywhere), which entries would block git, and which special files exist.
 */
import { unlink, type FileHandle } from 'node:fs/promises';
import { atPath, dirEntries, lstatAt, openDirAt, openRoot, renameAt, unlockOwnDirAt, UnsafePathError, withDirAt } from '../tools/safe-fs';
import { deepWalks, FREE_LEVELS } from '../tools/deep-walks';

export interface TreeInspection {
  /**
   * Bytes the entries cost: each entry's apparent size or its allocated blocks, whichever is more
   * (a sparse file counts in full; directories, xattrs and slack count what they allocate). A file
   * with several hard links counts once, unless `everyLink`.
   */
  bytes: number;
  entries: number;
  /** Relative paths of `.git` entries below the root (the root's own `.git` is not listed), the first MAX_NESTED_GIT. */
  nestedGit: string[];
  /**
   * Relative paths of FIFOs named as a file git opens in every directory it walks (`.gitignore`,
   * `.gitattributes`): its open() of one waits for a writer that never comes. Every one of them:
   * a single one left blocks git (the walk after each batch keeps the tree within WORKSPACE_MAX_FILES).
   */
  gitBlockers: string[];
  /**
   * Relative paths of directories the walk could not open even after unlocking them (another
   * owner's, with a mode that keeps this process out), or would not (deeper than MAX_DEPTH): what
   * they hold is neither counted nor seen.
   */
  unreadable: string[];
  /** Relative paths of FIFOs, sockets and device nodes (the first few). */
  special: string[];
  /**
   * Bytes of the regular files named `.gitignore` or `.gitattributes`: git matches every path it
   * walks against every rule in them, so their size multiplies the cost of each host git call
   * over the tree (GIT_RULES_MAX_BYTES).
   */
  gitRuleBytes: number;
}

/**
 * What the host's git reads of the agent's ignore and attribute rules, in all. A project's own are
 * a few KB; 1 MB of wildcard rules over 10,000 new files cost one `git add` 5 s of CPU on this
 * project's machine, 22 MB 88 s, and an agent could make every checkpoint pay that again.
 */
export const GIT_RULES_MAX_BYTES = 256 * 1024;

export interface InspectOptions {
  /** Stop walking once more than this many bytes are seen (`bytes` is then a lower bound). */
  stopAtBytes?: number;
  /** Stop walking once more than this many entries are seen (`entries` is then a lower bound). */
  stopAtEntries?: number;
  signal?: AbortSignal;
  /** Called every few thousand entries, so an activity can heartbeat. */
  onProgress?: () => void;
  /**
   * Walk into `.git` directories too (still listed in `nestedGit`): a disk budget must count what
   * the agent stored there, or a directory named `.git` would hide any amount of data.
   */
  countInsideGit?: boolean;
  /**
   * Count a file with several hard links at each of its paths: git stores a path, not an inode, so
   * a checkpoint's rebuild or a gate checkout writes one file per link.
   */
  everyLink?: boolean;
}

const MAX_LISTED = 20;
/** Names git opens by itself in each directory of a worktree it walks (add, status); it follows no link for them (git >= 2.32). */
const READ_BY_GIT = new Set(['.gitignore', '.gitattributes']);
/** Nested repositories are listed in full up to this many: git must be kept out of every one. */
export const MAX_NESTED_GIT = 1000;
const PROGRESS_EVERY = 2000;
/**
 * The walk holds a descriptor per level, so a tree a million directories deep would take as many
 * from the worker (every other activity's sockets and spawns then fail); below FREE_LEVELS it
 * holds a permit of the worker's budget for deep walks too (deep-walks.ts). Git sees no deeper than a
 * path may be long (PATH_MAX 4096: at most 2048 levels), so nothing below this is git's to enter.
 */
export const MAX_DEPTH = 2048;

export async function inspectTree(root: string, options: InspectOptions = {}): Promise<TreeInspection> {
  const result: TreeInspection = { bytes: 0, entries: 0, nestedGit: [], gitBlockers: [], unreadable: [], special: [], gitRuleBytes: 0 };
  const rootHandle = await openRoot(root);
  try {
    const rootDev = (await rootHandle.stat()).dev;
    await walk(rootHandle, '', { rootDev, linked: new Set() }, result, options);
  } finally {
    await rootHandle.close();
  }
  return result;
}

interface WalkState {
  rootDev: number;
  /** Inodes with more than one link already counted: a pnpm store's links hold their bytes once. */
  linked: Set<number>;
}

async function walk(dir: FileHandle, rel: string, at: WalkState, result: TreeInspection, options: InspectOptions, depth = 0): Promise<void> {
  options.signal?.throwIfAborted();
  const stopped = () => (options.stopAtBytes !== undefined && result.bytes > options.stopAtBytes) || (options.stopAtEntries !== undefined && result.entries > options.stopAtEntries);
  // One entry at a time, and no further than the walk stops: the agent can put a million long names
  // in one directory, which read whole took the worker 680 MB however early the walk was to stop.
  // Subdirectories are entered once the listing is closed, so a level holds one descriptor, not two.
  const subdirs: string[] = [];
  for await (const entry of await dirEntries(dir)) {
    if (stopped()) return;
    const childRel = rel ? `${rel}/${entry.name}` : entry.name;
    result.entries += 1;
    if (result.entries % PROGRESS_EVERY === 0) options.onProgress?.();
    if (entry.name === '.git') {
      // The root's own `.git` is git's pointer file (never read); any other is a nested repository.
      if (rel !== '' && result.nestedGit.length < MAX_NESTED_GIT) result.nestedGit.push(childRel);
      if (!options.countInsideGit) continue;
    }
    const st = await lstatAt(dir, entry.name);
    if (!st) continue; // gone meanwhile
    if (options.everyLink || st.nlink < 2 || st.isDirectory() || !at.linked.has(st.ino)) result.bytes += Math.max(st.size, st.blocks * 512);
    if (st.nlink > 1 && !st.isDirectory()) at.linked.add(st.ino);
    if (st.isFile() && READ_BY_GIT.has(entry.name)) result.gitRuleBytes += st.size;
    if (st.isDirectory()) {
      if (st.dev !== at.rootDev) continue;
      if (depth >= MAX_DEPTH) {
        if (result.unreadable.length < MAX_NESTED_GIT) result.unreadable.push(childRel);
        continue;
      }
      subdirs.push(entry.name);
    } else if (!st.isFile() && !st.isSymbolicLink()) {
      if (st.isFIFO() && READ_BY_GIT.has(entry.name)) result.gitBlockers.push(childRel);
      if (result.special.length < MAX_LISTED) result.special.push(childRel);
    }
  }
  for (const name of subdirs) {
    if (stopped()) return;
    const childRel = rel ? `${rel}/${name}` : name;
    const below = async () => {
      const child = await openWalkedDir(dir, name, childRel, result);
      if (!child) return;
      try {
        await walk(child, childRel, at, result, options, depth + 1);
      } finally {
        await child.close();
      }
    };
    // Deeper than real projects go, the walk shares the worker's budget of descriptors (deep-walks.ts).
    await (depth + 1 === FREE_LEVELS ? deepWalks.use(options, below) : below());
  }
}

/**
 * A subdirectory to walk into: undefined when it was replaced meanwhile (gone, or a link now), or
 * when it stays closed to this process even after `unlockOwnDirAt` (then listed as unreadable).
 */
async function openWalkedDir(dir: FileHandle, name: string, rel: string, result: TreeInspection): Promise<FileHandle | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await openDirAt(dir, name, rel);
    } catch (err) {
      if (err instanceof UnsafePathError) return undefined;
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM') throw err;
      const unlocked = attempt === 0 && (await unlockOwnDirAt(dir, name, rel).catch(() => false));
      if (!unlocked) {
        if (result.unreadable.length < MAX_NESTED_GIT) result.unreadable.push(rel);
        return undefined;
      }
    }
  }
}

/**
 * Removes the FIFOs an inspection found under names git reads (`gitBlockers`), without following
 * links, before the host's git walks the tree. A FIFO holds no data and git never stores one, so
 * nothing of the agent's work is lost; an entry that is no longer a FIFO is left alone. Nothing of
 * the agent's runs meanwhile (each sandbox ends its processes with their command), so none comes
 * back. Returns the paths removed.
 */
export async function removeGitBlockers(root: string, gitBlockers: readonly string[]): Promise<string[]> {
  if (gitBlockers.length === 0) return [];
  const removed: string[] = [];
  const rootHandle = await openRoot(root);
  try {
    for (const rel of gitBlockers) {
      const parts = rel.split('/');
      const name = parts.pop()!;
      await withDirAt(rootHandle, parts, async (dir) => {
        if (!(await lstatAt(dir, name))?.isFIFO()) return;
        await unlink(atPath(dir, name));
        removed.push(rel);
      }).catch((err: unknown) => {
        if (!(err instanceof UnsafePathError)) throw err; // a directory on the way is gone or became a link: so is the FIFO
      });
    }
  } finally {
    await rootHandle.close();
  }
  return removed;
}

/**
 * Renames every `.git` entry below the root (not the root's own) to `.git-disabled-<n>`, without
 * following links: used before salvaging a worktree that is about to be deleted, so git never
 * enters a repository the agent planted, and its content is still kept as plain files.
 * Returns the paths that were renamed.
 *
 * Each walk enters `.git` directories too, and renames the deepest first (a path above stays
 * valid until its own turn): a walk that stopped at them saw one level of repositories nested in
 * each other's `.git` more per pass, so 100 levels took 100 walks of the whole tree and more made
 * the salvage, and with it the worktree's removal, fail every time. A pass renames up to
 * MAX_NESTED_GIT.
 */
export async function disableNestedGit(root: string, options: Pick<InspectOptions, 'signal' | 'onProgress'> = {}): Promise<string[]> {
  const renamed: string[] = [];
  for (let pass = 0; pass < 100; pass++) {
    const { nestedGit } = await inspectTree(root, { ...options, countInsideGit: true });
    if (nestedGit.length === 0) return renamed;
    const deepestFirst = [...nestedGit].sort((a, b) => b.split('/').length - a.split('/').length);
    const rootHandle = await openRoot(root);
    try {
      for (const rel of deepestFirst) {
        const parents = rel.split('/').slice(0, -1);
        const to = `.git-disabled-${Date.now().toString(36)}-${renamed.length}`;
        await withDirAt(rootHandle, parents, (dir) => renameAt(dir, '.git', to));
        renamed.push(rel);
      }
    } finally {
      await rootHandle.close();
    }
  }
  throw new Error(`${root}: nested .git entries keep appearing`);
}
