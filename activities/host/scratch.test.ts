/**
 * Scratch directories under the workspace root: removed after their operation, and by the reaper
 * when the process that made them died first (kill -9), never while a live process uses them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processScratch } from './scratch';

const REPO = path.resolve(__dirname, '../..');

describe('scratch directories', () => {
  let root: string;
  const children: ChildProcess[] = [];
  beforeEach(() => {
    root = path.join(mkdtempSync(path.join(os.tmpdir(), 'scratch-')), 'tmp');
  });
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    rmSync(path.dirname(root), { recursive: true, force: true });
  });

  it("makes an operation's directory in this process's own, named by its label, and removes it on release", async () => {
    const scratch = processScratch(root);
    const dir = await scratch.make('a1.salvage');
    expect(path.relative(root, dir)).toMatch(/^\d+-[0-9a-f]{8}\/a1\.salvage-[0-9a-f]{12}$/);
    writeFileSync(path.join(dir, 'index'), 'x');
    await scratch.release(dir);
    expect(existsSync(dir)).toBe(false);
    await expect(scratch.make('../a1')).rejects.toThrow();
    await expect(scratch.make('a/b')).rejects.toThrow();
    await scratch.close();
    expect(readdirSync(root)).toEqual([]); // its directory and its lock are gone
  });

  it('leaves to the reaper a directory whose removal failed, and the reaper keeps the ones in use', async () => {
    let failing = true;
    const logs: string[] = [];
    const scratch = processScratch(root, {
      log: (msg) => logs.push(msg),
      remove: async (dir) => {
        if (failing) throw new Error('EACCES');
        rmSync(dir, { recursive: true, force: true });
      },
    });
    const leftover = await scratch.make('a1.gate-home');
    await expect(scratch.release(leftover)).resolves.toBeUndefined();
    expect(existsSync(leftover)).toBe(true);
    expect(logs).toContain('scratch: removal failed, left to the reaper');

    failing = false;
    const inUse = await scratch.make('a2.gate-index');
    expect(await scratch.reap()).toBe(1);
    expect([existsSync(leftover), existsSync(inUse)]).toEqual([false, true]);
    await scratch.release(inUse);
    await scratch.close();
  });

  it("removes what a worker killed with -9 left, once its lock is stale, and keeps a live process's", async () => {
    const live = processScratch(root);
    const liveDir = await live.make('a2.salvage');

    // A worker process that dies mid-salvage: its directory stays, its lock is no longer refreshed.
    const script = path.join(path.dirname(root), 'worker.ts');
    writeFileSync(
      script,
      `import { processScratch } from ${JSON.stringify(path.resolve(__dirname, 'scratch'))};
       void processScratch(${JSON.stringify(root)}).make('a1.salvage').then((dir) => { require('node:fs').writeFileSync(dir + '/index', 'x'); console.log(dir); setInterval(() => undefined, 1000); });`,
    );
    // node itself (not the tsx wrapper, which would outlive a kill in its child), so -9 reaches the worker.
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const deadDir = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
      child.once('exit', (code) => reject(new Error(`the worker exited early (${String(code)})`)));
    });
    await new Promise((resolve) => {
      child.removeAllListeners('exit');
      child.once('exit', resolve);
      child.kill('SIGKILL');
    });
    const deadProcessDir = path.dirname(deadDir);
    expect(existsSync(path.join(deadDir, 'index'))).toBe(true);

    // Not yet stale: the reaper cannot tell a dead process from a live one.
    const reaper = processScratch(root);
    expect(await reaper.reap()).toBe(0);
    expect(existsSync(deadDir)).toBe(true);

    // Ten minutes later: the lock was last refreshed before the kill.
    const past = new Date(Date.now() - 11 * 60_000);
    utimesSync(`${deadProcessDir}.lock`, past, past);
    expect(await reaper.reap()).toBe(1);
    expect(existsSync(deadProcessDir)).toBe(false);
    expect(existsSync(`${deadProcessDir}.lock`)).toBe(false);
    expect(existsSync(liveDir)).toBe(true);

    await live.release(liveDir);
    await live.close();
  });

  it('removes a directory left without its lock, and a stale lock left without its directory', async () => {
    mkdirSync(path.join(root, '123-0badc0de', 'a1.salvage-000000000000'), { recursive: true });
    mkdirSync(path.join(root, '456-0badf00d.lock'), { recursive: true });
    const past = new Date(Date.now() - 11 * 60_000);
    utimesSync(path.join(root, '456-0badf00d.lock'), past, past);
    expect(await processScratch(root).reap()).toBe(2);
    expect(readdirSync(root)).toEqual([]);
  });
});
