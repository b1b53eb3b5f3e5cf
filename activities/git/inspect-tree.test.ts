/**
 * The walk as a non-root worker sees it: the sandbox runs as the worker's own uid, so the agent
 * can close a directory to the worker with a mode (000, 300, 111). The walk runs in a child
 * process under uid 1000 when the tests run as root.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TreeInspection } from './inspect-tree';
import { makeDeepTrees, makeManyEntries, runWithDescriptorLimit, runWithHeapLimit, scratchDir } from '../../test/support/hostile-trees';

const asRoot = process.getuid?.() === 0;
const WORKER_UID = asRoot ? 1000 : process.getuid!();

function inspectAsWorker(dir: string): TreeInspection {
  const tsx = require.resolve('tsx/cli');
  const script = path.join(__dirname, '../../test/support/inspect-tree-as.ts');
  const run = spawnSync(process.execPath, [tsx, script, dir], { encoding: 'utf8', ...(asRoot ? { uid: WORKER_UID, gid: WORKER_UID } : {}), env: { ...process.env, HOME: os.tmpdir() } });
  if (run.status !== 0) throw new Error(`inspect failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as TreeInspection;
}

/** Gives the tree to the worker's uid, deepest first, so a closed directory is still walkable while we chown. */
function giveToWorker(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) giveToWorker(child);
    chownSync(child, WORKER_UID, WORKER_UID);
  }
}

describe('inspectTree over directories the agent closed to a non-root worker', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'inspect-closed-'));
    chmodSync(tmp, 0o755);
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('opens its own closed directories again: their bytes count and a nested repository inside is seen', () => {
    const root = path.join(tmp, 'wt');
    mkdirSync(path.join(root, 'h'), { recursive: true });
    writeFileSync(path.join(root, 'h/big.bin'), Buffer.alloc(3 * 1024 * 1024, 1));
    mkdirSync(path.join(root, 'v/.git/refs'), { recursive: true });
    writeFileSync(path.join(root, 'v/.git/HEAD'), 'ref: refs/heads/main\n');
    mkdirSync(path.join(root, 'locked/deeper'), { recursive: true });
    writeFileSync(path.join(root, 'locked/deeper/f'), 'x');
    giveToWorker(root);
    chownSync(root, WORKER_UID, WORKER_UID);
    // Write and search but no read; search only; nothing at all, twice over.
    chmodSync(path.join(root, 'h'), 0o300);
    chmodSync(path.join(root, 'v'), 0o111);
    chmodSync(path.join(root, 'locked/deeper'), 0o000);
    chmodSync(path.join(root, 'locked'), 0o000);

    const found = inspectAsWorker(root);
    expect(found.bytes).toBeGreaterThanOrEqual(3 * 1024 * 1024);
    expect(found.nestedGit).toEqual(['v/.git']);
    expect(found.unreadable).toEqual([]);
    expect(found.entries).toBe(7); // h, big.bin, v, v/.git (not walked), locked, deeper, f
    for (const dir of ['h', 'v', 'locked', 'locked/deeper']) expect(statSync(path.join(root, dir)).mode & 0o700).toBe(0o700);
  });

  (asRoot ? it : it.skip)("lists a directory of another owner that stays closed, and leaves its mode alone", () => {
    const root = path.join(tmp, 'wt');
    mkdirSync(path.join(root, 'theirs'), { recursive: true });
    writeFileSync(path.join(root, 'mine.txt'), 'x');
    giveToWorker(root);
    chownSync(root, WORKER_UID, WORKER_UID);
    chownSync(path.join(root, 'theirs'), 0, 0);
    chmodSync(path.join(root, 'theirs'), 0o700);

    const found = inspectAsWorker(root);
    expect(found.unreadable).toEqual(['theirs']);
    expect(statSync(path.join(root, 'theirs')).mode & 0o777).toBe(0o700);
  });
});

describe('inspectTree in trees the agent made deep', () => {
  let tmp: string;
  beforeEach(() => (tmp = mkdtempSync(path.join(os.tmpdir(), 'inspect-deep-'))));
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('walks several trees 1,000 levels deep at once within a worker allowed 2,600 descriptors', () => {
    // A walk holds a descriptor per level: six at full depth (six hostile agents' disk budgets) took
    // 6,000, and every other activity of the worker failed with EMFILE meanwhile.
    const roots = makeDeepTrees(tmp, 'wt', 6, 1000);
    const out = runWithDescriptorLimit(
      2600,
      `const { inspectTree } = require(${JSON.stringify(path.join(__dirname, 'inspect-tree'))});
      Promise.all(${JSON.stringify(roots)}.map((root) => inspectTree(root).then((found) => found.entries, (e) => e.code ?? e.message)))
        .then((outcomes) => console.log(JSON.stringify(outcomes)));`,
    );
    expect(JSON.parse(out)).toEqual(roots.map(() => 1001));
  });
});

describe('inspectTree over a directory the agent filled with names', () => {
  let tmp: string;
  beforeEach(() => (tmp = scratchDir('inspect-wide-')));
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('reads no further than it stops, so a directory of 150,000 long names costs the worker no more memory than a small one', () => {
    // Read whole, one directory's names took the walk 680 MB for 1,000,000 names (5 s), however early it was to stop.
    mkdirSync(path.join(tmp, 'big'));
    makeManyEntries(path.join(tmp, 'big'), 150_000);
    const script = `require(${JSON.stringify(path.join(__dirname, 'inspect-tree'))}).inspectTree(${JSON.stringify(tmp)}, { stopAtEntries: 1000 })
      .then((found) => console.log(found.entries));`;
    expect(runWithHeapLimit(32, script)).toBe('1001');
  });
});
