import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalRunner } from './local-runner';
import { resolveInside, PathOutsideWorkspaceError } from '../host/paths';

describe('LocalRunner', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'local-runner-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const opts = { timeoutMs: 10_000, maxOutputBytes: 10_000 };

  it('runs in the workspace with a scrubbed environment', async () => {
    process.env.LOCAL_RUNNER_SECRET = 'should-not-leak';
    const runner = new LocalRunner(dir, path.join(dir, '.home'));
    const res = await runner.run('pwd; echo "secret=${LOCAL_RUNNER_SECRET:-none}"; exit 3', opts);
    delete process.env.LOCAL_RUNNER_SECRET;
    expect(res.exitCode).toBe(3);
    expect(res.output).toContain(dir);
    expect(res.output).toContain('secret=none');
  });

  it('stops a command that outlives its timeout, with its children', async () => {
    const runner = new LocalRunner(dir, path.join(dir, '.home'));
    const res = await runner.run('(sleep 30; touch late) & sleep 30', { ...opts, timeoutMs: 300 });
    expect(res.timedOut).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(path.join(dir, 'late'))).toBe(false);
  });

  it('stops a command when its signal aborts', async () => {
    const runner = new LocalRunner(dir, path.join(dir, '.home'));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const res = await runner.run('sleep 30', { ...opts, signal: ac.signal });
    expect(res.aborted).toBe(true);
    expect(res.durationMs).toBeLessThan(10_000);
  });

  it('keeps head and tail of oversized output', async () => {
    const runner = new LocalRunner(dir, path.join(dir, '.home'));
    const res = await runner.run('echo START; seq 1 100000; echo END', { ...opts, maxOutputBytes: 1000 });
    expect(res.truncated).toBe(true);
    expect(res.output.startsWith('START')).toBe(true);
    expect(res.output.trimEnd().endsWith('END')).toBe(true);
    expect(res.output.length).toBeLessThan(1200);
  });

  it('refuses working directories outside the workspace', () => {
    expect(() => resolveInside(dir, '../x')).toThrow(PathOutsideWorkspaceError);
    expect(() => resolveInside(dir, '/etc')).toThrow(PathOutsideWorkspaceError);
    expect(resolveInside(dir, 'a/b')).toBe(path.join(dir, 'a/b'));
  });
});

describe('LocalRunner after a worker crash', () => {
  it('stops the process group a dead worker left running before it runs the next command', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'local-runner-crash-'));
    try {
      // A command from the "dead" worker: started, never awaited, like a SIGKILLed worker's.
      const first = new LocalRunner(dir, path.join(dir, '.home'));
      void first.run('sleep 30; touch survived', { timeoutMs: 60_000, maxOutputBytes: 1000 });
      await new Promise((r) => setTimeout(r, 300));
      const retried = new LocalRunner(dir, path.join(dir, '.home'));
      const res = await retried.run('echo retried', { timeoutMs: 10_000, maxOutputBytes: 1000 });
      expect(res.output.trim()).toBe('retried');
      const { execSync } = await import('node:child_process');
      expect(execSync('ps -eo args').toString()).not.toContain('sleep 30; touch survived');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
