/**
 * Starts a host process in its own process group and stops the whole group: on timeout, on
 * abort (an activity's cancellation), or when the caller asks. Git and the agent's local
 * commands both run through here, so a stop always reaches every descendant (remote helpers,
 * ssh, a test runner's workers) and a worker never leaves a process behind.
 *
 * The fork itself is done by a launcher (launch.ts): by default the worker's small spawn helper
 * (spawn-helper-client.ts), so a big worker does not pay a page-table copy per git call.
 */
import type { Launcher } from './launch';
import { sharedSpawnHelper } from './spawn-helper-client';

const KILL_GRACE_MS = 2000;
const PROGRESS_INTERVAL_MS = 1000;

export type StopReason = 'aborted' | 'timeout' | 'overflow';

export interface ProcessGroupOptions {
  cwd?: string;
  /** The child's whole environment: nothing of the worker's is inherited. */
  env: Record<string, string>;
  /** Run as this user (the worker must be root); supplementary groups are dropped. */
  user?: { uid: number; gid: number };
  /** Written to stdin, then closed; without it stdin is closed at once. */
  input?: string | Buffer;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called about once a second while the process runs, so an activity can heartbeat. */
  onProgress?: () => void;
  /** Output as it arrives; call `stop('overflow')` to end the process early. */
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr', stop: (reason: StopReason) => void) => void;
  onSpawn?: (pid: number) => void;
  /** SIGKILL the group once the leader exits, so nothing it started in the background lingers. */
  killGroupOnExit?: boolean;
  /** A bubblewrap sandbox's pids cgroup, joined before its command runs (launch.ts LaunchSpec.cgroup). */
  cgroup?: string;
  /** Who forks the process; defaults to the shared spawn helper. */
  launcher?: Launcher;
}

export interface ProcessGroupResult {
  exitCode: number | null;
  /** Why the group was stopped, when it was. */
  stopReason?: StopReason;
}

/** Runs `file args` (never through a shell unless `file` is one); rejects only when it cannot start. */
export function runProcessGroup(file: string, args: readonly string[], options: ProcessGroupOptions): Promise<ProcessGroupResult> {
  const launch = options.launcher ?? sharedSpawnHelper().launch;
  return new Promise<ProcessGroupResult>((resolve, reject) => {
    let pid: number | undefined;
    let stopReason: StopReason | undefined;
    let settled = false;
    /** TERM to the group, then KILL after the grace time. */
    const terminate = (group: number) => {
      signalGroup(group, 'SIGTERM');
      setTimeout(() => signalGroup(group, 'SIGKILL'), KILL_GRACE_MS).unref();
    };
    const stop = (reason: StopReason) => {
      if (stopReason) return;
      stopReason = reason;
      // Before the launcher reported the pid, `spawned` terminates it.
      if (pid !== undefined) terminate(pid);
    };
    const onAbort = () => stop('aborted');
    const timer = setTimeout(() => stop('timeout'), options.timeoutMs);
    const progress = options.onProgress ? setInterval(options.onProgress, PROGRESS_INTERVAL_MS) : undefined;
    const finish = () => {
      settled = true;
      clearTimeout(timer);
      if (progress) clearInterval(progress);
      options.signal?.removeEventListener('abort', onAbort);
    };
    launch(
      { file, args, cwd: options.cwd, env: options.env, user: options.user, input: options.input, ...(options.cgroup !== undefined ? { cgroup: options.cgroup } : {}) },
      {
        spawned(p) {
          if (pid !== undefined) return;
          pid = p;
          options.onSpawn?.(p);
          if (stopReason) terminate(p); // stopped before its pid was known
        },
        output(chunk, stream) {
          if (!settled) options.onOutput?.(chunk, stream, stop);
        },
        closed(code) {
          if (settled) return;
          finish();
          if (options.killGroupOnExit) signalGroup(pid, 'SIGKILL');
          resolve({ exitCode: code, ...(stopReason ? { stopReason } : {}) });
        },
        failed(err) {
          if (settled) return;
          finish();
          // A process whose launcher was lost is stopped: nobody reads its output any more.
          signalGroup(pid, 'SIGKILL');
          reject(err);
        },
      },
    );
    if (settled) return;
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Signals a whole process group; a group that is already gone is fine. */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  // Never -1 (every process) or -0 (our own group), whatever a launcher reported.
  if (!pid || pid <= 1) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
