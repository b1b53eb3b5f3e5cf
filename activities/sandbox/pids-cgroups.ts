/**
 * A pids cgroup per bubblewrap sandbox, so each has a process budget of its own.
 *
 * RLIMIT_NPROC (prlimit) is counted by the kernel per real uid, and every sandbox runs as the same
 * host uid (SANDBOX_UID): one agent's fork bomb held every process that uid may have, and the other
 * agents' commands and gates on the host could not fork until the bomb's timeout. A pids cgroup
 * counts only the processes born in it.
 *
 * Where: under the worker's own cgroup in the hierarchy that has the pids controller (cgroup v1's
 * pids hierarchy when one is mounted, the controller then being unavailable to v2; else cgroup v2),
 * or under SANDBOX_CGROUP_PARENT, in a directory `orchestrator-sandboxes` with one `sb-<uuid>` per
 * running command. A cgroup is removed when its command ends; one left by a worker that died (its
 * sandboxes die with it: bwrap --die-with-parent) is removed by the start-up probe and the reaper.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const SANDBOX_CGROUPS_DIR = 'orchestrator-sandboxes';
const PREFIX = 'sb-';
/** A cgroup younger than this may be one another worker process made and has not joined yet. */
const SWEEP_MIN_AGE_MS = 60_000;

export interface SandboxCgroups {
  readonly version: 1 | 2;
  /** The directory holding one cgroup per running sandbox. */
  readonly root: string;
  /** A new empty cgroup that allows `pidsMax` processes; its directory. */
  make(pidsMax: number): Promise<string>;
  /** Kills what is left in `dir` and removes it; false when it is still busy (the sweep retries). */
  remove(dir: string): Promise<boolean>;
  /** Removes the empty cgroups of sandboxes that ended without removing theirs; how many. */
  sweep(): Promise<number>;
}

export interface PidsHierarchy {
  version: 1 | 2;
  /** The worker's own cgroup directory in it. */
  own: string;
}

/** The hierarchy holding the pids controller and the worker's cgroup in it; a string says why there is none. */
export function findPidsHierarchy(proc = '/proc/self'): PidsHierarchy | string {
  let mountinfo: string;
  let membership: string;
  try {
    mountinfo = readFileSync(path.join(proc, 'mountinfo'), 'utf8');
    membership = readFileSync(path.join(proc, 'cgroup'), 'utf8');
  } catch (err) {
    return `cannot read ${proc}/mountinfo or cgroup: ${(err as Error).message}`;
  }
  const mounts = mountinfo.split('\n').flatMap((line) => {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 0) return [];
    return [{ root: unescape(fields[3]!), point: unescape(fields[4]!), type: fields[dash + 1]!, options: (fields[dash + 3] ?? '').split(',') }];
  });
  const groups = membership.split('\n').flatMap((line) => {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    return m ? [{ controllers: m[2]!.split(','), path: m[3]! }] : [];
  });
  const v1 = mounts.find((m) => m.type === 'cgroup' && m.options.includes('pids'));
  if (v1) {
    const own = groups.find((g) => g.controllers.includes('pids'));
    if (!own) return 'the pids hierarchy (cgroup v1) is mounted but this process is in no cgroup of it';
    return { version: 1, own: below(v1, own.path) };
  }
  const v2 = mounts.find((m) => m.type === 'cgroup2');
  const own = groups.find((g) => g.controllers.length === 1 && g.controllers[0] === '');
  if (!v2 || !own) return 'no cgroup v2 and no cgroup v1 pids hierarchy is mounted';
  return { version: 2, own: below(v2, own.path) };
}

/** Where `cgroupPath` (as /proc/self/cgroup names it) is under the mount `m`. */
function below(m: { root: string; point: string }, cgroupPath: string): string {
  const rel = path.posix.relative(m.root, cgroupPath);
  // Outside the mounted part (a cgroup namespace's view): the mount itself is the closest we see.
  return rel.startsWith('..') ? m.point : path.join(m.point, rel);
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * Makes (or finds) the sandboxes' cgroup directory under `parent` (default: the worker's own
 * cgroup) with the pids controller on; throws, saying why, when this host does not allow it.
 */
