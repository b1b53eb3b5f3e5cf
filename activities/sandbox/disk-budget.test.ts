import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalRunner } from '../tools/local-runner';
import { checkDiskBudget, guardDisk, WorkspaceTooLargeError, type FilesystemUsage } from './disk-budget';

describe('the disk budget', () => {
  let dir: string;
  let worktree: string;
  let home: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'disk-budget-'));
    worktree = path.join(dir, 'wt');
    home = path.join(dir, 'home');
    mkdirSync(worktree);
    mkdirSync(home);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const MB = 1024 * 1024;
  const opts = { timeoutMs: 60_000, maxOutputBytes: 10_000 };
  const runnerIn = () => new LocalRunner(worktree, home);
  const failureOf = async (p: Promise<unknown>) => (await p.then(() => undefined, (e: unknown) => e)) as Error | undefined;

  it('stops a command that writes past WORKSPACE_MAX_MB while it runs, long before it would end', async () => {
    const guarded = guardDisk(runnerIn(), { worktree, home, budget: { maxBytes: 4 * MB, maxEntries: 10_000 }, intervalMs: 100 });
    const started = Date.now();
    const err = await failureOf(guarded.run('for i in 1 2 3 4; do head -c 2000000 /dev/zero > f$i.bin; done; sleep 30; touch finished', opts));
    expect(err).toBeInstanceOf(WorkspaceTooLargeError);
    expect(err!.message).toBe('the worktree holds more than 4 MB while a command ran (WORKSPACE_MAX_MB=4); the command and the run are stopped');
    expect(Date.now() - started).toBeLessThan(20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(path.join(worktree, 'finished'))).toBe(false);
  });

  it('stops a command that makes empty files past WORKSPACE_MAX_FILES: they cost inodes, not bytes', async () => {
    const guarded = guardDisk(runnerIn(), { worktree, home, budget: { maxBytes: 1024 * MB, maxEntries: 500 }, intervalMs: 100 });
    const err = await failureOf(guarded.run('mkdir d && cd d && seq 1 3000 | xargs touch; sleep 30', opts));
    expect(err).toBeInstanceOf(WorkspaceTooLargeError);
    expect(err!.message).toContain('more than 500 files and directories while a command ran (WORKSPACE_MAX_FILES=500)');
  });

  it("counts the agent's home with the worktree", async () => {
    const guarded = guardDisk(runnerIn(), { worktree, home, budget: { maxBytes: 4 * MB, maxEntries: 10_000 }, intervalMs: 100 });
    const err = await failureOf(guarded.run('head -c 3000000 /dev/zero > w.bin; head -c 3000000 /dev/zero > "$HOME/h.bin"; sleep 30', opts));
    expect(err!.message).toContain("the worktree and the agent's home hold more than 4 MB while a command ran");
  });

  it('lets a command within the budget finish, however much the rest of the filesystem grows meanwhile', async () => {
    // Another writer on the same disk: the filesystem grows by 100 MB a tick; walks find the agent within budget.
    let used = 0;
    const filesystem = async (): Promise<FilesystemUsage> => ({ usedBytes: (used += 100 * MB), usedInodes: used / MB });
    const guarded = guardDisk(runnerIn(), { worktree, home, budget: { maxBytes: 4 * MB, maxEntries: 10_000 }, intervalMs: 50, filesystem });
    const res = await guarded.run('head -c 1000000 /dev/zero > small.bin; sleep 1; echo done', opts);
    expect(res.exitCode).toBe(0);
    expect(res.output).toContain('done');
    expect(used).toBeGreaterThan(500 * MB); // it was looked at while the command ran
  });

  it('walks nothing while the filesystem does not grow past what the agent has left', async () => {
    let reads = 0;
    const filesystem = async (): Promise<FilesystemUsage> => (reads++, { usedBytes: 0, usedInodes: 0 });
    // A tree past the budget already: a walk would stop the command, so none happened.
    writeFileSync(path.join(worktree, 'big.bin'), Buffer.alloc(5 * MB));
    const guarded = guardDisk(runnerIn(), { worktree, home, budget: { maxBytes: 4 * MB, maxEntries: 10_000 }, intervalMs: 50, filesystem });
    const res = await guarded.run('sleep 0.5; echo done', opts);
    expect(res.output).toContain('done');
    expect(reads).toBeGreaterThan(3);
  });

  it('after the batch, names the budget that was passed: bytes, or files and directories', async () => {
    const op = { signal: new AbortController().signal };
    writeFileSync(path.join(worktree, 'a.bin'), Buffer.alloc(2 * MB));
    await expect(checkDiskBudget(worktree, home, { maxBytes: 4 * MB, maxEntries: 100 }, op)).resolves.toMatchObject({ entries: 1 });
    writeFileSync(path.join(home, 'b.bin'), Buffer.alloc(3 * MB));
    await expect(checkDiskBudget(worktree, home, { maxBytes: 4 * MB, maxEntries: 100 }, op)).rejects.toThrow(
      "the worktree and the agent's home hold more than 4 MB after the last tool batch (WORKSPACE_MAX_MB=4); the run is stopped",
    );
    for (let i = 0; i < 60; i++) writeFileSync(path.join(home, `e${i}`), '');
    await expect(checkDiskBudget(worktree, home, { maxBytes: 10 * MB, maxEntries: 50 }, op)).rejects.toThrow(
      "the worktree and the agent's home hold more than 50 files and directories after the last tool batch (WORKSPACE_MAX_FILES=50)",
    );
    // A home not made yet holds nothing.
    rmSync(home, { recursive: true });
    await expect(checkDiskBudget(worktree, home, { maxBytes: 4 * MB, maxEntries: 100 }, op)).resolves.toMatchObject({ bytes: 2 * MB });
  });

  it("counts a file with many hard links once in the home, at each path in the worktree (git checks out each), and what each entry allocates", async () => {
    const op = { signal: new AbortController().signal };
    writeFileSync(path.join(worktree, 'a.bin'), Buffer.alloc(MB));
    for (let i = 0; i < 2; i++) linkSync(path.join(worktree, 'a.bin'), path.join(worktree, `link${i}`));
    mkdirSync(path.join(worktree, 'd'));
    const cost = (rel: string) => ((st) => Math.max(st.size, st.blocks * 512))(lstatSync(path.join(worktree, rel)));
    const inTree = await checkDiskBudget(worktree, undefined, { maxBytes: 4 * MB, maxEntries: 100 }, op);
    expect(inTree.entries).toBe(4);
    expect(inTree.bytes).toBe(3 * cost('a.bin') + cost('d'));

    rmSync(path.join(worktree, 'link0'));
    rmSync(path.join(worktree, 'link1'));
    for (let i = 0; i < 20; i++) linkSync(path.join(worktree, 'a.bin'), path.join(home, `link${i}`));
    await expect(checkDiskBudget(worktree, home, { maxBytes: 4 * MB, maxEntries: 100 }, op)).resolves.toBeDefined();
  });

  it('stops a tree deeper than a path may be long without taking a descriptor per level from the worker', () => {
    // Three thousand levels; the walk runs in a worker allowed 2400 descriptors.
    const deep = 'import os,sys\nfd=os.open(sys.argv[1], os.O_RDONLY)\nfor i in range(3000):\n    os.mkdir("a", dir_fd=fd); n=os.open("a", os.O_RDONLY, dir_fd=fd); os.close(fd); fd=n\n';
    execFileSync('python3', ['-c', deep, worktree]);
    const script =
      `require(${JSON.stringify(require.resolve('./disk-budget'))}).checkDiskBudget(${JSON.stringify(worktree)}, undefined, { maxBytes: 1e9, maxEntries: 1e6 }, { signal: new AbortController().signal })` +
      `.then(() => console.log('within budget'), (e) => console.log(e.type ?? e.code))`;
    const run = spawnSync('prlimit', ['--nofile=2400:2400', process.execPath, '-r', 'tsx/cjs', '-e', script], { encoding: 'utf8', cwd: path.resolve(__dirname, '../..') });
    execFileSync('rm', ['-rf', '--', path.join(worktree, 'a')]); // deeper than node's rm goes
    expect(run.stdout.trim()).toBe('WorkspaceTooLarge');
  });

  it('runs the command unguarded when the filesystem cannot be read: the batch walk still holds the budget', async () => {
    const filesystem = async (): Promise<FilesystemUsage> => {
      throw new Error('statfs: not supported');
    };
    const guarded = guardDisk(runnerIn(), { worktree, home, budget: { maxBytes: 4 * MB, maxEntries: 100 }, intervalMs: 50, filesystem });
    await expect(guarded.run('sleep 0.2; echo done', opts)).resolves.toMatchObject({ exitCode: 0 });
  });
});
