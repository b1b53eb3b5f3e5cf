/**
 * Anthropic's text editor tool (`str_replace_based_edit_tool`, text_editor_20250728), applied to
 * the worktree on the host. The worktree is what the sandbox mounts, so edits made here are what
 * the agent's commands see. Every path is confined to the worktree, symlinks included.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PathOutsideWorkspaceError, resolveInside } from '../host/paths';

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
}

export class ToolInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolInputError';
  }
}

/** Maps a path from the model to a host path inside the worktree, or throws. */
export async function resolveToolPath(requested: string, ctx: EditorContext): Promise<string> {
  if (typeof requested !== 'string' || requested.length === 0) throw new ToolInputError('path is required');
  let rel = requested;
  for (const root of [ctx.visibleRoot, ctx.hostRoot]) {
    if (requested === root) rel = '.';
    else if (requested.startsWith(root + '/')) rel = requested.slice(root.length + 1);
  }
  if (path.isAbsolute(rel)) throw new PathOutsideWorkspaceError(`path ${JSON.stringify(requested)} is outside the workspace`);
  const resolved = resolveInside(ctx.hostRoot, rel);
  const relative = path.relative(ctx.hostRoot, resolved);
  if (relative === '.git' || relative.startsWith('.git' + path.sep)) throw new ToolInputError('the .git directory is managed by the orchestrator');
  // A symlink inside the worktree must not lead out of it.
  const realRoot = await fs.realpath(ctx.hostRoot);
  let probe = resolved;
  for (;;) {
    try {
      const real = await fs.realpath(probe);
      if (real !== realRoot && !real.startsWith(realRoot + path.sep)) throw new PathOutsideWorkspaceError(`path ${JSON.stringify(requested)} is outside the workspace`);
      break;
    } catch (err) {
      if (err instanceof PathOutsideWorkspaceError) throw err;
      const parent = path.dirname(probe);
      if (parent === probe) break;
      probe = parent;
    }
  }
  return resolved;
}

export async function runEditorCommand(cmd: EditorCommand, ctx: EditorContext): Promise<string> {
  const file = await resolveToolPath(cmd.path, ctx);
  const writes = cmd.command !== 'view';
  if (writes && ctx.readOnly) throw new ToolInputError(`${cmd.command} is not allowed: this agent has read-only tools`);
  switch (cmd.command) {
    case 'view':
      return view(file, cmd.view_range, ctx);
    case 'create': {
      if (typeof cmd.file_text !== 'string') throw new ToolInputError('create needs file_text');
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, cmd.file_text);
      await matchOwner(file, ctx.hostRoot);
      return `File created: ${cmd.path}`;
    }
    case 'str_replace': {
      if (typeof cmd.old_str !== 'string') throw new ToolInputError('str_replace needs old_str');
      const text = await readText(file);
      const count = text.split(cmd.old_str).length - 1;
      if (count === 0) throw new ToolInputError('old_str was not found in the file');
      if (count > 1) throw new ToolInputError(`old_str occurs ${count} times; make it unique`);
      await fs.writeFile(file, text.replace(cmd.old_str, () => cmd.new_str ?? ''));
      return `File edited: ${cmd.path}`;
    }
    case 'insert': {
      const insertText = cmd.insert_text ?? cmd.new_str;
      if (typeof insertText !== 'string' || typeof cmd.insert_line !== 'number') throw new ToolInputError('insert needs insert_line and insert_text');
      const lines = (await readText(file)).split('\n');
      if (cmd.insert_line < 0 || cmd.insert_line > lines.length) throw new ToolInputError(`insert_line must be between 0 and ${lines.length}`);
      lines.splice(cmd.insert_line, 0, ...insertText.split('\n'));
      await fs.writeFile(file, lines.join('\n'));
      return `Inserted ${insertText.split('\n').length} line(s) after line ${cmd.insert_line} of ${cmd.path}`;
    }
    default:
      throw new ToolInputError(`unknown editor command ${JSON.stringify(cmd.command)}`);
  }
}

async function view(file: string, range: [number, number] | undefined, ctx: EditorContext): Promise<string> {
  const stat = await fs.stat(file).catch(() => null);
  if (!stat) throw new ToolInputError('no such file or directory');
  if (stat.isDirectory()) {
    const entries = await fs.readdir(file, { withFileTypes: true });
    return entries
      .filter((e) => e.name !== '.git')
      .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
      .sort()
      .join('\n');
  }
  const lines = (await readText(file)).split('\n');
  const [from, to] = range ?? [1, lines.length];
  const end = to === -1 ? lines.length : Math.min(to, lines.length);
  const out = lines
    .slice(Math.max(from, 1) - 1, end)
    .map((line, i) => `${String(i + Math.max(from, 1)).padStart(6)}\t${line}`)
    .join('\n');
  return out.length > ctx.maxOutputBytes ? `${out.slice(0, ctx.maxOutputBytes)}\n[... truncated; use view_range ...]` : out;
}

async function readText(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    throw new ToolInputError('no such file');
  }
}

/** Files the worker creates (as root) must stay editable by the sandbox user that owns the worktree. */
async function matchOwner(file: string, root: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = await fs.stat(root);
  if (uid === 0) return;
  let p = file;
  while (p !== root && p.startsWith(root)) {
    await fs.chown(p, uid, gid).catch(() => undefined);
    p = path.dirname(p);
  }
}
