/**
 * Scratch repositories for the git tests: a bare "remote" reachable by file:// URL, and a
 * helper that moves its branches as another developer would. Test-only.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GitDeps } from '../../activities/git/context';

const ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: '/nonexistent',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Remote Dev',
  GIT_AUTHOR_EMAIL: 'dev@example.test',
  GIT_COMMITTER_NAME: 'Remote Dev',
  GIT_COMMITTER_EMAIL: 'dev@example.test',
};

/** Runs git synchronously for fixtures and assertions; returns trimmed stdout. */
export function git(args: string[], cwd?: string): string {
  return execFileSync('git', args, { cwd, env: ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Like git(), but returns undefined instead of throwing (for refs that may not exist). */
export function tryGit(args: string[], cwd?: string): string | undefined {
  try {
    return git(args, cwd);
  } catch {
    return undefined;
  }
}

export interface TestRemote {
  /** `file:///...` URL of the bare repository. */
  url: string;
  barePath: string;
  /** Commits `files` on `branch` of the remote, as someone else would; returns the new sha. */
  commit(files: Record<string, string>, message: string, branch?: string): string;
  /** The sha of a ref on the remote, or undefined. */
  sha(ref: string): string | undefined;
}

/** A bare repository under `dir` with one commit of `files` on `main` (no commit, no branch, when `files` is empty). */
export function createRemote(dir: string, files: Record<string, string>): TestRemote {
  mkdirSync(dir, { recursive: true });
  const barePath = path.join(dir, 'remote.git');
  git(['init', '--quiet', '--bare', '--initial-branch=main', barePath]);
  const work = mkdtempSync(path.join(dir, 'dev-'));
  git(['clone', '--quiet', barePath, work]);
  let first = true;
  const remote: TestRemote = {
    url: `file://${barePath}`,
    barePath,
    commit(changes, message, branch = 'main') {
      if (first) git(['checkout', '--quiet', '-b', branch], work);
      else {
        git(['fetch', '--quiet', 'origin'], work);
        git(['checkout', '--quiet', '-B', branch, `origin/${branch}`], work);
      }
      first = false;
      writeFiles(work, changes);
      git(['add', '--all'], work);
      git(['commit', '--quiet', '-m', message], work);
      git(['push', '--quiet', 'origin', `${branch}:${branch}`], work);
      return git(['rev-parse', 'HEAD'], work);
    },
    sha: (ref) => tryGit(['rev-parse', '--verify', '--quiet', ref], barePath),
  };
  if (Object.keys(files).length > 0) remote.commit(files, 'initial');
  return remote;
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
}

/** Deps for tests: file:// remotes, a fixed author, logs collected in `logs`. */
export function testDeps(workspaceRoot: string, overrides: Partial<GitDeps> = {}): GitDeps & { logs: Array<{ msg: string; meta?: Record<string, unknown> }> } {
  const logs: Array<{ msg: string; meta?: Record<string, unknown> }> = [];
  return {
    workspaceRoot,
    host: { id: 'test-host', taskQueue: 'test@test-host' },
    allowedSchemes: ['file'],
    author: { name: 'Agent Smith', email: 'agent@orchestrator.test' },
    credentials: { httpsUsername: 'x-access-token' },
    pushEnabled: true,
    log: (msg, meta) => logs.push({ msg, meta }),
    ...overrides,
    logs,
  };
}
