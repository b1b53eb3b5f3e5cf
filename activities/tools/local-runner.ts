/**
 * Runs agent commands as child processes confined to the worktree, for when the Docker
 * sandbox is disabled: the worktree is the working directory and HOME, the environment is
 * rebuilt from scratch (no host variable, so no key, leaks in), and the whole process group
 * is stopped on timeout or abort. It is confinement by convention, not isolation: use the
 * sandbox for untrusted work.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveInside } from '../host/paths';
import { runProcessGroup, signalGroup, type ProcessGroupResult } from '../host/process-group';
import { OutputBuffer } from './output-buffer';
import { processRunResult, type CommandRunner, type RunOptions, type RunResult } from './runner';

export class LocalRunner implements CommandRunner {
  private readonly shell = existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';

  constructor(
    readonly workspaceDir: string,
    /** The agent's HOME, outside the worktree so tool caches (.npm, .cache) never end up in a commit. */
    private readonly homeDir: string,
  ) {}

  async run(command: string, options: RunOptions): Promise<RunResult> {
    const cwd = resolveInside(this.workspaceDir, options.cwd ?? '.');
    const started = Date.now();
    const output = new OutputBuffer(options.maxOutputBytes);
    const home = this.homeDir;
    mkdirSync(home, { recursive: true });
    // A worker that died mid-command left its process group running in this worktree: stop it
    // before the retried command starts, so the two never run side by side.
    const pgidFile = path.join(home, '.running-pgid');
    const stale = Number(readFileSyncOrEmpty(pgidFile));
    if (stale > 0) signalGroup(stale, 'SIGKILL');
    let run: ProcessGroupResult;
    try {
      run = await runProcessGroup(this.shell, ['-c', command], {
        cwd,
        env: {
          PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
          HOME: home,
          LANG: 'C.UTF-8',
          TERM: 'dumb',
          CI: 'true',
          GIT_TERMINAL_PROMPT: '0',
          ...options.env,
        },
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        onProgress: options.onProgress,
        onOutput: (chunk) => output.push(chunk),
        onSpawn: (pid) => writeFileSync(pgidFile, String(pid)),
        killGroupOnExit: true,
      });
    } finally {
      rmSync(pgidFile, { force: true });
    }
    return processRunResult(run, output, started);
  }
}

function readFileSyncOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
