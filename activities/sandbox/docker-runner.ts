/**
 * Runs an agent's commands inside its container through Docker exec, with the same semantics
 * as the LocalRunner: working directory confined to the workspace, output capped (head and
 * tail kept), timeout and abort stop the whole process group (SIGTERM, then SIGKILL), and
 * nothing started by a command outlives it.
 *
 * Docker exec has no kill API, so each command runs under a small wrapper that records its
 * PID (which is also its process-group id: runc starts every exec in a new session) in /tmp;
 * stopping it is a second exec that signals that group. When the command is over, a last exec
 * ends every process of the container but its own, whatever session it moved to (`setsid`, a
 * daemon): as with bubblewrap's PID namespace, nothing the agent runs is left to write the
 * worktree while the host reads it (checkpoint, staging, the editor) or between its commands.
 */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { SandboxInfo } from '../../domain/agent';
import { OutputBuffer } from '../tools/output-buffer';
import { resolveInside } from '../host/paths';
import type { CommandRunner, RunOptions, RunResult } from '../tools/runner';
import { CONTAINER_WORKSPACE } from './container-spec';
import { isConflict, isEngineUnreachable, isNotFound, mapEngineError } from './docker-errors';
import { SandboxCommandFailedError, SandboxGoneError, SandboxInvalidInputError } from './errors';
import { ExecStreamDemuxer } from './exec-stream';
import { oomKilledSince } from './oom';

export interface DockerRunnerOptions {
  /** Between SIGTERM and SIGKILL when a command is stopped. */
  killGraceMs?: number;
  /** How often `onProgress` is called while a command runs. */
  progressIntervalMs?: number;
  /** How long to wait for the output to close after SIGKILL before giving up on it. */
  closeGraceMs?: number;
}

const EXIT_SIGKILL = 128 + 9;
const ORPHAN_CHECK_INTERVAL_MS = 250;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Variables every command gets besides the container's PATH/HOME/LANG (as LocalRunner sets them). */
const COMMAND_ENV: readonly string[] = ['TERM=dumb', 'CI=true', 'GIT_TERMINAL_PROMPT=0'];

// $0 is the command, $1 the PID file. `exec` keeps the PID, so the recorded PID is the command's
// own and its process group holds everything it starts. The `-x` test is a shell builtin, so
// picking bash when the image has it costs nothing per command.
const WRAPPER_SCRIPT =
  'echo $$ > "$1" 2>/dev/null; if [ -x /bin/bash ]; then exec /bin/bash -c "$0"; fi; exec /bin/sh -c "$0"';

// Signals the recorded group. Only builtins (read, kill, test) before the kill, so it still
// works when a fork bomb has used up the pids limit. Busybox's kill takes no `--`.
function signalScript(signal: 'TERM' | 'KILL', waitForPidFile: boolean): string {
  return [
    waitForPidFile ? 'i=0; while [ ! -s "$1" ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done;' : '',
    '[ -s "$1" ] || exit 0; read pid < "$1";',
    `kill -${signal} -$pid 2>/dev/null;`,
    'exit 0',
  ].join(' ');
}

// Ends every process outside PID 1's session (docker-init and the keep-alive command; nothing the
// agent runs can join it) except itself. First each is stopped (SIGSTOP), in passes until one finds
// none still running: a stopped process cannot fork and keeps its PID, so a fork bomb in a session
// of its own, which refills every slot a kill frees, cannot outrun the passes (killing straight
// away left one running after the command, while the host read or rewrote the directory). Then
// all are killed, in passes until one finds none (a fork under way when its parent is killed still
// makes a child); should one be left, the script fails and the exec is retried. Each is signalled
// with its whole process group first, which a fork under way cannot escape (the kernel restarts it),
// never group 1 (-1 would be every process). A process the engine started (parent 0: another helper
// exec, such as a second sweep) is not stopped, only killed: two sweeps stopping each other would
// both wait forever; nothing the agent runs gets parent 0 (an orphan goes to PID 1). The state,
// parent, group and session are read after the last ") " of /proc/PID/stat, so a command name
// holding ") " cannot fake them. Builtins only, as above. `set --` takes over the positional
// parameters, so the PID file ($1) is kept as $f first.
const SWEEP_SCRIPT = [
  'f=$1; read l < /proc/1/stat; set -- ${l##*") "}; keep=$4;',
  'for sig in STOP KILL; do n=0;',
  'while [ $n -lt 50 ]; do n=$((n+1)); found=0;',
  'for p in /proc/[0-9]*; do pid=${p#/proc/}; [ "$pid" = $$ ] && continue;',
  '{ read l < $p/stat; } 2>/dev/null || continue; set -- ${l##*") "};',
  '[ "$1" = Z ] || [ "$4" = "$keep" ] && continue;',
  '[ $sig = STOP ] && { [ "$1" = T ] || [ "$2" = 0 ]; } && continue;',
  '[ "$3" -gt 1 ] && kill -$sig -$3 2>/dev/null; kill -$sig $pid 2>/dev/null && found=1; done;',
  '[ $found = 0 ] && break; done; done;',
  '[ $found = 0 ] && rm -f "$f"; exit $found',
].join(' ');

