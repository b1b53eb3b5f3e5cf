/**
 * Each agent's HOME: `<root>/<agentId>`, outside its worktree, so tool caches (.npm, .cache,
 * go-build, .cargo) last from one command to the next without ever ending up in a commit. Every
 * sandbox runtime mounts it at the same place for the agent's own commands; gates never see it
 * (an agent could plant an .npmrc there to steer them). It is a cache, not state: it is not
 * checkpointed, and an agent moved to another host starts with an empty one.
 *
 * The host never reads what is in a home: it creates the directory, counts its size against
 * WORKSPACE_MAX_MB, and removes it (never following a link the agent planted). An agent's home is
 * removed by its cleanup, and by the reaper when its run is closed (a worker that crashed
 * mid-run left it). The root belongs to one deployment (under WORKSPACE_ROOT), so the reaper
 * never judges another deployment's agents.
 */
import { chmod, lchown, lstat, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { assertInside, PathOutsideWorkspaceError } from './paths';

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
      // The sandbox user must pass the root to reach its home; it may list nobody's.
      await mkdir(base, { recursive: true, mode: 0o711 });
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
      for (const entry of entries) {
        if (!entry.isDirectory() || !(await isClosed(entry.name))) continue;
        await removeTree(path.join(base, entry.name));
        removed++;
      }
      return removed;
    },
  };
}

/**
 * Removes a tree the agent wrote. `rm` never follows a symbolic link; a directory the agent made
 * unreadable (mode 000, when the sandbox runs as the worker's own user) is opened up first, so
 * the agent cannot make its home outlive it. Like a worktree, a home is removed only once no
 * process of the agent runs (cleanup and the reaper stop its sandbox and turn first): nothing can
 * swap a directory for a link between the check and the removal.
 */
async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    await openUp(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

async function openUp(dir: string): Promise<void> {
  const st = await lstat(dir).catch(() => undefined);
  if (!st?.isDirectory()) return;
  await chmod(dir, 0o700);
  for (const name of await readdir(dir)) await openUp(path.join(dir, name));
}
