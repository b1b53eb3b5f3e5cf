/**
 * Anthropic's text editor tool (`str_replace_based_edit_tool`, text_editor_20250728), applied to
 * the worktree from the host. The worktree is what the sandbox mounts, so edits made here are
 * what the agent's commands see.
 *
 * The agent writes that tree, links and FIFOs included, possibly while we read it. So a path is
 * never handed to the kernel whole: it is walked one component at a time below a descriptor of
 * the worktree root, without following a link anywhere (safe-fs.ts), and the operation acts on
 * the descriptor it opened. Only regular files with a single link are read or written (a FIFO,
 * a device or a hard link to something else is refused without being read), up to a size cap.
 */
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { PathOutsideWorkspaceError } from '../host/paths';
import { atPath, dirEntries, openFileAt, openFileForWriteAt, openRoot, UnsafePathError, withDirAt } from './safe-fs';
import { promises as fs, type Stats } from 'node:fs';
import { cutBefore, SECRET_CONTEXT_CHARS } from '../../scanner';

export interface EditorCommand {
  command: 'view' | 'create' | 'str_replace' | 'insert' | string;
  path: string;
  file_text?: string;
  old_str?: string;
  new_str?: string;
  insert_line?: number;
  insert_text?: string;
  view_range?: [number, number];
}

export interface EditorContext {
  /** The worktree on the host. */
  hostRoot: string;
  /** The worktree as the agent sees it (`/workspace` in a sandbox). */
  visibleRoot: string;
  readOnly: boolean;
  maxOutputBytes: number;
  /** Largest file the editor reads or writes. @default DEFAULT_EDITOR_MAX_FILE_BYTES */
  maxFileBytes?: number;
}

export const DEFAULT_EDITOR_MAX_FILE_BYTES = 4 * 1024 * 1024;

export class ToolInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolInputError';
  }
}

/** A path the agent gave, as components below the worktree root (empty for the root itself). */
export function toolPathSegments(requested: string, ctx: Pick<EditorContext, 'hostRoot' | 'visibleRoot'>): string[] {
  if (typeof requested !== 'string' || requested.length === 0) throw new ToolInputError('path is required');
  if (requested.includes('\0')) throw new ToolInputError('path contains a NUL byte');
  let rel = requested;
  for (const root of [ctx.visibleRoot, ctx.hostRoot]) {
    if (requested === root) rel = '.';
    else if (requested.startsWith(root + '/')) rel = requested.slice(root.length + 1);
  }
  if (path.posix.isAbsolute(rel)) throw new PathOutsideWorkspaceError(`path ${JSON.stringify(requested)} is outside the workspace`);
  const segments: string[] = [];
  for (const part of rel.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      // Lexical only: no link is ever followed, so `a/..` means the directory holding `a`.
      if (segments.length === 0) throw new PathOutsideWorkspaceError(`path ${JSON.stringify(requested)} is outside the workspace`);
      segments.pop();
    } else {
      segments.push(part);
    }
  }
  if (segments[0] === '.git') throw new ToolInputError('the .git directory is managed by the orchestrator');
  return segments;
}

export async function runEditorCommand(cmd: EditorCommand, ctx: EditorContext): Promise<string> {
  const segments = toolPathSegments(cmd.path, ctx);
  const writes = cmd.command !== 'view';
  if (writes && ctx.readOnly) throw new ToolInputError(`${cmd.command} is not allowed: this agent has read-only tools`);
  const maxFileBytes = ctx.maxFileBytes ?? DEFAULT_EDITOR_MAX_FILE_BYTES;
  const root = await openRoot(ctx.hostRoot);
  try {
    return await dispatch(cmd, segments, root, { ...ctx, maxFileBytes });
  } catch (err) {
    if (err instanceof UnsafePathError) throw new ToolInputError(err.message);
    // Any other file system error on an agent path is the agent's to see (without host paths), not a worker fault.
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string') throw new ToolInputError(`${cmd.path}: ${cmd.command} failed (${code})`);
    throw err;
  } finally {
    await root.close();
  }
}

type Ctx = EditorContext & { maxFileBytes: number };

