/**
 * The three places an agent's commands can run, behind one interface (ports.ts SandboxRuntime):
 *
 * - `bubblewrap`: a fresh namespace sandbox per command (bubblewrap-runner.ts), each in a pids
 *   cgroup of its own where the host allows it (pids-cgroups.ts); nothing to start or stop per
 *   agent, and nothing survives a command but the worktree and the agent's home.
 * - `docker`: the agent's own long-lived container (docker-sandbox.ts), and a short-lived one
 *   per gate run over the clean checkout.
 * - `none`: child processes of the worker in the worktree (tools/local-runner.ts). No isolation:
 *   an explicit opt-out that the worker announces as a warning at start.
 *
 * In all three the agent's commands have its home (host/agent-homes.ts) as HOME, and a gate's
 * have none of it.
 */
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SandboxInfo } from '../../domain/agent';
import { makeTraversable } from '../git/paths';
import type { AgentHomes } from '../host/agent-homes';
import type { Scratch } from '../host/scratch';
import type { SandboxRuntime, SandboxStopResult } from '../ports';
import { LocalRunner } from '../tools/local-runner';
import { BubblewrapRunner, probeBubblewrap, type BubblewrapSettings } from './bubblewrap-runner';
import type { DockerSandbox } from './docker-sandbox';
import { SandboxGoneError } from './errors';
import { prepareSandboxCgroups, type SandboxCgroups } from './pids-cgroups';

const NOTHING_STOPPED: SandboxStopResult = { stopped: false, forced: false, oomKilled: false };

/**
 * @param probeParent where the start-up probe makes its directory: the worktrees' parent, so
 *   the probe also proves the sandbox user can reach the worktrees (every directory above them
 *   must let it pass, mode o+x).
 */