export class DockerRunner implements CommandRunner {
  readonly workspaceDir = CONTAINER_WORKSPACE;
  private readonly killGraceMs: number;
  private readonly progressIntervalMs: number;
  private readonly closeGraceMs: number;

  constructor(
    private readonly docker: Docker,
    private readonly info: SandboxInfo,
    options: DockerRunnerOptions = {},
  ) {
    this.killGraceMs = options.killGraceMs ?? 2000;
    this.progressIntervalMs = options.progressIntervalMs ?? 1000;
    this.closeGraceMs = options.closeGraceMs ?? 5000;
  }

  async run(command: string, options: RunOptions): Promise<RunResult> {
    const workingDir = resolveInside(CONTAINER_WORKSPACE, options.cwd ?? '.');
    const started = Date.now();
    if (options.signal?.aborted) {
      return { exitCode: null, output: '', truncated: false, timedOut: false, aborted: true, durationMs: 0 };
    }
    const container = this.docker.getContainer(this.info.containerId);
    const pidFile = `/tmp/.exec-${randomUUID()}.pid`;
    const { exec, stream } = await this.startExec(container, {
      Cmd: ['/bin/sh', '-c', WRAPPER_SCRIPT, command, pidFile],
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      WorkingDir: workingDir,
      Env: [...COMMAND_ENV, ...commandEnv(options.env)],
    });

    const output = new OutputBuffer(options.maxOutputBytes);
    const demuxer = new ExecStreamDemuxer((text) => output.push(text));
    const closed = new Promise<void>((resolve) => {
      stream.on('data', (chunk: Buffer) => demuxer.push(chunk));
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });

    let timedOut = false;
    let aborted = false;
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= this.stopCommand(container, pidFile, stream, closed);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort(); // aborted while the exec was being set up
    const progress = options.onProgress ? setInterval(options.onProgress, this.progressIntervalMs) : undefined;
    const watcher = this.watchForOrphans(exec, container, pidFile);
    try {
      await closed;
    } finally {
      clearTimeout(timer);
      if (progress) clearInterval(progress);
      watcher.cancel();
      options.signal?.removeEventListener('abort', onAbort);
    }
    demuxer.end();

    // The command is done; make sure nothing it started lingers, in the background or in a session of its own.
    const [exitCode] = await Promise.all([exitCodeOf(exec), this.sweep(container, pidFile), stopping]);
    // Killed, or no exit code at all: the OOM killer, or the container went away under the command.
    let oomKilled = false;
    if (exitCode === EXIT_SIGKILL || exitCode === null) {
      await this.requireContainer(container);
      oomKilled = await oomKilledSince(this.docker, this.info.containerId, started);
    }
    return {
      exitCode,
      output: output.toString(),
      truncated: output.truncated,
      timedOut,
      aborted,
      oomKilled,
      durationMs: Date.now() - started,
    };
  }

  /** Throws when the container stopped or went away under the command (killswitch, reaper, crash). */
  private async requireContainer(container: Docker.Container): Promise<void> {
    const name = this.info.containerName;
    let state: Docker.ContainerInspectInfo['State'];
    try {
      state = (await container.inspect()).State;
    } catch (err) {
      if (!isNotFound(err)) throw mapEngineError(err);
      throw new SandboxGoneError(`sandbox ${name} was removed while the command ran`, { cause: err });
    }
    if (!state.Running) {
      const why = state.OOMKilled ? 'the container was OOM-killed' : `status ${state.Status}, exit code ${state.ExitCode}`;
      throw new SandboxGoneError(`sandbox ${name} stopped while the command ran (${why})`);
    }
  }

  /**
   * When the command has exited but something it started in the background still holds its
   * output open, the engine keeps the stream open for a while; ending that group right away
   * returns the result sooner (and LocalRunner does not let such processes outlive a command either).
   */
  private watchForOrphans(exec: Docker.Exec, container: Docker.Container, pidFile: string): { cancel(): void } {
    let cancelled = false;
    let busy = false;
    const interval = setInterval(() => {
      if (busy || cancelled) return;
      busy = true;
      exec
        .inspect()
        .then(async (info) => {
          if (info.Running || cancelled) return;
          clearInterval(interval);
          await this.sweep(container, pidFile);
        })
        .catch(() => undefined)
        .finally(() => {
          busy = false;
        });
    }, ORPHAN_CHECK_INTERVAL_MS);
    return {
      cancel: () => {
        cancelled = true;
        clearInterval(interval);
      },
    };
  }

