/**
 * Worktrees moved aside (moveAside): `<root>/orphaned/<agentId>-<epoch ms>`. No mirror registers
 * them, so nothing can salvage them and no cleanup of the run looks for them: the reaper is their
 * owner. One goes once its agent's run is closed (the reaper's isClosed also stops the run's
 * processes, and a container of it may still mount the moved directory); one whose name holds no
 * agent id (a stray directory under worktrees/) once it is older than ORPHANED_MAX_AGE_MS.
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { removeTree } from '../host/remove-tree';
import type { GitContext } from './context';
import type { WorkspaceLayout } from './paths';
import { isAgentId } from './validate';

/** Long enough for an operator to look at a stray directory; the disk is bounded by it. */
export const ORPHANED_MAX_AGE_MS = 24 * 3600_000;

/** `dir`'s place in the orphaned area: its name (the agent id) and when it was moved. */
export function orphanedPathFor(layout: WorkspaceLayout, dir: string, now = Date.now()): string {
  return path.join(layout.orphanedDir, `${path.basename(dir)}-${now}`);
}

/** What an entry's name says: the agent it belonged to and when it was moved aside, each when readable. */
export function parseOrphanedName(name: string): { agentId?: string; movedAt?: number } {
  const m = /^(.+)-(\d{13})$/.exec(name);
  if (!m) return {};
  return { ...(isAgentId(m[1]!) ? { agentId: m[1] } : {}), movedAt: Number(m[2]) };
}

export interface OrphanedReapOptions {
  now?: number;
  maxAgeMs?: number;
  remove?: (dir: string) => Promise<void>;
}

/** Removes the orphaned entries that are due; one that fails is logged and left for the next pass. */
export async function reapOrphaned(
  ctx: GitContext,
  isClosed: (agentId: string) => Promise<boolean>,
  { now = Date.now(), maxAgeMs = ORPHANED_MAX_AGE_MS, remove = removeTree }: OrphanedReapOptions = {},
): Promise<number> {
  let removed = 0;
  for (const name of await readdir(ctx.layout.orphanedDir).catch(() => [] as string[])) {
    const dir = path.join(ctx.layout.orphanedDir, name);
    try {
      if (!(await isDue(dir, name, isClosed, now - maxAgeMs))) continue;
      // The agent wrote the tree: any depth, any mode, links (removeTree follows none).
      await remove(dir);
      removed++;
      ctx.log('git: orphaned directory removed', { event: 'orphaned-remove', name });
    } catch (err) {
      ctx.log('git: removing an orphaned directory failed', { name, error: (err as Error).message });
    }
  }
  return removed;
}

async function isDue(dir: string, name: string, isClosed: (agentId: string) => Promise<boolean>, cutoff: number): Promise<boolean> {
  const { agentId, movedAt } = parseOrphanedName(name);
  if (agentId) return isClosed(agentId);
  return (movedAt ?? (await lstat(dir)).mtimeMs) < cutoff;
}
