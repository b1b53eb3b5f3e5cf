import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { directoryIdentity, TurnsInFlight, TurnStoppedError } from './in-flight';

const AGENT = '1a2b3c4d-0000-4000-8000-00000000000a';

describe('TurnsInFlight', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'turn-locks-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const op = () => ({ signal: new AbortController().signal, onProgress: () => undefined, heartbeat: () => undefined });
  /** A batch that runs until its signal fires, then reports why. */
  const untilStopped = (log: string[]) => (batchOp: { signal: AbortSignal }) =>
    new Promise<string>((_, reject) =>
      batchOp.signal.addEventListener('abort', () => {
        log.push('batch stopped');
        reject(batchOp.signal.reason);
      }),
    );

  it('stops a batch running in this process and returns only once it has ended', async () => {
    const turns = new TurnsInFlight(dir);
    const log: string[] = [];
    const running = turns.run(AGENT, op(), untilStopped(log)).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 50));
    await turns.stop(AGENT, op());
    log.push('stop returned');
    expect(log).toEqual(['batch stopped', 'stop returned']);
    expect(await running).toBeInstanceOf(TurnStoppedError);
    // Non-retryable: a retry must not run the tools again in a worktree being removed.
    expect((await running as TurnStoppedError).retryable).toBe(false);
  });

  it('stops its batch when its lock is taken from it (the lock file changed under it), and says so', async () => {
    const log: string[] = [];
    // The shortest stale time the lock library allows (2 s): it refreshes the lock every second and notices the change then.
    const turns = new TurnsInFlight(dir, (msg) => log.push(msg), undefined, 2000);
    const running = turns.run(AGENT, op(), untilStopped(log)).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 100));
    // What a process that judged the lock stale and took it over leaves: a lock with another mtime.
    const later = new Date(Date.now() + 60_000);
    utimesSync(path.join(dir, `${AGENT}.lock`), later, later);
    const stopped = await running;
    expect(stopped).toBeInstanceOf(TurnStoppedError);
    expect((stopped as Error).message).toMatch(/taken over/);
    expect(log).toEqual(expect.arrayContaining(['turn: tool lock compromised', 'batch stopped']));
  }, 10_000);

  it('waits for a batch of another process on the same root to end (its lock file), without stopping it itself', async () => {
    const other = new TurnsInFlight(dir);
    const here = new TurnsInFlight(dir);
    let finish!: () => void;
    const running = other.run(AGENT, op(), () => new Promise<void>((r) => (finish = r)));
    await new Promise((r) => setTimeout(r, 50));
    let stopped = false;
    const stopping = here.stop(AGENT, op()).then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 700));
    expect(stopped).toBe(false);
    finish(); // as the other process's batch does once its cancellation arrives
    await running;
    await stopping;
    expect(stopped).toBe(true);
  });

  it('returns at once when nothing runs; a turn arriving after the stop, in any process on the root, runs nothing', async () => {
    const turns = new TurnsInFlight(dir);
    await turns.stop(AGENT, op());
    let ran = false;
    for (const t of [turns, new TurnsInFlight(dir)]) {
      await expect(t.run(AGENT, op(), async () => void (ran = true))).rejects.toBeInstanceOf(TurnStoppedError);
      await expect(t.refuseIfStopped(AGENT)).rejects.toBeInstanceOf(TurnStoppedError);
    }
    expect(ran).toBe(false);
    // Other agents are not affected.
    expect(await turns.run('5e6f7a8b-0000-4000-8000-00000000000b', op(), async () => 'ran')).toBe('ran');
  });

  it('sweeps stopped markers after a day, not before', async () => {
    const turns = new TurnsInFlight(dir);
    await turns.stop(AGENT, op());
    expect(await turns.sweepStopped()).toBe(0);
    await expect(turns.refuseIfStopped(AGENT)).rejects.toBeInstanceOf(TurnStoppedError);
    expect(await turns.sweepStopped(Date.now() + 25 * 3600_000)).toBe(1);
    await turns.refuseIfStopped(AGENT);
  });

  it('goes on after its bound when another process keeps the lock (a process that lost Temporal never hears of the kill)', async () => {
    const other = new TurnsInFlight(dir);
    let finish!: () => void;
    const running = other.run(AGENT, op(), () => new Promise<void>((r) => (finish = r)));
    await new Promise((r) => setTimeout(r, 50));
    const log: string[] = [];
    await new TurnsInFlight(dir, (msg) => log.push(msg), 800).stop(AGENT, op());
    expect(log).toEqual(['turn: another process still holds the tool lock; cleaning up anyway']);
    finish();
    await running;
  });

  it('gives up waiting when its own operation is cancelled', async () => {
    const other = new TurnsInFlight(dir);
    let finish!: () => void;
    const running = other.run(AGENT, op(), () => new Promise<void>((r) => (finish = r)));
    await new Promise((r) => setTimeout(r, 50));
    const cancel = new AbortController();
    const stopping = new TurnsInFlight(dir).stop(AGENT, { signal: cancel.signal, onProgress: () => undefined }).catch((err: unknown) => err);
    cancel.abort(new Error('activity cancelled'));
    expect(await stopping).toEqual(new Error('activity cancelled'));
    finish();
    await running;
  });

  it('refuses an agent id that could name a path outside its directory', async () => {
    await expect(new TurnsInFlight(dir).stop('../../etc', op())).rejects.toThrow();
  });
});

describe('directoryIdentity', () => {
  it('stays the same while entries come and go where the file system keeps no birth time', () => {
    // The change time moved with every file a batch made at the worktree's root: a dead batch's marker never matched.
    const before = { dev: 2049, ino: 77, birthtimeMs: 0, ctimeMs: 1_000 };
    const after = { ...before, ctimeMs: 2_000 };
    expect(directoryIdentity(after)).toBe(directoryIdentity(before));
  });

  it('tells a directory rebuilt at the same path apart by its birth time', () => {
    expect(directoryIdentity({ dev: 2049, ino: 77, birthtimeMs: 5 })).not.toBe(directoryIdentity({ dev: 2049, ino: 77, birthtimeMs: 6 }));
  });
});
