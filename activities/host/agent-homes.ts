/**
 * Each agent's HOME for commands run outside a sandbox: `<root>/<agentId>`, outside its worktree
 * so tool caches (.npm, .cache) never end up in a commit. An agent's home is removed by its
 * cleanup, and by the reaper when its run is closed (a worker that crashed mid-run left it).
 * The root belongs to one deployment (under WORKSPACE_ROOT), so the reaper never judges another
 * deployment's agents.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { assertInside, PathOutsideWorkspaceError } from './paths';

export interface AgentHomes {
  readonly root: string;
  /** The agent's home directory (not created). */
  pathFor(agentId: string): string;
  /** Creates it if missing and returns it. */
  ensure(agentId: string): Promise<string>;
  /** Removes it with everything in it; a missing home is fine. */
  remove(agentId: string): Promise<void>;
  /** Removes the homes whose run is closed; returns how many. */
  reap(isClosed: (agentId: string) => Promise<boolean>): Promise<number>;
}

export function agentHomes(root: string): AgentHomes {
  const base = path.resolve(root);
  const pathFor = (agentId: string) => {
    const home = assertInside(base, path.join(base, agentId));
    if (path.dirname(home) !== base) throw new PathOutsideWorkspaceError(`agent id ${JSON.stringify(agentId)} is not a plain name`);
    return home;
  };
  return {
    root: base,
    pathFor,
    async ensure(agentId) {
      const home = pathFor(agentId);
      await mkdir(home, { recursive: true });
      return home;
    },
    async remove(agentId) {
      await rm(pathFor(agentId), { recursive: true, force: true });
    },
    async reap(isClosed) {
      const entries = await readdir(base, { withFileTypes: true }).catch(() => []);
      let removed = 0;
      for (const entry of entries) {
        if (!entry.isDirectory() || !(await isClosed(entry.name))) continue;
        await rm(path.join(base, entry.name), { recursive: true, force: true });
        removed++;
      }
      return removed;
    },
  };
}
