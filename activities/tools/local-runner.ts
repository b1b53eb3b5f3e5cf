/**
 * Runs agent commands as child processes confined to the worktree, for when the Docker
 * sandbox is disabled: the worktree is the working directory and HOME, the environment is
 * rebuilt from scratch (no host variable, so no key, leaks in), and the whole process group
 * is stopped on timeout or abort. It is confinement by convention, not isolation: use the
 * sandbox for untrusted work.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OutputBuffer } from './output-buffer';
import type { CommandRunner, RunOptions, RunResult } from './runner';

const KILL_GRACE_MS = 2000;
const PROGRESS_INTERVAL_MS = 1000;

export class LocalRunner implements CommandRunner {
  private readonly shell = existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';

  constructor(readonly workspaceDir: string) {}

  run(command: string, options: RunOptions): Promise<RunResult> {
    const cwd = resolveInside(this.workspaceDir, options.cwd ?? '.');
    const started = Date.now();
    const output = new OutputBuffer(options.maxOutputBytes);
    const home = path.join(os.tmpdir(), 'agent-home', path.basename(this.workspaceDir));
    mkdirSync(home, { recursive: true });
    // A worker that died mid-command left its process group running in this worktree: stop it
    // before the retried command starts, so the two never run side by side.
    const pgidFile = path.join(home, '.running-pgid');
    const stale = Number(readFileSyncOrEmpty(pgidFile));
    if (stale > 0) signalGroup(stale, 'SIGKILL');
    return new Promise<RunResult>((resolve, reject) => {
      const child = spawn(this.shell, ['-c', command], {
        cwd,
        detached: true, // own process group, so a kill reaches every descendant
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
          // HOME outside the worktree, so tool caches (.npm, .cache) never end up in a commit.
          HOME: home,
          LANG: 'C.UTF-8',
          TERM: 'dumb',
          CI: 'true',
          GIT_TERMINAL_PROMPT: '0',
          ...options.env,
        },
      });
      if (child.pid) writeFileSync(pgidFile, String(child.pid));
      let timedOut = false;
      let aborted = false;
      const stop = () => {
        signalGroup(child.pid, 'SIGTERM');
        setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS).unref();
      };
      const timer = setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeoutMs);
      const progress = options.onProgress ? setInterval(options.onProgress, PROGRESS_INTERVAL_MS) : undefined;
      const onAbort = () => {
        aborted = true;
        stop();
      };
      if (options.signal?.aborted) onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (c: Buffer) => output.push(c));
      child.stderr.on('data', (c: Buffer) => output.push(c));
      child.on('error', (err) => {
        clearTimeout(timer);
        if (progress) clearInterval(progress);
        reject(err);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (progress) clearInterval(progress);
        options.signal?.removeEventListener('abort', onAbort);
        // The shell is gone; make sure nothing it started in the background lingers.
        signalGroup(child.pid, 'SIGKILL');
        rmSync(pgidFile, { force: true });
        resolve({
          exitCode: code,
          output: output.toString(),
          truncated: output.truncated,
          timedOut,
          aborted,
          durationMs: Date.now() - started,
        });
      });
    });
  }
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Resolves `relative` against `root`, refusing anything that lands outside it. */
export function resolveInside(root: string, relative: string): string {
  const resolved = path.resolve(root, relative);
  if (resolved !== root && !resolved.startsWith(root.endsWith(path.sep) ? root : root + path.sep)) {
    throw new PathOutsideWorkspaceError(relative);
  }
  return resolved;
}

export class PathOutsideWorkspaceError extends Error {
  constructor(readonly requested: string) {
    super(`path ${JSON.stringify(requested)} is outside the workspace`);
    this.name = 'PathOutsideWorkspaceError';
  }
}

function readFileSyncOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
