/**
 * CPU seconds of a process the bench started and of everything it ran.
 *
 * A cgroup (v2) of its own counts every descendant, also one that outlived its parent or was never
 * waited for. Read from /proc alone, the figure is what the process waited for plus its live
 * children now: a process counted while alive in the "before" sample and lost to the count by the
 * "after" one (reparented to init when its parent ended) made the bench print negative CPU for the
 * processes of a run. /proc stays the fallback where no cgroup can be made (not root, no cgroup2).
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface ProcessCpu {
  /** The process's own user + system seconds. */
  own: number;
  /** Everything it started, directly or not. */
  children: number;
}

export interface CpuAccount {
  /** Seconds so far. */
  read(): ProcessCpu;
  /** How `children` is counted: 'cgroup' or 'proc' (see above). */
  readonly method: 'cgroup' | 'proc';
  /** Removes the cgroup once the process and its descendants have ended (waits up to 10 s for them). */
  close(): Promise<void>;
}

/**
 * Starts counting `pid`, a process just started that has not forked yet: moved into a cgroup of
 * its own under the cgroup2 mount when it can be, so its descendants are born there.
 */
export function accountCpu(pid: number, name: string): CpuAccount {
  const group = ownCgroup(pid, name);
  if (group) {
    return {
      method: 'cgroup',
      read: () => {
        const own = ownSeconds(pid);
        return { own, children: Math.max(0, cgroupSeconds(group) - own) };
      },
      close: async () => {
        // A killed worker's descendants take a moment to go; a cgroup with processes cannot be removed.
        for (let i = 0; i < 100; i++) {
          try {
            rmdirSync(group);
            return;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EBUSY') return; // gone already
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
      },
    };
  }
  return { method: 'proc', read: () => procTreeSeconds(pid), close: async () => undefined };
}

function ownCgroup(pid: number, name: string): string | undefined {
  const mount = cgroup2Mount();
  if (!mount) return undefined;
  const group = path.join(mount, `orchestrator-bench-${process.pid}-${name}`);
  try {
    mkdirSync(group, { recursive: true });
    writeFileSync(path.join(group, 'cgroup.procs'), String(pid));
    return group;
  } catch {
    return undefined;
  }
}

function cgroup2Mount(): string | undefined {
  try {
    const line = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[2] === 'cgroup2');
    return line?.split(' ')[1];
  } catch {
    return undefined;
  }
}

function cgroupSeconds(group: string): number {
  const usec = /^usage_usec (\d+)$/m.exec(readFileSync(path.join(group, 'cpu.stat'), 'utf8'))?.[1];
  return Number(usec ?? 0) / 1e6;
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime (own) and cutime + cstime (waited for) of /proc/<pid>/stat, in seconds. */
function stat(pid: number): { own: number; waited: number } {
  const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields 14-17 of the line, 12-15 after the command name.
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  const ticks = (a: number, b: number) => (Number(fields[a]) + Number(fields[b])) / CLOCK_TICKS_PER_SECOND;
  return { own: ticks(11, 12), waited: ticks(13, 14) };
}

/** The process's own CPU seconds (0 once it has ended). */
export function ownSeconds(pid: number): number {
  try {
    return stat(pid).own;
  } catch {
    return 0;
  }
}

/** The children of a process that are running now; none for a process that just ended. */
export function liveChildren(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

/** Own seconds, and the children's: those waited for plus the live ones, recursively. */
function procTreeSeconds(pid: number): ProcessCpu {
  const tree = (p: number): number => {
    let s: { own: number; waited: number };
    try {
      s = stat(p);
    } catch {
      return 0; // ended while being read (its parent's waited-for share has it)
    }
    return s.own + s.waited + liveChildren(p).reduce((sum, c) => sum + tree(c), 0);
  };
  const self = stat(pid);
  return { own: self.own, children: self.waited + liveChildren(pid).reduce((sum, c) => sum + tree(c), 0) };
}
