/**
 * Linux /proc views for tests of scripts that start processes: a process's descendants, whether
 * that same process (not a later one that reused its pid) is still alive, and who holds files
 * under a directory.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/PID/stat): tells pid reuse apart. */
  startTime: string;
  command: string;
}

interface Stat {
  state: string;
  ppid: number;
  startTime: string;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]), startTime: fields[19]! };
  } catch {
    return undefined;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

function identity(pid: number, stat: Stat): ProcessIdentity {
  return { pid, startTime: stat.startTime, command: commandOf(pid) };
}

/** The parent of each live process on the machine. */
export function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const pid of pids()) {
    const stat = readStat(pid);
    if (stat) map.set(pid, stat.ppid);
  }
  return map;
}

/** Every live process below `root` in the process tree (children, their children, ...). */
export function descendants(root: number): ProcessIdentity[] {
  const children = new Map<number, Array<{ pid: number; stat: Stat }>>();
  for (const pid of pids()) {
    const stat = readStat(pid);
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push({ pid, stat });
    children.set(stat.ppid, list);
  }
  const found: ProcessIdentity[] = [];
  const queue = [root];
  for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    for (const child of children.get(parent) ?? []) {
      found.push(identity(child.pid, child.stat));
      queue.push(child.pid);
    }
  }
  return found;
}

/** True while that very process runs (a zombie holds nothing and counts as gone). */
export function isAlive(p: ProcessIdentity): boolean {
  const stat = readStat(p.pid);
  return stat !== undefined && stat.startTime === p.startTime && stat.state !== 'Z';
}

/** Processes with a file under `dir` open (any fd). */
export function holdersOfFilesUnder(dir: string): ProcessIdentity[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const holders: ProcessIdentity[] = [];
  for (const pid of pids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    const holds = fds.some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(prefix);
      } catch {
        return false;
      }
    });
    const stat = holds ? readStat(pid) : undefined;
    if (stat) holders.push(identity(pid, stat));
  }
  return holders;
}
