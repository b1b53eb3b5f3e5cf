/**
 * Reading files as a commit has them, from the service's mirror: never from the worktree (the
 * agent writes there) and never through a rendering that attributes could change (`cat-file`
 * prints the blob as stored). Only regular files count: a symlink in the tree is refused
 * rather than followed, a missing path is `undefined`.
 */
import type { WorkspaceInfo } from '../../domain/agent';
import type { GitContext, OperationOptions } from './context';
import { GitInputError } from './errors';
import { assertInside } from './paths';

const COMMIT_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
/** Configuration files (gates.json, package.json, .secretsignore) are small; a huge one is refused. */
export const DEFAULT_MAX_CONFIG_BYTES = 4 * 1024 * 1024;

export interface TreeEntry {
  mode: string;
  type: string;
  oid: string;
  /** Bytes of a blob (absent for a tree or a submodule). */
  size?: number;
}

/**
 * The tree entry at `relativePath` in `commitish` (a commit or tree id), or undefined when there
 * is none. Answers are kept (object-cache.ts): a commit's entries never change.
 */
export async function treeEntry(
  ctx: GitContext,
  mirrorPath: string,
  commitSha: string,
  relativePath: string,
  options: OperationOptions = {},
): Promise<TreeEntry | undefined> {
  if (!COMMIT_SHA.test(commitSha)) throw new GitInputError(`not a commit id: ${JSON.stringify(commitSha)}`);
  assertTreePath(relativePath);
  const key = `entry\0${mirrorPath}\0${commitSha}\0${relativePath}`;
  const known = ctx.objects.get<TreeEntry | undefined>(key);
  if (known) return known.value;
  // A file at the root is in the root listing when one was read (gate detection reads it first).
  const root = relativePath.includes('/') ? undefined : ctx.objects.get<Map<string, TreeEntry>>(rootKey(mirrorPath, commitSha));
  if (root) return root.value.get(relativePath);
  const { stdout } = await ctx.git(['-C', mirrorPath, 'ls-tree', '-z', '--long', '--full-tree', commitSha, '--', relativePath], options);
  // A directory lists itself as a tree entry.
  const entry = parseTreeListing(stdout).get(relativePath);
  ctx.objects.set(key, entry, key.length + 128);
  return entry;
}

/** `ls-tree -z [--long]` output: `<mode> SP <type> SP <oid> [SP+ <size or ->] TAB <path> NUL` per entry. */
export function parseTreeListing(stdout: string): Map<string, TreeEntry> {
  const entries = new Map<string, TreeEntry>();
  for (const record of stdout.split('\0').filter(Boolean)) {
    const tab = record.indexOf('\t');
    const [mode = '', type = '', oid = '', size = ''] = record.slice(0, tab).split(/ +/);
    entries.set(record.slice(tab + 1), { mode, type, oid, ...(/^\d+$/.test(size) ? { size: Number(size) } : {}) });
  }
  return entries;
}

const rootKey = (mirrorPath: string, commitSha: string) => `root\0${mirrorPath}\0${commitSha}`;

/** The content of a regular file at `commitSha`, or undefined when the commit has no such file. */
export async function readFileAtCommit(
  ctx: GitContext,
  mirrorPath: string,
  commitSha: string,
  relativePath: string,
  options: OperationOptions & { maxBytes?: number } = {},
): Promise<string | undefined> {
  const entry = await treeEntry(ctx, mirrorPath, commitSha, relativePath, options);
  if (!entry) return undefined;
  if (entry.type !== 'blob' || (entry.mode !== '100644' && entry.mode !== '100755')) {
    throw new GitInputError(`${relativePath} at ${commitSha.slice(0, 12)} is not a regular file (mode ${entry.mode})`);
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_CONFIG_BYTES;
  const size = entry.size ?? Number((await ctx.git(['-C', mirrorPath, 'cat-file', '-s', entry.oid], options)).stdout.trim());
  if (!(size <= maxBytes)) throw new GitInputError(`${relativePath} at ${commitSha.slice(0, 12)} is larger than ${maxBytes} bytes`);
  const key = `blob\0${mirrorPath}\0${entry.oid}`;
  const known = ctx.objects.get<string>(key);
  if (known) return known.value;
  const text = (await ctx.git(['-C', mirrorPath, 'cat-file', 'blob', entry.oid], options)).stdout;
  ctx.objects.set(key, text, key.length + size);
  return text;
}

/** A path inside a tree: relative, no `.`/`..` segments, no empty segments. */
function assertTreePath(relativePath: string): void {
  const parts = relativePath.split('/');
  if (relativePath === '' || parts.some((p) => p === '' || p === '.' || p === '..') || relativePath.includes('\0')) {
    throw new GitInputError(`not a path inside the repository: ${JSON.stringify(relativePath)}`);
  }
}

/** A file at the agent's base commit, from its mirror (gate definitions, package scripts, the allowlist). */
export async function readAtBase(
  ctx: GitContext,
  ws: Pick<WorkspaceInfo, 'mirrorPath' | 'baseSha'>,
  relativePath: string,
  options: OperationOptions = {},
): Promise<string | undefined> {
  assertInside(ctx.layout.mirrorsDir, ws.mirrorPath);
  return readFileAtCommit(ctx, ws.mirrorPath, ws.baseSha, relativePath, options);
}

/** Whether the agent's base commit has a regular file at `relativePath` (looked up, never read). */
export async function existsAtBase(
  ctx: GitContext,
  ws: Pick<WorkspaceInfo, 'mirrorPath' | 'baseSha'>,
  relativePath: string,
  options: OperationOptions = {},
): Promise<boolean> {
  assertInside(ctx.layout.mirrorsDir, ws.mirrorPath);
  return isRegularFile(await treeEntry(ctx, ws.mirrorPath, ws.baseSha, relativePath, options));
}

/**
 * The entries at the root of the agent's base commit, by name, in one `ls-tree`: gate detection
 * asks about a dozen manifests there, and one git process answers them all (once: it is kept).
 */
export async function rootEntriesAtBase(
  ctx: GitContext,
  ws: Pick<WorkspaceInfo, 'mirrorPath' | 'baseSha'>,
  options: OperationOptions = {},
): Promise<Map<string, TreeEntry>> {
  assertInside(ctx.layout.mirrorsDir, ws.mirrorPath);
  if (!COMMIT_SHA.test(ws.baseSha)) throw new GitInputError(`not a commit id: ${JSON.stringify(ws.baseSha)}`);
  const key = rootKey(ws.mirrorPath, ws.baseSha);
  const known = ctx.objects.get<Map<string, TreeEntry>>(key);
  if (known) return new Map(known.value);
  const { stdout } = await ctx.git(['-C', ws.mirrorPath, 'ls-tree', '-z', '--long', ws.baseSha], options);
  const entries = parseTreeListing(stdout);
  ctx.objects.set(key, entries, key.length + stdout.length + entries.size * 64);
  return new Map(entries);
}

/** A regular file (not a link, not a submodule). */
export function isRegularFile(entry: TreeEntry | undefined): boolean {
  return entry?.type === 'blob' && (entry.mode === '100644' || entry.mode === '100755');
}
