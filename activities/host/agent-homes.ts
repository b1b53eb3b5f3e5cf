/**
 * Each agent's HOME: `<root>/<agentId>`, outside its worktree, so tool caches (.npm, .cache,
 * go-build, .cargo) last from one command to the next without ever ending up in a commit. Every
 * sandbox runtime mounts it at the same place for the agent's own commands; gates never see it
 * (an agent could plant an .npmrc there to steer them). It is a cache, not state: it is not
 * checkpointed, and an agent moved to another host starts with an empty one.
 *
 * The host never reads what is in a home: it creates the directory, counts its size against
 * WORKSPACE_MAX_MB, and removes it (never following a link the agent planted) once no process of
 * the agent runs. An agent's home is removed by its cleanup, and by the reaper when its run is
 * closed (a worker that crashed mid-run left it). The root belongs to one deployment (under WORKSPACE_ROOT), so the reaper
 * never judges another deployment's agents.
 */
import { chmod, lchown, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { assertInside, PathOutsideWorkspaceError } from './paths';
import { removeTree } from './remove-tree';

/** Where every sandbox runtime mounts the agent's home. */
export const SANDBOX_HOME = '/home/agent';

export interface AgentHomes {
  readonly root: string;
  /** The agent's home directory (not created). */
  pathFor(agentId: string): string;
  /** Creates it if missing (owned by `owner` when the worker is root) and returns it. */
  ensure(agentId: string, owner?: { uid: number; gid: number }): Promise<string>;
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
    async ensure(agentId, owner) {
      const home = pathFor(agentId);
      // The sandbox user must pass the root to reach its home; it may list nobody's (set, not left to the umask).
      await mkdir(base, { recursive: true });
      await chmod(base, 0o711);
      await mkdir(home, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      if (owner && process.getuid?.() === 0) await lchown(home, owner.uid, owner.gid);
      return home;
    },
    async remove(agentId) {
      await removeTree(pathFor(agentId));
    },
    async reap(isClosed) {
      const entries = await readdir(base, { withFileTypes: true }).catch(() => []);
      let removed = 0;
      let firstError: unknown;
      // One home that cannot go does not keep the others: the pass goes on and reports the first error.
      for (const entry of entries) {
        try {
          if (!entry.isDirectory() || !(await isClosed(entry.name))) continue;
          await removeTree(path.join(base, entry.name));
          removed++;
        } catch (err) {
          firstError ??= err;
        }
      }
      if (firstError !== undefined) throw firstError;
      return removed;
    },
  };
}
