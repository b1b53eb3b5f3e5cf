import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { GitAbortedError } from './errors';
import { removeStaleGitLocks, repoLockPath, withRepoLock } from './repo-lock';

describe('repository lock', () => {
  let dir: string;
  let mirror: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'repo-lock-'));
    mirror = path.join(dir, 'abc.git');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('runs holders of one mirror one at a time, in order, within a process', async () => {
    const events: string[] = [];
    const holder = (name: string, ms: number) =>
      withRepoLock(mirror, async () => {
        events.push(`${name}:start`);
        await sleep(ms);
        events.push(`${name}:end`);
        return name;
      });
    const results = await Promise.all([holder('a', 80), holder('b', 10), holder('c', 10)]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(events).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
  });

  it('lets different mirrors proceed in parallel', async () => {
    const events: string[] = [];
    const slow = withRepoLock(path.join(dir, 'one.git'), async () => {
      await sleep(150);
      events.push('one');
    });
    await withRepoLock(path.join(dir, 'two.git'), async () => {
      events.push('two');
    });
    await slow;
    expect(events).toEqual(['two', 'one']);
  });

  it('keeps the queue moving after a holder throws', async () => {
    await expect(withRepoLock(mirror, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(withRepoLock(mirror, async () => 'next')).resolves.toBe('next');
  });

  it('heartbeats while queued and gives up when the signal aborts, without breaking the queue', async () => {
    let releaseFirst!: () => void;
    const first = withRepoLock(mirror, () => new Promise<void>((r) => (releaseFirst = r)));
    const ac = new AbortController();
    let beats = 0;
    const queued = withRepoLock(mirror, async () => 'ran', { signal: ac.signal, onProgress: () => beats++ });
    const third = withRepoLock(mirror, async () => 'third');
    await sleep(1100);
    ac.abort();
    await expect(queued).rejects.toBeInstanceOf(GitAbortedError);
    expect(beats).toBeGreaterThanOrEqual(1);
    releaseFirst();
    await first;
    await expect(third).resolves.toBe('third');
  });

  it('waits for a lock another process holds on the lock file', async () => {
    // Stands in for a second worker process: it takes the same file lock directly.
    const release = await lockfile.lock(mirror, { realpath: false, lockfilePath: repoLockPath(mirror) });
    let entered = false;
    const waiting = withRepoLock(mirror, async () => {
      entered = true;
    });
    await sleep(300);
    expect(entered).toBe(false);
    await release();
    await waiting;
    expect(entered).toBe(true);
    expect(existsSync(repoLockPath(mirror))).toBe(false);
  });

  it("leaves another process its lock when a holder whose lock was taken over releases (a third one waits)", async () => {
    // The holder stalled past the stale time and another process took the lock over; the holder's release removed
    // that process's lock, and a third then ran git on the mirror beside it.
    const m = path.join(dir, 'takeover.git');
    const lockOptions = { realpath: false, lockfilePath: repoLockPath(m), stale: 30_000 };
    let endA!: () => void;
    let aStarted!: () => void;
    const startedA = new Promise<void>((r) => (aStarted = r));
    const older = withRepoLock(m, () => (aStarted(), new Promise<void>((r) => (endA = r))));
    await startedA;
    const past = new Date(Date.now() - 60_000);
    utimesSync(repoLockPath(m), past, past);
    // Stands in for the other process: it takes the stale lock over directly.
    const releaseB = await lockfile.lock(m, lockOptions);
    endA();
    await older;
    await expect(lockfile.lock(m, lockOptions)).rejects.toMatchObject({ code: 'ELOCKED' });
    await releaseB();
    expect(existsSync(repoLockPath(m))).toBe(false);
  }, 10_000);

  it('removes only git lock files old enough to be from a crashed process', async () => {
    const m = path.join(dir, 'locks.git');
    mkdirSync(path.join(m, 'refs', 'heads', 'agent'), { recursive: true });
    mkdirSync(path.join(m, 'worktrees', 'other'), { recursive: true });
    const old = new Date(Date.now() - 60_000);
    const stale = [path.join(m, 'packed-refs.lock'), path.join(m, 'refs', 'heads', 'agent', 'x.lock')];
    const fresh = path.join(m, 'config.lock');
    const otherWorktree = path.join(m, 'worktrees', 'other', 'index.lock');
    for (const f of [...stale, fresh, otherWorktree]) writeFileSync(f, '');
    for (const f of [...stale, otherWorktree]) utimesSync(f, old, old);

    const removed = await removeStaleGitLocks(m, { worktreeName: 'mine' });

    expect(removed.sort()).toEqual(stale.sort());
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(otherWorktree)).toBe(true); // another agent's worktree is not ours to clean
  });
});
