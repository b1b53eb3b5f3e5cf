/**
 * The one place a git process starts: an argument array (never a shell), the hardening of
 * ./hardening.ts (an environment rebuilt from an allowlist, no system or global config, no hooks,
 * fsmonitor, submodules, lazy fetch or attribute drivers), exit codes
 * returned rather than guessed from text (merge-tree and diff use them as answers), and
 * cancellation that stops the whole process group.
 *
 * simple-git was the first choice, but its unsafe-operation guard rejects exactly the
 * per-command credential.helper and GIT_SSH_COMMAND this module relies on, and it folds exit
 * codes into error text; a thin spawn wrapper is smaller than the workarounds.
 */
import { runProcessGroup, type ProcessGroupResult } from '../host/process-group';
import { GitAbortedError, GitCommandFailedError } from './errors';
import { assertCallerEnv, gitBaseEnv, HARDENED_CONFIG } from './hardening';
import { scrubbedTail } from './redact';

export interface GitRunOptions {
  /** Working directory; git is also pointed at repositories explicitly with --git-dir / -C. */
  cwd?: string;
  /** Extra variables for this child only (credential plumbing, author identity). */
  env?: Record<string, string>;
  /** Written to stdin (commit messages, packs), so they never go through argv. */
  input?: string | Buffer;
  /** Exit codes that are answers rather than failures (default: only 0). */
  okExitCodes?: readonly number[];
  signal?: AbortSignal;
  /** Called about once a second while git runs, so an activity can heartbeat. */
  onProgress?: () => void;
  timeoutMs?: number;
  /** Output beyond this fails the command instead of being silently cut (a diff must be whole). */
  maxOutputBytes?: number;
  /** Also return stdout as bytes (blob content is not necessarily UTF-8). */
  binaryStdout?: boolean;
}

export interface GitRunResult {
  stdout: string;
  /** Set when `binaryStdout` was asked for. */
  stdoutBytes?: Buffer;
  stderr: string;
  exitCode: number;
}

export type GitRunner = (args: readonly string[], options?: GitRunOptions) => Promise<GitRunResult>;

export interface GitRunnerSettings {
  /** Values scrubbed from every error message (the https token, its Basic form). */
  secrets: readonly string[];
  defaultTimeoutMs: number;
  /** Source of pass-through variables; defaults to the worker's environment. */
  hostEnv?: NodeJS.ProcessEnv;
}

const DEFAULT_MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

/** Builds a runner bound to the secrets it must scrub and the host environment it may pass on. */
export function createGitRunner(settings: GitRunnerSettings): GitRunner {
  const baseEnv = gitBaseEnv(settings.hostEnv ?? process.env);
  return (args, options = {}) => runGit(args, options, baseEnv, settings);
}

export { gitBaseEnv } from './hardening';

async function runGit(
  args: readonly string[],
  options: GitRunOptions,
  baseEnv: Record<string, string>,
  settings: GitRunnerSettings,
): Promise<GitRunResult> {
  const subcommand = subcommandOf(args);
  if (options.signal?.aborted) throw new GitAbortedError(subcommand);
  assertCallerEnv(options.env);
  const maxBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const timeoutMs = options.timeoutMs ?? settings.defaultTimeoutMs;
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let bytes = 0;
  let run: ProcessGroupResult;
  try {
    run = await runProcessGroup('git', [...HARDENED_CONFIG, ...args], {
      cwd: options.cwd,
      env: { ...baseEnv, ...options.env },
      input: options.input ?? '',
      timeoutMs,
      signal: options.signal,
      onProgress: options.onProgress,
      onOutput: (chunk, stream, stop) => {
        bytes += chunk.length;
        if (bytes > maxBytes) return stop('overflow');
        (stream === 'stdout' ? stdout : stderr).push(chunk);
      },
    });
  } catch (err) {
    throw new GitCommandFailedError(`git ${subcommand} could not start: ${(err as Error).message}`, subcommand, null);
  }
  const outBytes = Buffer.concat(stdout);
  const out = options.binaryStdout ? '' : outBytes.toString('utf8');
  const err = Buffer.concat(stderr).toString('utf8');
  if (run.stopReason === 'aborted') throw new GitAbortedError(subcommand);
  if (run.stopReason) {
    const why = run.stopReason === 'timeout' ? `timed out after ${timeoutMs} ms` : `produced more than ${maxBytes} bytes`;
    throw new GitCommandFailedError(`git ${subcommand} ${why}`, subcommand, run.exitCode);
  }
  const exitCode = run.exitCode ?? -1;
  if (!(options.okExitCodes ?? [0]).includes(exitCode)) {
    const detail = scrubbedTail(err.trim() || out.trim(), settings.secrets);
    throw new GitCommandFailedError(`git ${subcommand} failed (exit ${exitCode}): ${detail}`, subcommand, exitCode, scrubbedTail(err, settings.secrets));
  }
  return { stdout: out, stderr: err, exitCode, ...(options.binaryStdout ? { stdoutBytes: outBytes } : {}) };
}

/** The git subcommand in an argument list, skipping global options and their values. */
export function subcommandOf(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-c' || arg === '-C') i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return '?';
}
