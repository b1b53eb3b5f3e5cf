/**
 * A holder whose lock was taken over (it stalled past the stale time) must not remove the new
 * holder's lock when it releases or exits: a third party would then take the lock beside it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { lockOwned } from './owned-lock';

const REPO = path.resolve(__dirname, '../..');
const STALE_MS = 30_000;

describe('owned lock', () => {
  let dir: string;
  let file: string;
  const children: ChildProcess[] = [];
  let lost: string[];
  beforeEach(() => {
    lost = [];
    dir = mkdtempSync(path.join(os.tmpdir(), 'owned-lock-'));
    file = path.join(dir, 'guarded');
  });
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const holderA = () => lockOwned(file, { stale: STALE_MS, onLost: (err) => lost.push(err.message) });
  /** What a stall past the stale time leaves: a lock its holder has not refreshed (its refresh is 15 s away yet). */
  const goStale = () => utimesSync(`${file}.lock`, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  const thirdParty = () => lockfile.lock(file, { realpath: false, stale: STALE_MS });

  /** A worker process running `code` (with `lockOwned`, `lockfile`, `file`, `stallUntilTakenOver` in scope); returns once it prints a line. */
  const otherProcess = async (code: string): Promise<ChildProcess> => {
    const script = path.join(dir, `worker-${children.length}.ts`);
    writeFileSync(
      script,
      `import { statSync } from 'node:fs';
       import lockfile from ${JSON.stringify(require.resolve('proper-lockfile'))};
       import { lockOwned } from ${JSON.stringify(path.resolve(__dirname, 'owned-lock'))};
       const file = ${JSON.stringify(file)};
       const stallUntilTakenOver = ${stallSource('statSync')};
       void lockfile; void lockOwned; void stallUntilTakenOver;
       void (async () => { ${code} })();
       setInterval(() => undefined, 1000); // alive until killed: its lock's refresh timer does not keep it`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`the worker exited early (${String(code)})`)));
    });
    child.removeAllListeners('exit');
    return child;
  };

  it('removes its own lock on release', async () => {
    const release = await holderA();
    expect(await release()).toBe(true);
    expect(existsSync(`${file}.lock`)).toBe(false);
    await (await thirdParty())();
  });

  it('removes its own lock on release after refreshing it', async () => {
    const release = await lockOwned(file, { stale: 2000, onLost: (err) => lost.push(err.message) });
    const first = statSync(`${file}.lock`).mtime.getTime();
    await new Promise((r) => setTimeout(r, 1500)); // refreshed every second
    expect(statSync(`${file}.lock`).mtime.getTime()).not.toBe(first);
    expect(await release()).toBe(true);
    expect(existsSync(`${file}.lock`)).toBe(false);
    expect(lost).toEqual([]);
  });

  it('leaves the lock to a holder in this process that took it over', async () => {
    const releaseA = await holderA();
    goStale();
    const releaseB = await lockOwned(file, { stale: STALE_MS, onLost: () => undefined });
    const own = await releaseA();
    await expect(thirdParty()).rejects.toMatchObject({ code: 'ELOCKED' });
    expect(own).toBe(false);
    expect(await releaseB()).toBe(true);
    expect(lost).toEqual([]); // released before its refresh could notice: nothing to stop any more
  });

  it('leaves the lock to another process that took it over', async () => {
    // The shortest stale time the lock library allows: refreshed every second, while this process stalls longer.
    const releaseA = await lockOwned(file, { stale: 2000, onLost: (err) => lost.push(err.message) });
    const b = await otherProcess(
      `console.log('ready'); await lockfile.lock(file, { realpath: false, stale: 2000, retries: { retries: 200, minTimeout: 50, maxTimeout: 50 } }); console.log('locked');`,
    );
    const locked = new Promise((resolve) => b.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('locked') && resolve(undefined)));
    stallUntilTakenOver(`${file}.lock`);
    // Ends before its refresh (a timer) could run and notice.
    const own = await releaseA();
    await locked;
    await expect(thirdParty()).rejects.toMatchObject({ code: 'ELOCKED' });
    expect(own).toBe(false);
    expect(lost).toEqual([]);
  }, 30_000);

  it('leaves the lock to the one that took it over when its process exits', async () => {
    const a = await otherProcess(
      `await lockOwned(file, { stale: 2000, onLost: () => undefined }); console.log('locked');
       process.stdin.once('data', () => { stallUntilTakenOver(file + '.lock'); process.exit(0); });`,
    );
    const exited = new Promise((resolve) => a.once('exit', resolve));
    a.stdin!.write('stall\n');
    const releaseB = await lockOwned(file, { stale: 2000, retries: { retries: 200, minTimeout: 50, maxTimeout: 50 }, onLost: () => undefined });
    await exited;
    await expect(thirdParty()).rejects.toMatchObject({ code: 'ELOCKED' });
    expect(await releaseB()).toBe(true);
  }, 30_000);
});

/**
 * A stalled event loop (no timer runs, so the holder's refresh neither) that lasts until another
 * holder has replaced the lock (its mtime changed). Source text, for the worker processes too.
 */
const stallSource = (statSync: string) => `(lockPath) => {
  const deadline = Date.now() + 15000;
  const before = ${statSync}(lockPath).mtimeMs;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < deadline) {
    Atomics.wait(nap, 0, 0, 50);
    const now = ${statSync}(lockPath, { throwIfNoEntry: false });
    if (now && now.mtimeMs !== before) return;
  }
  throw new Error('the lock was not taken over');
}`;
// The same stall as the workers', in this process.
const stallUntilTakenOver = new Function('statSync', `return ${stallSource('statSync')}`)(statSync) as (lockPath: string) => void;
