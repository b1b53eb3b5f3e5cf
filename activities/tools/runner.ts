/**
 * Where an agent's commands run: a Docker sandbox (activities/sandbox) or, with the
 * sandbox disabled, a child process confined to the worktree (activities/tools/local-runner).
 * Tools and gates depend on this interface only.
 */
import type { ProcessGroupResult } from '../host/process-group';
import type { OutputBuffer } from './output-buffer';

export interface RunOptions {
  /** Working directory relative to the workspace root; defaults to the root. */
  cwd?: string;
  timeoutMs: number;
  /** Output beyond this many bytes is dropped (head and tail are kept). */
  maxOutputBytes: number;
  /** Aborting stops the command (SIGTERM, then SIGKILL). */
  signal?: AbortSignal;
  /** Called periodically while the command runs, so activities can heartbeat. */
  onProgress?: () => void;
  /** Extra environment for this command (never secrets). */
  env?: Record<string, string>;
}

export interface RunResult {
  exitCode: number | null;
  /** Interleaved stdout and stderr, truncated to `maxOutputBytes`. */
  output: string;
  truncated: boolean;
  timedOut: boolean;
  /** True when the command was stopped because `signal` aborted. */
  aborted: boolean;
  /** The container was OOM-killed while the command ran (sandbox only). */
  oomKilled?: boolean;
  durationMs: number;
}

export interface CommandRunner {
  /** Where the workspace is as the commands see it (`/workspace` in a sandbox, the host path otherwise). */
  readonly workspaceDir: string;
  /** Runs `command` with `bash -c` (or `sh -c` when bash is absent). */
  run(command: string, options: RunOptions): Promise<RunResult>;
}

/** The result of a command run as a host process group (the local and bubblewrap runners). */
export function processRunResult(run: ProcessGroupResult, output: OutputBuffer, startedAt: number): RunResult {
  return {
    exitCode: run.exitCode,
    output: output.toString(),
    truncated: output.truncated,
    timedOut: run.stopReason === 'timeout',
    aborted: run.stopReason === 'aborted',
    durationMs: Date.now() - startedAt,
  };
}
