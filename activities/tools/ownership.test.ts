/**
 * Giving a worktree to the sandbox user (root worker only) never reaches outside it, also while a
 * process the agent left swaps a directory for a link to the host's files during the walk.
 */
import { spawn } from 'node:child_process';
import { chownSync, lstatSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deepWalks, FREE_LEVELS } from './deep-walks';
import { giveToSandboxUser } from './ownership';
import { makeDeepTrees, makeManyEntries, runWithDescriptorLimit, runWithHeapLimit, scratchDir } from '../../test/support/hostile-trees';

const SANDBOX = { uid: 1000, gid: 1000 };
const asRoot = process.getuid?.() === 0 ? describe : describe.skip;

asRoot('giveToSandboxUser', () => {
  let tmp: string;
  let worktree: string;
  let outside: string;
  beforeEach(() => {
    tmp = scratchDir('ownership-');
    worktree = path.join(tmp, 'ws');
    outside = path.join(tmp, 'host');
    mkdirSync(path.join(worktree, 'src/deep'), { recursive: true });
    writeFileSync(path.join(worktree, 'src/deep/a.ts'), 'a\n');
    mkdirSync(outside);
    for (let i = 0; i < 50; i++) writeFileSync(path.join(outside, `secret-${i}`), 'host\n');
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('gives every entry of the tree and nothing a link points at', async () => {
    symlinkSync(outside, path.join(worktree, 'link'));
    await giveToSandboxUser(worktree, SANDBOX);
    expect(lstatSync(path.join(worktree, 'src/deep/a.ts')).uid).toBe(1000);
    expect(lstatSync(path.join(worktree, 'link')).uid).toBe(1000);
    expect(lstatSync(path.join(outside, 'secret-0')).uid).toBe(0);
  });

  it('gives one path below the tree without following a link on the way', async () => {
    symlinkSync(outside, path.join(worktree, 'via'));
    await giveToSandboxUser(worktree, SANDBOX, 'via/secret-1');
    expect(lstatSync(path.join(outside, 'secret-1')).uid).toBe(0);
    await giveToSandboxUser(worktree, SANDBOX, 'src/deep/a.ts');
    expect(lstatSync(path.join(worktree, 'src/deep/a.ts')).uid).toBe(1000);
  });

  it('gives several trees 1,000 levels deep at once within a worker allowed 2,600 descriptors', () => {
    // A descriptor per level: six such walks at once took 6,000, and the worker's other activities failed with EMFILE.
    const roots = makeDeepTrees(tmp, 'deep', 6, 1000);
    const out = runWithDescriptorLimit(
      2600,
      `const { giveToSandboxUser } = require(${JSON.stringify(path.join(__dirname, 'ownership'))});
      Promise.all(${JSON.stringify(roots)}.map((root) => giveToSandboxUser(root, ${JSON.stringify(SANDBOX)}).then(() => 'ok', (e) => e.code ?? e.message)))
        .then((outcomes) => console.log(JSON.stringify(outcomes)));`,
    );
    expect(JSON.parse(out)).toEqual(roots.map(() => 'ok'));
    for (const root of roots) expect(lstatSync(path.join(root, ...Array.from({ length: 1000 }, () => 'd').slice(0, 900))).uid).toBe(1000);
  });

  it('gives a directory of 150,000 long names one entry at a time, in no more memory than a few', () => {
    // Read whole, one directory's names took the worker 680 MB for 1,000,000 names.
    const wide = path.join(worktree, 'wide');
    mkdirSync(wide);
    makeManyEntries(wide, 150_000);
    const script = `require(${JSON.stringify(path.join(__dirname, 'ownership'))}).giveToSandboxUser(${JSON.stringify(worktree)}, ${JSON.stringify(SANDBOX)})
      .then(() => console.log('given'));`;
    expect(runWithHeapLimit(32, script)).toBe('given');
    expect(lstatSync(path.join(wide, `${'n'.repeat(240)}0000149999`)).uid).toBe(1000);
  });

  it('waits for a deep-walk permit heartbeating, and stops waiting when its activity is cancelled', async () => {
    // Every permit held (other agents' deep walks): the walk waited below FREE_LEVELS, silent and
    // deaf to cancellation, for as long as they held them.
    const deep = makeDeepTrees(tmp, 'held', 1, FREE_LEVELS + 5)[0]!;
    let releaseHolders!: () => void;
    const held = new Promise<void>((r) => (releaseHolders = r));
    const holders = Array.from({ length: deepWalks.size }, () => deepWalks.use({}, () => held));
    try {
      const cancel = new AbortController();
      let beats = 0;
      const walk = giveToSandboxUser(deep, SANDBOX, undefined, { signal: cancel.signal, onProgress: () => beats++ });
      const outcome = walk.then(
        () => 'given',
        (err: Error) => err.message,
      );
      await new Promise((r) => setTimeout(r, 2500));
      cancel.abort(new Error('cancelled'));
      const ended = await Promise.race([outcome, new Promise((r) => setTimeout(() => r('still waiting'), 3000))]);
      expect({ ended, heartbeat: beats >= 2 }).toEqual({ ended: 'cancelled', heartbeat: true });
    } finally {
      releaseHolders();
      await Promise.all(holders);
    }
  });

  it('heartbeats through a tree of many small directories, not only through a wide one', async () => {
    // 60 directories of 60 of one file each: 7,321 entries, none in a directory of 1,000. The count
    // was per directory, so a node_modules-like tree of any size was walked without one heartbeat.
    for (let i = 0; i < 60; i++) for (let j = 0; j < 60; j++) {
      mkdirSync(path.join(worktree, `p${i}`, `q${j}`), { recursive: true });
      writeFileSync(path.join(worktree, `p${i}`, `q${j}`, 'f'), 'x');
    }
    let beats = 0;
    await giveToSandboxUser(worktree, SANDBOX, undefined, { onProgress: () => beats++ });
    expect(lstatSync(path.join(worktree, 'p59/q59/f')).uid).toBe(1000);
    expect(beats).toBeGreaterThanOrEqual(7);
  });

  it("never chowns the host's files while a process swaps a directory of the tree for a link to them", async () => {
    // A directory `d` full of entries, and a link to the host's directory, swapped in a loop (rename is atomic).
    const d = path.join(worktree, 'd');
    mkdirSync(d);
    for (let i = 0; i < 50; i++) writeFileSync(path.join(d, `f-${i}`), 'x\n');
    symlinkSync(outside, path.join(worktree, 'd-link'));
    // renameat2(RENAME_EXCHANGE): `d` is a directory, then at once a link, then a directory again, as fast as the kernel goes.
    const swap = 'import ctypes,os,sys\nos.chdir(sys.argv[1])\nlibc=ctypes.CDLL(None,use_errno=True)\nwhile True: libc.renameat2(-100,b"d",-100,b"d-link",2)\n';
    const swapper = spawn('python3', ['-c', swap, worktree], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 300; i++) {
        chownSync(worktree, 0, 0); // a tree the host made: only those are given away
        await giveToSandboxUser(worktree, SANDBOX).catch(() => undefined); // an entry gone mid-walk may fail the walk: never a host file
        const owned = Array.from({ length: 50 }, (_, j) => lstatSync(path.join(outside, `secret-${j}`)).uid).filter((uid) => uid !== 0);
        expect({ round: i, chownedOutside: owned.length }).toEqual({ round: i, chownedOutside: 0 });
      }
    } finally {
      swapper.kill('SIGKILL');
    }
  }, 120_000);
});
