/**
 * Where things live under the workspace root, and the guard that keeps every path there:
 *   <root>/mirrors/<16 hex of sha256(normalised URL)>.git   one bare mirror per remote
 *   <root>/mirrors/<hash>.lock                              its cross-process lock
 *   <root>/worktrees/<agentId>                              one worktree per agent
 *   <root>/checkpoints/<agentId>.git                        its checkpoint repository (objects and index)
 *   <root>/orphaned/<agentId>-<epoch ms>                    a worktree no mirror registers, moved aside (orphaned.ts)
 *   <root>/tmp/<process>/<label>-<random>                   one operation's scratch (host/scratch.ts)
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { assertInside } from '../host/paths';

export { assertInside, assertRealInside } from '../host/paths';

export interface WorkspaceLayout {
  root: string;
  mirrorsDir: string;
  worktreesDir: string;
  checkpointsDir: string;
  orphanedDir: string;
  scratchDir: string;
}

export function workspaceLayout(workspaceRoot: string): WorkspaceLayout {
  const root = path.resolve(workspaceRoot);
  return {
    root,
    mirrorsDir: path.join(root, 'mirrors'),
    worktreesDir: path.join(root, 'worktrees'),
    checkpointsDir: path.join(root, 'checkpoints'),
    orphanedDir: path.join(root, 'orphaned'),
    scratchDir: path.join(root, 'tmp'),
  };
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

/**
 * Creates `dir` (if needed) with mode 0711: others may pass through it but not list it. A
 * namespace sandbox runs as the sandbox user, which must reach the worktree it mounts.
 */
export async function makeTraversable(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o711);
}