async function dispatch(cmd: EditorCommand, segments: string[], root: FileHandle, ctx: Ctx): Promise<string> {
  const display = segments.join('/') || '.';
  const parents = segments.slice(0, -1);
  const name = segments[segments.length - 1];
  switch (cmd.command) {
    case 'view':
      if (!name) return listDirectory(root, ctx);
      return withDirAt(root, parents, async (dir) => {
        const st = await fs.lstat(atPath(dir, name)).catch(() => undefined);
        if (st?.isDirectory()) return withDirAt(dir, [name], (named) => listDirectory(named, ctx));
        return view(await readRegular(dir, name, display, ctx), cmd.view_range, ctx);
      });
    case 'create': {
      if (typeof cmd.file_text !== 'string') throw new ToolInputError('create needs file_text');
      if (!name) throw new ToolInputError('create needs a file path, not the workspace root');
      const text = cmd.file_text;
      assertSize(Buffer.byteLength(text), display, ctx);
      const owner = await ownerToGive(root);
      await withDirAt(root, parents, (dir) => writeRegular(dir, name, display, text, owner), {
        create: true,
        onCreate: async (dir, created) => {
          if (owner) await fs.lchown(atPath(dir, created), owner.uid, owner.gid);
        },
      });
      return `File created: ${cmd.path}`;
    }
    case 'str_replace': {
      if (typeof cmd.old_str !== 'string') throw new ToolInputError('str_replace needs old_str');
      if (!name) throw new ToolInputError('str_replace needs a file path');
      const oldStr = cmd.old_str;
      await withDirAt(root, parents, async (dir) => {
        const text = await readRegular(dir, name, display, ctx);
        const count = text.split(oldStr).length - 1;
        if (count === 0) throw new ToolInputError('old_str was not found in the file');
        if (count > 1) throw new ToolInputError(`old_str occurs ${count} times; make it unique`);
        const updated = text.replace(oldStr, () => cmd.new_str ?? '');
        assertSize(Buffer.byteLength(updated), display, ctx);
        await writeRegular(dir, name, display, updated, undefined);
      });
      return `File edited: ${cmd.path}`;
    }
    case 'insert': {
      const insertText = cmd.insert_text ?? cmd.new_str;
      if (typeof insertText !== 'string' || typeof cmd.insert_line !== 'number') throw new ToolInputError('insert needs insert_line and insert_text');
      if (!name) throw new ToolInputError('insert needs a file path');
      const line = cmd.insert_line;
      await withDirAt(root, parents, async (dir) => {
        const lines = (await readRegular(dir, name, display, ctx)).split('\n');
        if (line < 0 || line > lines.length) throw new ToolInputError(`insert_line must be between 0 and ${lines.length}`);
        lines.splice(line, 0, ...insertText.split('\n'));
        const updated = lines.join('\n');
        assertSize(Buffer.byteLength(updated), display, ctx);
        await writeRegular(dir, name, display, updated, undefined);
      });
      return `Inserted ${insertText.split('\n').length} line(s) after line ${line} of ${cmd.path}`;
    }
    default:
      throw new ToolInputError(`unknown editor command ${JSON.stringify(cmd.command)}`);
  }
}

/**
 * The entries of `dir`, one a line and sorted, up to `maxOutputBytes` as a file's view is: the
 * agent can fill a directory with a million long names, which read whole would take the worker
 * hundreds of MB and go whole into the transcript and every later request. Past the cap the
 * directory is read no further, so the lines kept are the first in directory order.
 */
async function listDirectory(dir: FileHandle, ctx: Ctx): Promise<string> {
  const lines: string[] = [];
  let bytes = 0;
  let more = false;
  for await (const e of await dirEntries(dir)) {
    if (e.name === '.git') continue;
    const line = e.isDirectory() ? `${e.name}/` : e.isSymbolicLink() ? `${e.name}@` : e.name;
    bytes += Buffer.byteLength(line) + 1;
    if (bytes > ctx.maxOutputBytes) {
      more = true;
      break;
    }
    lines.push(line);
  }
  const listing = lines.sort().join('\n');
  return more ? `${listing}\n[... more entries not listed; use bash (ls, find) to see them ...]` : listing;
}

function view(text: string, range: [number, number] | undefined, ctx: Ctx): string {
  const lines = text.split('\n');
  const [from, to] = range ?? [1, lines.length];
  const end = to === -1 ? lines.length : Math.min(to, lines.length);
  const out = lines
    .slice(Math.max(from, 1) - 1, end)
    .map((line, i) => `${String(i + Math.max(from, 1)).padStart(6)}\t${line}`)
    .join('\n');
  if (out.length <= ctx.maxOutputBytes) return out;
  // Never through a secret: the transcript's readers see it redacted, and half a token is not recognised.
  const kept = out.slice(0, ctx.maxOutputBytes + SECRET_CONTEXT_CHARS);
  return `${kept.slice(0, cutBefore(kept, ctx.maxOutputBytes))}\n[... truncated; use view_range ...]`;
}

/** Reads `name` in `dir`: a regular file with one link, within the size cap. */
async function readRegular(dir: FileHandle, name: string, display: string, ctx: Ctx): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await openFileAt(dir, name, display);
  } catch (err) {
    if (err instanceof UnsafePathError && err.reason === 'not-found') throw new ToolInputError(`${display}: no such file`);
    throw err;
  }
  try {
    const st = await handle.stat();
    assertRegular(st, display);
    assertSize(st.size, display, ctx);
    const buffer = Buffer.alloc(st.size);
    const { bytesRead } = await handle.read(buffer, 0, st.size, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Replaces the content of `name` in `dir` (creating it), refusing anything but a single-link regular file. */
async function writeRegular(dir: FileHandle, name: string, display: string, text: string, owner: { uid: number; gid: number } | undefined): Promise<void> {
  const { handle, created } = await openFileForWriteAt(dir, name, display);
  try {
    assertRegular(await handle.stat(), display);
    await handle.truncate(0);
    await handle.write(text, 0, 'utf8');
    if (created && owner) await handle.chown(owner.uid, owner.gid);
  } finally {
    await handle.close();
  }
}

function assertRegular(st: Stats, display: string): void {
  if (st.isDirectory()) throw new ToolInputError(`${display} is a directory`);
  if (!st.isFile()) throw new ToolInputError(`${display} is not a regular file (a FIFO, socket or device); the editor only opens regular files`);
  if (st.nlink > 1) throw new ToolInputError(`${display} has ${st.nlink} hard links; the editor only opens files with one`);
}

function assertSize(bytes: number, display: string, ctx: Ctx): void {
  if (bytes > ctx.maxFileBytes) {
    throw new ToolInputError(`${display} is ${bytes} bytes; the editor handles files up to ${ctx.maxFileBytes} bytes (use bash for larger files)`);
  }
}

/** Files the worker creates as root must stay editable by the sandbox user that owns the worktree. */
async function ownerToGive(root: FileHandle): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const { uid, gid } = await root.stat();
  return uid === 0 ? undefined : { uid, gid };
}
