/**
 * Launchers: who forks a host process. Every process starts in a new process group with its
 * stdio piped; the caller (process-group.ts) owns timeouts, stops and the group's end.
 */
import { spawn } from 'node:child_process';
import { cgroupStdio, joinSandboxCgroup } from './cgroup-join.cjs';

/** What a launcher is asked to start: always a new process group, stdio piped. */
export interface LaunchSpec {
  file: string;
  args: readonly string[];
  cwd?: string;
  env: Record<string, string>;
  user?: { uid: number; gid: number };
  input?: string | Buffer;
  /**
   * A bubblewrap sandbox's pids cgroup (its directory): the process is bwrap, given
   * `--info-fd 3 --block-fd 4`, and its sandbox is moved into the cgroup before the command
   * starts (cgroup-join.cjs). When that fails the group is killed and the launch fails with code
   * ECGROUPJOIN: the command never runs outside its cgroup.
   */
  cgroup?: string;
}

/** What a launcher reports: `spawned` first, then output, then exactly one of `closed` / `failed`. */
export interface LaunchEvents {
  spawned(pid: number): void;
  output(chunk: Buffer, stream: 'stdout' | 'stderr'): void;
  /** The process exited and its output is drained. */
  closed(exitCode: number | null): void;
  /** It could not start (or its launcher was lost while it ran). */
  failed(err: Error): void;
}

export type Launcher = (spec: LaunchSpec, events: LaunchEvents) => void;

/** Forks from this process (libuv): for small processes, and the fallback when the helper cannot start. */
export const launchDirectly: Launcher = (spec, events) => {
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(spec.file, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true, // its own process group, so a stop reaches every descendant
      ...(spec.user ? { uid: spec.user.uid, gid: spec.user.gid } : {}),
      stdio: spec.cgroup !== undefined ? [...cgroupStdio(spec.input === undefined ? 'ignore' : 'pipe')] : [spec.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    events.failed(err as Error);
    return;
  }
  if (child.pid) events.spawned(child.pid);
  let errored = false;
  if (spec.cgroup !== undefined) {
    joinSandboxCgroup(child, spec.cgroup, (err) => {
      if (!err) return;
      errored = true;
      events.failed(err);
    });
  }
  child.stdout?.on('data', (chunk: Buffer) => events.output(chunk, 'stdout'));
  child.stderr?.on('data', (chunk: Buffer) => events.output(chunk, 'stderr'));
  if (child.stdin) {
    child.stdin.on('error', () => undefined); // the process may exit before reading its input
    child.stdin.end(spec.input);
  }
  child.on('error', (err) => {
    if (errored) return;
    errored = true;
    events.failed(err);
  });
  child.on('close', (code) => {
    if (!errored) events.closed(code);
  });
};
