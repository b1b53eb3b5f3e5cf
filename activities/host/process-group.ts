/**
 * Starts a host process in its own process group and stops the whole group: on timeout, on
 * abort (an activity's cancellation), or when the caller asks. Git and the agent's local
 * commands both run through here, so a stop always reaches every descendant (remote helpers,
 * ssh, a test runner's workers) and a worker never leaves a process behind.
 */
import { spawn } from 'node:child_process';

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
}

export interface ProcessGroupResult {
  exitCode: number | null;
  /** Why the group was stopped, when it was. */
  stopReason?: StopReason;
}

/** Runs `file args` (never through a shell unless `file` is one); rejects only when it cannot start. */
export function runProcessGroup(file: string, args: readonly string[], options: ProcessGroupOptions): Promise<ProcessGroupResult> {
  return new Promise<ProcessGroupResult>((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true, // its own process group, so a stop reaches every descendant
      ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (child.pid) options.onSpawn?.(child.pid);
    let stopReason: StopReason | undefined;
    const stop = (reason: StopReason) => {
      stopReason ??= reason;
      signalGroup(child.pid, 'SIGTERM');
      setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS).unref();
    };
    const onAbort = () => stop('aborted');
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => stop('timeout'), options.timeoutMs);
    const progress = options.onProgress ? setInterval(options.onProgress, PROGRESS_INTERVAL_MS) : undefined;
    child.stdout?.on('data', (chunk: Buffer) => options.onOutput?.(chunk, 'stdout', stop));
    child.stderr?.on('data', (chunk: Buffer) => options.onOutput?.(chunk, 'stderr', stop));
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // the process may exit before reading its input
      child.stdin.end(options.input);
    }
    const finish = () => {
      clearTimeout(timer);
      if (progress) clearInterval(progress);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (err) => {
      finish();
      reject(err);
    });
    child.on('close', (code) => {
      finish();
      if (options.killGroupOnExit) signalGroup(child.pid, 'SIGKILL');
      resolve({ exitCode: code, ...(stopReason ? { stopReason } : {}) });
    });
  });
}

/** Signals a whole process group; a group that is already gone is fine. */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