export async function prepareSandboxCgroups(parent?: string, found: PidsHierarchy | string = findPidsHierarchy()): Promise<SandboxCgroups> {
  if (typeof found === 'string') throw new Error(found);
  const base = parent ?? found.own;
  const root = path.join(base, SANDBOX_CGROUPS_DIR);
  // A directory that is no cgroup would take every write below as a plain file: no limit at all.
  if (!existsSync(path.join(base, 'cgroup.procs'))) throw new Error(`${base} is not a cgroup`);
  if (found.version === 2) {
    const available = await readFile(path.join(base, 'cgroup.controllers'), 'utf8').catch((err: Error) => {
      throw new Error(`cannot read cgroup ${base}: ${err.message}`);
    });
    if (!available.split(/\s+/).includes('pids')) {
      throw new Error(`the pids controller is not available in cgroup ${base} (its parent does not delegate it: add pids to the parent's cgroup.subtree_control, or Delegate=pids for a systemd unit)`);
    }
    await enablePids(base);
    await mkdir(root).catch(existing);
    await enablePids(root);
  } else {
    await mkdir(root).catch(existing);
  }
  if (!existsSync(path.join(root, 'pids.max'))) throw new Error(`${root} has no pids controller (${base} is not in the pids hierarchy)`);
  return sandboxCgroups(found.version, root);
}

async function enablePids(dir: string): Promise<void> {
  const file = path.join(dir, 'cgroup.subtree_control');
  if ((await readFile(file, 'utf8')).split(/\s+/).includes('pids')) return;
  try {
    await writeFile(file, '+pids', { flag: 'r+' });
  } catch (err) {
    throw new Error(`cannot enable the pids controller for the children of ${dir}: ${(err as Error).message}`);
  }
}

function existing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EEXIST') throw err;
}

export function sandboxCgroups(version: 1 | 2, root: string, opts: { sweepMinAgeMs?: number } = {}): SandboxCgroups {
  const minAge = opts.sweepMinAgeMs ?? SWEEP_MIN_AGE_MS;
  const killAll = async (dir: string) => {
    // v2 kills the whole cgroup at once; v1 has no such file, its processes are killed one by one.
    if (existsSync(path.join(dir, 'cgroup.kill'))) {
      await writeFile(path.join(dir, 'cgroup.kill'), '1', { flag: 'r+' }).catch(() => undefined);
      return;
    }
    const pids = await readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const pid of pids.split('\n').map(Number).filter((p) => p > 1)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  };
  const tryRemove = async (dir: string): Promise<'removed' | 'busy'> => {
    try {
      await rmdir(dir);
      return 'removed';
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return 'removed';
      if (code === 'EBUSY') return 'busy';
      throw err;
    }
  };
  return {
    version,
    root,
    make: async (pidsMax) => {
      const dir = path.join(root, `${PREFIX}${randomUUID()}`);
      await mkdir(dir);
      try {
        // r+: the kernel's file, never a new plain one.
        await writeFile(path.join(dir, 'pids.max'), String(pidsMax), { flag: 'r+' });
      } catch (err) {
        await rmdir(dir).catch(() => undefined);
        throw err;
      }
      return dir;
    },
    remove: async (dir) => {
      // bwrap's sandbox dies with it, but its processes take a few milliseconds to be reaped.
      for (let i = 0; i < 60; i++) {
        if ((await tryRemove(dir)) === 'removed') return true;
        if (i >= 10) await killAll(dir);
        await new Promise((r) => setTimeout(r, Math.min(2 ** i, 200)));
      }
      return false;
    },
    sweep: async () => {
      let removed = 0;
      const names = await readdir(root).catch(() => [] as string[]);
      for (const name of names.filter((n) => n.startsWith(PREFIX))) {
        const dir = path.join(root, name);
        const made = await stat(dir).then((s) => s.mtimeMs, () => undefined);
        // Only empty ones go: rmdir refuses a cgroup with processes (a live sandbox of another worker).
        if (made !== undefined && Date.now() - made >= minAge && (await tryRemove(dir).catch(() => 'busy')) === 'removed') removed++;
      }
      return removed;
    },
  };
}
