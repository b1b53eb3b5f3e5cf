import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GitAbortedError, GitCommandFailedError } from './errors';
import { createGitRunner, gitBaseEnv, subcommandOf } from './run-git';

describe('runGit', () => {
  const secret = 'sekrit-token-value-123';
  const git = createGitRunner({ secrets: [secret], defaultTimeoutMs: 30_000, hostEnv: { ...process.env, CLAUDE_API_KEY: 'sk-host-secret' } });
  // An "ssh" that just sleeps: a remote that never answers.
  const hangingRemote = { GIT_SSH_COMMAND: 'sleep 30;', GIT_SSH_VARIANT: 'ssh' };
  // Every transport is refused unless a command opts in, as network commands do.
  const allowSsh = ['-c', 'protocol.ssh.allow=always'];

  it('returns stdout and the exit code, treating listed exit codes as answers', async () => {
    const ok = await git(['--version']);
    expect(ok).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^git version/) });
    const answer = await git(['-C', '/', 'rev-parse', '--is-inside-work-tree'], { okExitCodes: [0, 128] });
    expect(answer.exitCode).toBe(128);
  });

  it('fails with the subcommand, the exit code and scrubbed stderr', async () => {
    const attempt = git(['-C', '/nonexistent', 'ls-remote', `https://user:${secret}@example.invalid/x`]);
    await expect(attempt).rejects.toBeInstanceOf(GitCommandFailedError);
    const err = (await attempt.catch((e: unknown) => e)) as GitCommandFailedError;
    expect(err.subcommand).toBe('ls-remote');
    expect(err.exitCode).not.toBe(0);
    expect(err.message).not.toContain(secret);
  });

  it('redacts what the secret scanner recognises in git\'s error, as git repeats names it was given', async () => {
    const token = `sk-ant-api03-${'aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY'.repeat(3).slice(0, 93)}AA`;
    const repo = mkdtempSync(path.join(os.tmpdir(), 'run-git-'));
    try {
      await git(['init', '-q', repo]);
      const err = (await git(['-C', repo, 'show', token]).catch((e: unknown) => e)) as GitCommandFailedError;
      expect(err.message).toMatch(/ambiguous argument 'sk-a…'/);
      expect(err.message).not.toContain(token);
      expect(err.stderr).not.toContain(token);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('passes only allowlisted host variables and ignores global git config', () => {
    const env = gitBaseEnv({ PATH: '/bin', HOME: '/home/w', CLAUDE_API_KEY: 'sk-host-secret', GIT_DIR: '/evil' });
    expect(env).toMatchObject({ PATH: '/bin', HOME: '/home/w', GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' });
    expect(env).not.toHaveProperty('CLAUDE_API_KEY');
    expect(env).not.toHaveProperty('GIT_DIR');
  });

  it('stops git and its children when the signal aborts, heartbeating meanwhile', async () => {
    const ac = new AbortController();
    let beats = 0;
    setTimeout(() => ac.abort(), 1300);
    const started = Date.now();
    await expect(
      git([...allowSsh, 'ls-remote', 'ssh://example.invalid/repo.git'], { env: hangingRemote, signal: ac.signal, onProgress: () => beats++ }),
    ).rejects.toBeInstanceOf(GitAbortedError);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(beats).toBeGreaterThanOrEqual(1);
  });

  it('fails a command that outlives its timeout as retryable', async () => {
    await expect(git([...allowSsh, 'ls-remote', 'ssh://example.invalid/repo.git'], { env: hangingRemote, timeoutMs: 300 })).rejects.toMatchObject({
      type: 'GitCommandFailed',
      retryable: true,
      message: expect.stringContaining('timed out'),
    });
  });

  it('names the subcommand after global options', () => {
    expect(subcommandOf(['-C', '/x', '-c', 'a=b', '--git-dir=/y', 'worktree', 'add'])).toBe('worktree');
  });
});
