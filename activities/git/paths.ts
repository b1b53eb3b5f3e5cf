/**
 * Where things live under the workspace root, and the guard that keeps every path there:
 *   <root>/mirrors/<16 hex of sha256(normalised URL)>.git   one bare mirror per remote
 *   <root>/mirrors/<hash>.lock                              its cross-process lock
 *   <root>/worktrees/<agentId>                              one worktree per agent
 */
import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { WorkspacePathError } from './errors';

export interface WorkspaceLayout {
  root: string;
  mirrorsDir: string;
  worktreesDir: string;
}

export function workspaceLayout(workspaceRoot: string): WorkspaceLayout {
  const root = path.resolve(workspaceRoot);
  return { root, mirrorsDir: path.join(root, 'mirrors'), worktreesDir: path.join(root, 'worktrees') };
}

/**
 * One spelling per remote, so `https://Host/a/b.git/` and `https://host/a/b` share a mirror.
 * Only scheme and host are case-folded: paths are case-sensitive on most servers.
 */
export function normaliseRepositoryUrl(url: string): string {
  let u = url.trim().replace(/\/+$/, '').replace(/\.git$/, '');
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/]*)(.*)$/i.exec(u);
  if (m) u = m[1]!.toLowerCase() + m[2]!.toLowerCase() + m[3]!;
  return u;
}

export function mirrorPathFor(layout: WorkspaceLayout, url: string): string {
  const hash = createHash('sha256').update(normaliseRepositoryUrl(url)).digest('hex').slice(0, 16);
  return path.join(layout.mirrorsDir, `${hash}.git`);
}

export function worktreePathFor(layout: WorkspaceLayout, agentId: string): string {
  return assertInside(layout.worktreesDir, path.join(layout.worktreesDir, agentId));
}

/** Returns `candidate` resolved, or throws when it is not strictly inside `parent`. */
export function assertInside(parent: string, candidate: string): string {
  const resolved = path.resolve(candidate);
  const rel = path.relative(path.resolve(parent), resolved);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new WorkspacePathError(`path ${resolved} is outside ${parent}`);
  }
  return resolved;
}

/** As assertInside, after following symlinks, for paths that already exist. */
export async function assertRealInside(parent: string, candidate: string): Promise<string> {
  assertInside(parent, candidate);
  const [realParent, realCandidate] = await Promise.all([realpath(parent), realpath(candidate)]);
  assertInside(realParent, realCandidate);
  return path.resolve(candidate);
}
