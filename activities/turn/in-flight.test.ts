import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkspaceLostError } from '../git/errors';
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
    let began!: () => void;
    const started = new Promise<void>((r) => (began = r));
    const running = turns.run(AGENT, op(), (batchOp) => (began(), untilStopped(log)(batchOp))).catch((err: unknown) => err);
    await started;
    await turns.stop(AGENT, op());
    log.push('stop returned');
    expect(log).toEqual(['batch stopped', 'stop returned']);
    expect(await running).toBeInstanceOf(TurnStoppedError);
    // Non-retryable: a retry must not run the tools again in a worktree being removed.
    expect((await running as TurnStoppedError).retryable).toBe(false);
  });

  it('never leaves a batch of this process running once stop has returned, whenever the stop arrives as the batch starts', async () => {
    // A stop between the batch's stopped check and its registration found nothing to abort, waited its bound for the lock the batch
    // held, and returned with the batch running; one after its registration but before the batch began aborted a signal no one heard yet.
    for (let ticks = 0; ticks < 60; ticks += 1) {
      const turns = new TurnsInFlight(path.join(dir, String(ticks)), undefined, 200);
      // A stop that wins the lock before the batch has it returns while run() is still on its way to refusing:
      // what must hold is that no batch runs then, nor starts after.
      let inBatch = false;
      let stopReturned = false;
      let startedAfterStop = false;
      const batch = async (batchOp: Parameters<ReturnType<typeof untilStopped>>[0]) => {
        startedAfterStop ||= stopReturned;
        inBatch = true;
        try {
          await untilStopped([])(batchOp);
        } finally {
          inBatch = false;
        }
      };
      const running = turns.run(AGENT, op(), batch).catch(() => undefined);
      for (let i = 0; i < ticks; i += 1) await new Promise((r) => setImmediate(r));
      const stop = await Promise.race([turns.stop(AGENT, op()).then(() => 'returned'), new Promise((r) => setTimeout(r, 3000, 'hung'))]);
      stopReturned = true;
      const runningAtStop = inBatch;
      await running;
      expect({ ticks, stop, runningAtStop, startedAfterStop }).toEqual({ ticks, stop: 'returned', runningAtStop: false, startedAfterStop: false });
    }
  }, 60_000);

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

  it('rebuilds when a batch died in the same worktree; a batch that ended leaves nothing behind', async () => {
    const worktree = path.join(dir, 'wt');
    mkdirSync(worktree);
    const turns = new TurnsInFlight(dir);
    expect(await turns.run(AGENT, op(), async () => 'ran', worktree)).toBe('ran');
    expect(await turns.run(AGENT, op(), async () => 'ran again', worktree)).toBe('ran again');
  });

  it("keeps a newer batch's marker when an older batch that lost its lock ends after it (a retry then rebuilds, not applies the newer batch twice)", async () => {
    // Attempt A froze (a stalled process) past the lock's stale time; the lock was taken over and the run moved to a rebuilt worktree.
    const first = path.join(dir, 'wt-first');
    const rebuilt = path.join(dir, 'wt-rebuilt');
    mkdirSync(first);
    mkdirSync(rebuilt);
    const lockFile = path.join(dir, `${AGENT}.lock`);
    const goStale = () => utimesSync(lockFile, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    /** A batch that runs on until told to end, deaf to its signal (its process does not hear of the takeover in time). */
    const frozen = () => {
      let end!: () => void;
      const ended = new Promise<void>((r) => (end = r));
      return { end, batch: () => ended };
    };
    const a = frozen();
    const older = new TurnsInFlight(dir, undefined, undefined, 2000).run(AGENT, op(), a.batch, first).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 100));
    goStale();
    const b = frozen();
    const newer = new TurnsInFlight(dir, undefined, undefined, 2000).run(AGENT, op(), b.batch, rebuilt).catch((err: unknown) => err);
    // A's next refresh (every second) finds its lock taken over; A's batch goes on a while yet.
    await new Promise((r) => setTimeout(r, 1300));
    a.end();
    await older;
    // B's process now dies mid-batch (its lock goes stale); the retry comes back to this host, to B's worktree.
    goStale();
    let ranTwice = false;
    const retry = await new TurnsInFlight(dir, undefined, undefined, 2000)
      .run(AGENT, op(), async () => void (ranTwice = true), rebuilt)
      .catch((err: unknown) => err);
    expect(ranTwice).toBe(false);
    expect(retry).toBeInstanceOf(WorkspaceLostError);
    b.end();
    await newer;
  }, 15_000);

  it('leaves a newer holder its lock when a batch whose lock was taken over ends (a third batch waits for the newer one)', async () => {
    // A stalled past the stale time and B took the lock over; A ended before its refresh noticed. Its release removed
    // B's lock, and a third batch of the agent then ran beside B in the same worktree.
    const lockFile = path.join(dir, `${AGENT}.lock`);
    // The run moved on to a rebuilt worktree when A's host looked lost.
    const [first, rebuilt] = [path.join(dir, 'wt-first'), path.join(dir, 'wt-rebuilt')];
    mkdirSync(first);
    mkdirSync(rebuilt);
    let endA!: () => void;
    let aStarted!: () => void;
    const startedA = new Promise<void>((r) => (aStarted = r));
    const older = new TurnsInFlight(dir).run(AGENT, op(), () => (aStarted(), new Promise<void>((r) => (endA = r))), first);
    await startedA;
    utimesSync(lockFile, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    let endB!: () => void;
    let bStarted!: () => void;
    const started = new Promise<void>((r) => (bStarted = r));
    const newer = new TurnsInFlight(dir).run(AGENT, op(), () => (bStarted(), new Promise<void>((r) => (endB = r))), rebuilt);
    await started;
    endA();
    await older;
    const log: string[] = [];
    await new TurnsInFlight(dir, (msg) => log.push(msg), 600).stop(AGENT, op());
    expect(log).toEqual(['turn: another process still holds the tool lock; cleaning up anyway']);
    endB();
    await newer;
    expect(existsSync(lockFile)).toBe(false);
  }, 10_000);

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