export function createBubblewrapRuntime(
  configured: BubblewrapSettings & { cgroupParent?: string },
  probeParent: string = os.tmpdir(),
  homes?: AgentHomes,
  findCgroups: (parent?: string) => Promise<SandboxCgroups> = prepareSandboxCgroups,
): SandboxRuntime {
  // The probe may find that the sandbox user cannot reach the worktrees (bwrap then runs as the
  // worker's user), and whether each sandbox can have a pids cgroup of its own.
  let settings: BubblewrapSettings = configured;
  return {
    kind: 'bubblewrap',
    get sandboxUser() {
      return settings.hostUser;
    },
    start: async () => null,
    // The agent's own commands get its home; a gate's (withRunner) get an empty /tmp as HOME.
    runner: (workspacePath, _info, opts) =>
      new BubblewrapRunner(settings, {
        hostPath: workspacePath,
        readOnly: opts.readOnly,
        ...(homes ? { home: () => homes.ensure(agentOfWorktree(workspacePath), settings.hostUser) } : {}),
      }),
    withRunner: (req, fn) => fn(new BubblewrapRunner(settings, { hostPath: req.dir, readOnly: false })),
    stop: async () => NOTHING_STOPPED,
    discard: async () => undefined,
    probe: async () => {
      for (const [name, file] of [['bwrap', settings.bwrapPath], ['prlimit', settings.prlimitPath]] as const) {
        if (!path.isAbsolute(file) || !existsSync(file)) throw new Error(`${name} is not installed (not found in PATH)`);
      }
      await makeTraversable(probeParent);
      const dir = await mkdtemp(path.join(probeParent, '.bwrap-probe-'));
      try {
        const userWarning = await probeUser(dir);
        const cgroupWarning = await probeCgroups(dir);
        const warning = [userWarning, cgroupWarning].filter(Boolean).join(' ');
        return warning ? { warning } : {};
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    sweep: async () => (settings.cgroups ? settings.cgroups.sweep() : 0),
  };

  /** Runs the probe as the sandbox user; falls back to the worker's user (with a warning) when that cannot work. */
  async function probeUser(dir: string): Promise<string | undefined> {
    const user = settings.hostUser;
    if (process.getuid?.() !== 0 || !user) return void (await probeBubblewrap(settings, dir));
    await chown(dir, user.uid, user.gid);
    try {
      await probeBubblewrap(settings, dir);
      return undefined;
    } catch (err) {
      // Usually a directory above the worktrees the sandbox user may not pass (/root is 0700).
      const asWorker = { ...settings, hostUser: undefined };
      await chown(dir, 0, 0);
      await probeBubblewrap(asWorker, dir);
      settings = asWorker;
      return (
        `the sandbox user uid ${user.uid} cannot run a sandbox over ${probeParent} (${(err as Error).message}); ` +
        'bwrap runs as root instead (still uid 1000 without capabilities inside, in its own namespaces). ' +
        `Make every directory above ${probeParent} traversable (chmod o+x) to run sandboxes as uid ${user.uid} on the host too.`
      );
    }
  }

  /** Gives each sandbox a pids cgroup of its own when this host allows it, and sweeps what a dead worker left. */
  async function probeCgroups(dir: string): Promise<string | undefined> {
    try {
      const cgroups = await findCgroups(configured.cgroupParent);
      await cgroups.sweep();
      const withCgroups = { ...settings, cgroups };
      await probeBubblewrap(withCgroups, dir);
      settings = withCgroups;
      return undefined;
    } catch (err) {
      const shared = process.getuid?.() === 0 && settings.hostUser ? `RLIMIT_NPROC ${settings.maxUserProcesses}, counted for uid ${settings.hostUser.uid} across all of them` : 'no process limit';
      return (
        `sandboxes get no pids cgroup of their own (${(err as Error).message}), so they share one process budget (${shared}): ` +
        "one agent's fork bomb can keep every other agent's commands and gates on this host from starting until its timeout. " +
        'Run the worker as root where the pids controller is available (cgroup v2, or v1 with a pids hierarchy), or set SANDBOX_CGROUP_PARENT to a cgroup delegated to it.'
      );
    }
  }
}

export function createDockerRuntime(sandbox: DockerSandbox, sandboxUser: { uid: number; gid: number }, homes?: AgentHomes): SandboxRuntime {
  return {
    kind: 'docker',
    sandboxUser,
    start: async (req) =>
      sandbox.start({
        agentId: req.agentId,
        taskId: req.taskId,
        workspacePath: req.workspacePath,
        readOnly: req.readOnly,
        signal: req.signal,
        // Owned like the worktree: the container runs as the worktree's owner (container-lifecycle.ts).
        ...(homes ? { homePath: await homes.ensure(req.agentId, await ownerOf(req.workspacePath)) } : {}),
      }),
    runner: (_workspacePath, info) => {
      if (!info) throw new SandboxGoneError('this agent has no container (it was started without the Docker sandbox)');
      return sandbox.runner(info);
    },
    withRunner: async (req, fn) => {
      // A container a crashed attempt left would still mount the checkout it was made for.
      await sandbox.removeGateContainer(req.agentId);
      const info = await sandbox.start({ agentId: req.agentId, taskId: req.taskId, workspacePath: req.dir, role: 'gate', signal: req.signal });
      try {
        return await fn(sandbox.runner(info));
      } finally {
        await sandbox.stop(info);
      }
    },
    stop: (info) => sandbox.stop(info),
    discard: async (agentId) => {
      await sandbox.removeAgentContainer(agentId);
    },
    probe: async () => {
      await sandbox.ping();
      return {};
    },
  };
}

/**
 * SANDBOX_RUNTIME=none: commands run on the host as the worker's user, with the agent's HOME from
 * `homes`; a gate's HOME is a `scratch` directory, which the reaper removes if the worker dies first.
 */
export function createUnsandboxedRuntime(homes: AgentHomes, scratch: Scratch): SandboxRuntime {
  return {
    kind: 'none',
    sandboxUser: undefined,
    start: async () => null,
    runner: (workspacePath) => new LocalRunner(workspacePath, homes.pathFor(agentOfWorktree(workspacePath))),
    // A gate gets a HOME of its own, thrown away after it: never what the agent left in its home.
    withRunner: async (req, fn) => {
      const home = await scratch.make(`${req.agentId}.gate-home`);
      try {
        return await fn(new LocalRunner(req.dir, home));
      } finally {
        await scratch.release(home);
      }
    },
    stop: async () => NOTHING_STOPPED,
    discard: async () => undefined,
    probe: async () => ({}),
  };
}

async function ownerOf(dir: string): Promise<{ uid: number; gid: number }> {
  const { uid, gid } = await stat(dir);
  return { uid, gid };
}

/** A worktree's directory is named by its agent id (git/worktree paths). */
function agentOfWorktree(workspacePath: string): string {
  return path.basename(workspacePath);
}

export type { SandboxInfo };