  private async startExec(
    container: Docker.Container,
    spec: Docker.ExecCreateOptions,
  ): Promise<{ exec: Docker.Exec; stream: Duplex }> {
    try {
      const exec = await container.exec(spec);
      const stream = (await exec.start({ hijack: true, stdin: false })) as Duplex;
      return { exec, stream };
    } catch (err) {
      throw this.execError(err);
    }
  }

  private execError(err: unknown): unknown {
    const mapped = mapEngineError(err);
    if (mapped !== err) return mapped;
    const name = this.info.containerName;
    if (isNotFound(err)) return new SandboxGoneError(`sandbox ${name} no longer exists`, { cause: err });
    if (isConflict(err)) return new SandboxGoneError(`sandbox ${name} is not running`, { cause: err });
    return new SandboxCommandFailedError(`could not run a command in ${name}: ${(err as Error).message}`, { cause: err });
  }

  /** SIGTERM to the group; SIGKILL if it is still there after the grace period. */
  private async stopCommand(container: Docker.Container, pidFile: string, stream: Duplex, closed: Promise<void>) {
    await this.signalGroup(container, pidFile, 'TERM', { waitForPidFile: true });
    if (await settlesWithin(closed, this.killGraceMs)) return;
    await this.signalGroup(container, pidFile, 'KILL', {});
    if (await settlesWithin(closed, this.closeGraceMs)) return;
    // The signal could not be delivered (the container is starved of pids or stopping):
    // stop waiting for the output; stopping the container will end what is left.
    stream.destroy();
  }

  /**
   * Signals the command's process group through a second exec. Retries, because when a
   * command has used up the pids limit the exec itself can fail to start; as a last resort
   * it lifts the limit for a moment to make room for the kill.
   */
  private signalGroup(container: Docker.Container, pidFile: string, signal: 'TERM' | 'KILL', opts: { waitForPidFile?: boolean }): Promise<boolean> {
    return this.runHelper(container, ['/bin/sh', '-c', signalScript(signal, !!opts.waitForPidFile), 'signal', pidFile]);
  }

  /** Ends what is left of the agent's processes once a command is over (SWEEP_SCRIPT), and removes the PID file. */
  private sweep(container: Docker.Container, pidFile: string): Promise<boolean> {
    return this.runHelper(container, ['/bin/sh', '-c', SWEEP_SCRIPT, 'sweep', pidFile]);
  }

  private async runHelper(container: Docker.Container, cmd: string[]): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const result = await this.helperExec(container, cmd);
      if (result === 'done') return true;
      if (result === 'gone') return false;
      await delay(50 * (attempt + 1));
    }
    return this.withRaisedPidsLimit(container, async () => (await this.helperExec(container, cmd)) === 'done');
  }

  private async withRaisedPidsLimit(container: Docker.Container, fn: () => Promise<boolean>): Promise<boolean> {
    let limit: number | undefined;
    try {
      limit = (await container.inspect()).HostConfig.PidsLimit ?? undefined;
      if (!limit || limit <= 0) return false;
      await container.update({ PidsLimit: limit + 16 });
      return await fn();
    } catch {
      return false;
    } finally {
      if (limit && limit > 0) await container.update({ PidsLimit: limit }).catch(() => undefined);
    }
  }

  /** Runs a short helper command; 'retry' when it could not start, 'gone' when the container is. */
  private async helperExec(container: Docker.Container, cmd: string[]): Promise<'done' | 'retry' | 'gone'> {
    try {
      const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: false });
      const stream = (await exec.start({ hijack: true, stdin: false })) as Duplex;
      stream.resume();
      await new Promise<void>((resolve) => {
        stream.once('end', resolve);
        stream.once('close', resolve);
        stream.once('error', () => resolve());
      });
      return (await exitCodeOf(exec)) === 0 ? 'done' : 'retry';
    } catch (err) {
      if (isNotFound(err) || isConflict(err) || isEngineUnreachable(err)) return 'gone';
      return 'retry';
    }
  }
}

function commandEnv(env: Record<string, string> | undefined): string[] {
  return Object.entries(env ?? {}).map(([name, value]) => {
    if (!ENV_NAME.test(name)) throw new SandboxInvalidInputError(`invalid environment variable name ${JSON.stringify(name)}`);
    return `${name}=${value}`;
  });
}

/** The exec's exit code; the engine can take a moment to record it after the output closes. */
async function exitCodeOf(exec: Docker.Exec): Promise<number | null> {
  for (let attempt = 0; attempt < 40; attempt++) {
    try {
      const info = await exec.inspect();
      if (!info.Running) return info.ExitCode;
    } catch {
      return null;
    }
    await delay(50);
  }
  return null;
}

function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
