/**
 * The git module against a worktree an attacker wrote: a rewritten `.git` with a promisor remote,
 * an ssh command and an fsmonitor; nested repositories with filter drivers and a FIFO for a HEAD;
 * attributes that hide content from a diff; secrets in long lines, behind NUL bytes and in large
 * files; trees too deep or too locked for node's rm, left in the worktree or a gate checkout.
 * Real git, real files; a marker file on the host shows whether anything ran.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createGitWorkspaces, type GitDeps } from './index';
import { createRemote, git, testDeps, tryGit, writeFiles, type TestRemote } from '../../test/support/git-workspace-fixtures';

const AGENT = '9c8b7a6d-0000-4000-8000-00000000000c';
// A GitHub token with a valid checksum (the scanner verifies it).
const TOKEN = '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';
const asRoot = process.getuid?.() === 0;
const SANDBOX_USER = { uid: 1000, gid: 1000 };
const canPinFiles = immutableFilesWork();

describe('git module on a hostile worktree', () => {
  let tmp: string;
  let marker: string;
  let n = 0;
  let cases = 0;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'git-hostile-'));
  });
  // GNU rm: a failed test may leave a tree deeper than node's rm can go.
  afterAll(() => execFileSync('rm', ['-rf', tmp]));
  beforeEach(() => {
    marker = path.join(tmp, `pwned-${++n}`);
  });

  function setup(overrides: Partial<GitDeps> = {}, files: Record<string, string> = { 'README.md': 'hello\n', 'package.json': '{"scripts":{"test":"node test.js"}}\n' }) {
    const dir = path.join(tmp, `case-${++cases}`);
    const remote = createRemote(path.join(dir, 'remote'), files);
    const deps = testDeps(path.join(dir, 'ws'), overrides);
    return { remote, deps, workspaces: createGitWorkspaces(deps) };
  }
  const request = (remote: TestRemote) => ({ agentId: AGENT, taskId: 'T-hostile', repository: remote.url, baseBranch: 'main' });

  /** A program that leaves the marker; any git that runs it fails the test. */
  /**
   * Runs `body` in a node process of the sandbox's uid (a worker that is not root), with `w` the
   * workspaces over `deps.workspaceRoot`, after handing it the workspace root.
   */
  function asSandboxUser(deps: GitDeps, body: string) {
    chmodSync(tmp, 0o755);
    execFileSync('chown', ['-R', '--no-dereference', `${SANDBOX_USER.uid}:${SANDBOX_USER.gid}`, path.dirname(deps.workspaceRoot)]);
    const script =
      `const { createGitWorkspaces } = require(${JSON.stringify(require.resolve('./index'))});` +
      `const { testDeps } = require(${JSON.stringify(require.resolve('../../test/support/git-workspace-fixtures'))});` +
      `const w = createGitWorkspaces(testDeps(${JSON.stringify(deps.workspaceRoot)}));` +
      body;
    return spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { ...SANDBOX_USER, encoding: 'utf8', cwd: path.resolve(__dirname, '../..'), timeout: 60_000 });
  }

  function markerScript(): string {
    const script = path.join(tmp, `run-${n}.sh`);
    writeFileSync(script, `#!/bin/sh\necho "$@" >> ${marker}\nenv >> ${marker}\n`);
    chmodSync(script, 0o755);
    return script;
  }

  it('never uses a .git the agent wrote: promisor remote, ssh command, fsmonitor and hooks stay unused', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    const script = markerScript();
    // The agent replaces its .git pointer with a whole repository of its own.
    rmSync(path.join(ws.path, '.git'), { force: true });
    execFileSync('git', ['init', '-q', ws.path + '/.git-tmp']);
    execFileSync('mv', [path.join(ws.path, '.git-tmp', '.git'), path.join(ws.path, '.git')]);
    rmSync(path.join(ws.path, '.git-tmp'), { recursive: true });
    writeFileSync(
      path.join(ws.path, '.git', 'config'),
      `[core]\n\trepositoryformatversion = 1\n\tsshCommand = ${script}\n\tfsmonitor = ${script}\n\thooksPath = ${path.dirname(script)}\n` +
        `[extensions]\n\tpartialClone = origin\n[remote "origin"]\n\turl = ssh://attacker.invalid/x.git\n\tpromisor = true\n` +
        `[filter "evil"]\n\tclean = ${script}\n\tsmudge = ${script}\n\trequired = true\n`,
    );
    writeFiles(ws.path, { '.gitattributes': '* filter=evil\n', 'src/new.ts': 'export const y = 2;\n' });

    const scan = await workspaces.stageAndScan(ws);
    const committed = await workspaces.commit(ws, 'agent work', { agentId: AGENT, expectedTree: scan.tree });
    expect(await workspaces.readAtBase(ws, 'package.json')).toContain('node test.js');
    await workspaces.diffAgainstBase(ws);
    writeFiles(ws.path, { 'wip.txt': 'not committed\n' });
    const removed = await workspaces.remove(ws);

    expect(existsSync(marker)).toBe(false);
    expect(scan.refused).toBeUndefined();
    expect(git(['show', `${committed.commitSha}:src/new.ts`], ws.mirrorPath)).toBe('export const y = 2;');
    expect(git(['show', `${removed.salvage!.ref}:wip.txt`], ws.mirrorPath)).toBe('not committed');
  });

  it('refuses to stage a nested repository, without reading it, and tells why', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    const script = markerScript();
    execFileSync('git', ['init', '-q', path.join(ws.path, 'vendor/lib')]);
    writeFileSync(path.join(ws.path, 'vendor/lib/.git/config'), `[core]\n\tfsmonitor = ${script}\n[filter "evil"]\n\tclean = ${script}\n`);
    writeFiles(ws.path, { 'vendor/lib/.gitattributes': '* filter=evil\n', 'vendor/lib/a.txt': 'a\n' });
    // A second one whose .git file points at a directory with a FIFO for HEAD: git would block on it.
    mkdirSync(path.join(ws.path, 'trap/d/objects'), { recursive: true });
    mkdirSync(path.join(ws.path, 'trap/d/refs'), { recursive: true });
    execFileSync('mkfifo', [path.join(ws.path, 'trap/d/HEAD')]);
    writeFileSync(path.join(ws.path, 'trap/.git'), 'gitdir: d\n');

    const started = Date.now();
    const scan = await workspaces.stageAndScan(ws);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(scan.refused).toMatch(/nested git repositories are not allowed in the worktree: .*vendor\/lib\/\.git/);
    expect(scan.refused).toContain('trap/.git');
    expect(git(['--git-dir', path.join(ws.mirrorPath, 'worktrees', AGENT), 'ls-files', '--stage'])).not.toMatch(/^160000/m);

    // Salvage (when the run ends) renames the nested .git entries instead of entering them.
    const removed = await workspaces.remove(ws);
    expect(existsSync(marker)).toBe(false);
    expect(git(['show', `${removed.salvage!.ref}:vendor/lib/a.txt`], ws.mirrorPath)).toBe('a');
  });

  it('blocks on no FIFO named .gitignore or .gitattributes: checkpoint, staging and salvage remove those and keep every file', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    // git opens these names in every directory it walks, and open() of a FIFO waits for a writer.
    mkdirSync(path.join(ws.path, 'sub/deeper'), { recursive: true });
    for (const fifo of ['.gitignore', '.gitattributes', 'sub/.gitignore', 'sub/deeper/.gitattributes', 'other-pipe']) execFileSync('mkfifo', [path.join(ws.path, fifo)]);
    writeFiles(ws.path, { 'sub/work.txt': 'work\n', 'sub/deeper/.gitignore': 'ignored.txt\n', 'sub/deeper/ignored.txt': 'x\n' });

    const started = Date.now();
    const snap = await workspaces.snapshot(ws, AGENT);
    const checkpointRepo = path.join(ws.mirrorPath, '../../checkpoints', `${AGENT}.git`);
    expect(git(['ls-tree', '-r', '--name-only', snap.tree], checkpointRepo).split('\n').sort()).toEqual(['README.md', 'package.json', 'sub/deeper/.gitignore', 'sub/work.txt']);
    for (const fifo of ['.gitignore', '.gitattributes', 'sub/.gitignore', 'sub/deeper/.gitattributes']) expect(existsSync(path.join(ws.path, fifo))).toBe(false);
    // A FIFO under another name is none of git's business: it stays.
    expect(existsSync(path.join(ws.path, 'other-pipe'))).toBe(true);

    execFileSync('mkfifo', [path.join(ws.path, '.gitignore')]);
    expect((await workspaces.stageAndScan(ws)).refused).toBeUndefined();
    execFileSync('mkfifo', [path.join(ws.path, 'sub/.gitattributes')]);
    const salvaged = await workspaces.salvage(ws, AGENT);
    expect(git(['show', `${salvaged.ref!}:sub/work.txt`], ws.mirrorPath)).toBe('work');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('a FIFO named .gitignore inside a nested repository\'s .git directory blocks no salvage: the repository is kept as files, the FIFO is not', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    mkdirSync(path.join(ws.path, 'vendor/lib/.git/refs'), { recursive: true });
    writeFiles(ws.path, { 'vendor/lib/a.txt': 'a\n', 'vendor/lib/.git/HEAD': 'ref: refs/heads/main\n', 'work.txt': 'work\n' });
    // Renamed to plain files for the salvage, the .git directory is one git walks: open() of this FIFO would wait for a writer.
    execFileSync('mkfifo', [path.join(ws.path, 'vendor/lib/.git/.gitignore')]);
    // Blocked, git would wait for the whole command timeout (an hour): the test stops it after 30 s.
    const salvaged = await workspaces.salvage(ws, AGENT, { signal: AbortSignal.timeout(30_000) });
    expect(git(['show', `${salvaged.ref!}:work.txt`], ws.mirrorPath)).toBe('work');
    expect(git(['ls-tree', '-r', '--name-only', salvaged.ref!], ws.mirrorPath)).toMatch(/^vendor\/lib\/\.git-disabled-[^/]+\/HEAD$/m);
  });

  it('repositories nested 110 deep, each in the .git directory of the one above, are all kept as files in one salvage', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    // Each walk saw one level more (it does not enter a .git directory): past 100 walks the salvage gave up, and
    // the worktree, whose work it could not save, was never removed.
    const levels = Array.from({ length: 110 }, () => '.git/r').join('/');
    mkdirSync(path.join(ws.path, 'v', levels), { recursive: true });
    writeFiles(ws.path, { [`v/${levels}/deep.txt`]: 'deep\n', 'work.txt': 'work\n' });
    const salvaged = await workspaces.salvage(ws, AGENT);
    const kept = git(['ls-tree', '-r', '--name-only', salvaged.ref!], ws.mirrorPath).split('\n');
    expect(kept).toContain('work.txt');
    expect(kept.find((p) => p.endsWith('/deep.txt'))?.split('/.git-disabled-').length).toBe(111);
  });

  it('a worktree of sparse files past the disk budget is not salvaged: git does not read terabytes of holes, the mirror and the remote get none of it', async () => {
    const { remote, workspaces, deps } = setup({ salvageBudget: { maxBytes: 64 * 1024 * 1024, maxEntries: 10_000 } });
    const ws = await workspaces.prepare(request(remote));
    // `truncate -s 2G` costs the agent no block (the in-command guard reads statfs, which does not move) and its
    // file-size limit allows it; each such file took git add 24 s of the worker's CPU, and an agent may have a million.
    writeFiles(ws.path, { 'work.txt': 'work\n' });
    for (let i = 0; i < 3; i++) execFileSync('truncate', ['-s', '300M', path.join(ws.path, `hole-${i}.bin`)]);
    const salvaged = await workspaces.salvage(ws, AGENT);
    expect(salvaged.ref).toBeUndefined();
    expect(deps.logs.find((l) => /not salvaged/.test(l.msg))?.msg).toMatch(/more than the disk budget/);
    expect(tryGit(['rev-parse', '--verify', `refs/agents/${AGENT}/salvage`], remote.barePath)).toBeUndefined();
  });

  /** The paths of a tree in the checkpoint repository (whose objects fall back to the mirror's). */
  const checkpointPaths = (ws: { mirrorPath: string }, tree: string) =>
    git(['ls-tree', '-r', '--name-only', tree], path.join(ws.mirrorPath, '../../checkpoints', `${AGENT}.git`)).split('\n').sort();

  it('1,001 FIFOs named .gitignore or .gitattributes, one in each directory: the checkpoint, staging and salvage remove every one and block on none', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    const fifos = Array.from({ length: 1001 }, (_, i) => `d${String(i).padStart(4, '0')}/${i % 2 ? '.gitattributes' : '.gitignore'}`);
    writeFiles(ws.path, { 'work.txt': 'work\n', ...Object.fromEntries(fifos.map((f) => [`${path.dirname(f)}/kept.txt`, 'kept\n'])) });
    const plant = () => execFileSync('mkfifo', fifos.map((f) => path.join(ws.path, f)));
    const left = () => fifos.filter((f) => existsSync(path.join(ws.path, f)));

    const started = Date.now();
    plant();
    const snap = await workspaces.snapshot(ws, AGENT);
    expect(checkpointPaths(ws, snap.tree)).toHaveLength(3 + 1001);
    expect(left()).toEqual([]);
    plant();
    expect((await workspaces.stageAndScan(ws)).refused).toBeUndefined();
    expect(left()).toEqual([]);
    plant();
    const salvaged = await workspaces.salvage(ws, AGENT);
    expect(git(['show', `${salvaged.ref!}:d1000/kept.txt`], ws.mirrorPath)).toBe('kept');
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);

  it('entries git refuses (a tracked file now a FIFO, .GIT, GIT~1, 1,001 names in all): the checkpoint and the salvage keep the rest, staging names them', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    rmSync(path.join(ws.path, 'README.md'));
    execFileSync('mkfifo', [path.join(ws.path, 'README.md')]);
    const dirs = Array.from({ length: 1000 }, (_, i) => `d${String(i).padStart(4, '0')}`);
    writeFiles(ws.path, { 'work.txt': 'work\n', 'sub/GIT~1/f': 'x\n', ...Object.fromEntries(dirs.map((d) => [`${d}/.GIT/f`, 'x\n'])) });

    const snap = await workspaces.snapshot(ws, AGENT);
    // README.md stays as the index had it; nothing git refuses is in the tree.
    expect(checkpointPaths(ws, snap.tree)).toEqual(['README.md', 'package.json', 'work.txt']);

    const scan = await workspaces.stageAndScan(ws);
    expect(scan.refused).toMatch(/^git refuses to stage these entries of the worktree: README\.md: can only add regular files, symbolic links or git-directories, invalid path 'd0000\/\.GIT\/f', /);
    expect(scan.refused).toContain('and 992 more'); // README.md, 1,000 d*/.GIT/f, sub/GIT~1/f: ten shown
    expect(scan.refused).toContain('make a tracked file that is now a named pipe');
    expect(scan.tree).toBe(git(['rev-parse', `${ws.baseSha}^{tree}`], ws.mirrorPath));

    const salvaged = await workspaces.salvage(ws, AGENT);
    expect(git(['ls-tree', '-r', '--name-only', salvaged.ref!], ws.mirrorPath).split('\n').sort()).toEqual(['README.md', 'package.json', 'work.txt']);
    expect(salvaged.pushed).toBe(true);

    // Once the agent fixes them, the same worktree stages.
    rmSync(path.join(ws.path, 'README.md'));
    for (const d of ['sub', ...dirs]) rmSync(path.join(ws.path, d), { recursive: true });
    expect((await workspaces.stageAndScan(ws)).refused).toBeUndefined();
  }, 60_000);

  it.each([
    ['an encoding iconv does not know', '* working-tree-encoding=NOPE\n', /failed to encode '.*' from NOPE to UTF-8/],
    ['UTF-16 on a file without its byte order mark', '*.txt working-tree-encoding=UTF-16\n', /BOM is required in '.*\.txt' if encoded as UTF-16/],
    ['Shift-JIS on bytes that are none', '*.txt working-tree-encoding=SHIFT-JIS\n', /failed to encode '.*\.txt' from SHIFT-JIS to UTF-8/],
  ])('a working-tree-encoding git cannot apply (%s): the checkpoint and the salvage keep the bytes, staging tells why', async (_what, attributes, told) => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    const bytes = Buffer.from([0x77, 0x81, 0xff, 0x0a]);
    writeFiles(ws.path, { '.gitattributes': attributes });
    writeFileSync(path.join(ws.path, 'work.txt'), bytes);

    const snap = await workspaces.snapshot(ws, AGENT);
    expect(checkpointPaths(ws, snap.tree)).toEqual(['.gitattributes', 'README.md', 'package.json', 'work.txt']);
    const checkpointRepo = path.join(ws.mirrorPath, '../../checkpoints', `${AGENT}.git`);
    expect(execFileSync('git', ['cat-file', 'blob', `${snap.tree}:work.txt`], { cwd: checkpointRepo })).toEqual(bytes);

    const scan = await workspaces.stageAndScan(ws);
    expect(scan.refused).toMatch(told);
    expect(scan.refused).toContain('working-tree-encoding attributes');

    const salvaged = await workspaces.salvage(ws, AGENT);
    expect(execFileSync('git', ['cat-file', 'blob', `${salvaged.ref!}:work.txt`], { cwd: ws.mirrorPath })).toEqual(bytes);
    expect(git(['show', `${salvaged.ref!}:.gitattributes`], ws.mirrorPath)).toBe(attributes.trim());
    // The mirror's objects were written through the scratch's link, and are still there after it went.
    expect(git(['cat-file', '-t', salvaged.commitSha!], ws.mirrorPath)).toBe('commit');
  });

  it('a lock a killed git left on the worktree\'s or the checkpoint\'s index does not stop the next add', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    writeFiles(ws.path, { 'work.txt': 'work\n' });
    await workspaces.snapshot(ws, AGENT);
    const old = new Date(Date.now() - 60_000);
    const locks = [path.join(ws.mirrorPath, 'worktrees', AGENT, 'index.lock'), path.join(ws.mirrorPath, '../../checkpoints', `${AGENT}.git`, 'index.lock')];
    for (const lock of locks) {
      writeFileSync(lock, '');
      utimesSync(lock, old, old);
    }
    writeFiles(ws.path, { 'more.txt': 'more\n' });

    const snap = await workspaces.snapshot(ws, AGENT);
    expect(checkpointPaths(ws, snap.tree)).toContain('more.txt');
    const scan = await workspaces.stageAndScan(ws);
    expect(scan.refused).toBeUndefined();
    expect(git(['ls-tree', '-r', '--name-only', scan.tree], ws.mirrorPath)).toContain('more.txt');
    expect(locks.filter((lock) => existsSync(lock))).toEqual([]);
  });

  /** A worktree whose changes are staged and scanned, with a lock on its index as a killed or a live git leaves one. */
  async function stagedWithIndexLock() {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    writeFiles(ws.path, { 'work.txt': 'work\n' });
    const scan = await workspaces.stageAndScan(ws);
    const lock = path.join(ws.mirrorPath, 'worktrees', AGENT, 'index.lock');
    writeFileSync(lock, '');
    return { workspaces, ws, scan, lock };
  }

  it('a lock a commit killed mid-way left on the index does not fail the retried commit of the scanned tree', async () => {
    const { workspaces, ws, scan, lock } = await stagedWithIndexLock();
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);

    const committed = await workspaces.commit(ws, 'work', { agentId: AGENT, expectedTree: scan.tree });
    expect(git(['rev-parse', `${committed.commitSha!}^{tree}`], ws.mirrorPath)).toBe(scan.tree);
    expect(existsSync(lock)).toBe(false);
  });

  it('a fresh lock on the index (a git still at work) is not taken away from it: the commit fails', async () => {
    const { workspaces, ws, scan, lock } = await stagedWithIndexLock();
    const writer = setInterval(() => writeFileSync(lock, String(Date.now())), 200);
    try {
      await expect(workspaces.commit(ws, 'work', { agentId: AGENT, expectedTree: scan.tree })).rejects.toThrow(/index\.lock/);
    } finally {
      clearInterval(writer);
    }
    expect(existsSync(lock)).toBe(true);
  }, 30_000);

  // Root reads a file of mode 000 anyway; a worker that is not root runs the sandbox as itself, owns
  // what the agent wrote, and git's open() of such a file fails. Checkpoint, stage and salvage as one.
  (asRoot ? it : it.skip)('files and directories of mode 000, as a worker that is not root: the checkpoint and the salvage keep the rest, staging names the files', async () => {
    const { remote, deps, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    writeFiles(ws.path, { 'work.txt': 'work\n', 'locked.txt': 'locked\n', 'README.md': 'changed\n', 'closed/inner.txt': 'inner\n' });
    for (const f of ['locked.txt', 'README.md', 'closed']) chmodSync(path.join(ws.path, f), 0o000);
    const run = asSandboxUser(
      deps,
      `const ws = ${JSON.stringify(ws)};` +
        `(async () => { const snap = await w.snapshot(ws, ${JSON.stringify(AGENT)}); const scan = await w.stageAndScan(ws); const salvaged = await w.salvage(ws, ${JSON.stringify(AGENT)});` +
        ` return { tree: snap.tree, refused: scan.refused, ref: salvaged.ref }; })()` +
        `.then((r) => console.log(JSON.stringify(r)), (e) => console.log(JSON.stringify({ failed: e.message })))`,
    );
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { tree: string; refused?: string; ref: string; failed?: string };
    expect(out.failed).toBeUndefined();
    // The worker opens its own closed directory (inspect-tree.ts); the files of mode 000 stay out, README.md as the index had it.
    // Read as root, which git would refuse in repositories another user owns.
    const read = (args: string[], repo: string) => git(['-c', 'safe.directory=*', ...args], repo);
    const checkpointRepo = path.join(ws.mirrorPath, '../../checkpoints', `${AGENT}.git`);
    expect(read(['ls-tree', '-r', '--name-only', out.tree], checkpointRepo).split('\n').sort()).toEqual(['README.md', 'closed/inner.txt', 'package.json', 'work.txt']);
    expect(read(['show', `${out.tree}:README.md`], checkpointRepo)).toBe('hello');
    expect(out.refused).toMatch(/^git refuses to stage these entries of the worktree: open\("(README\.md|locked\.txt)"\): Permission denied, open\("(README\.md|locked\.txt)"\): Permission denied\. /);
    expect(out.refused).toContain('make files readable (chmod u+r)');
    expect(read(['show', `${out.ref}:work.txt`], ws.mirrorPath)).toBe('work');
    expect(read(['show', `${out.ref}:closed/inner.txt`], ws.mirrorPath)).toBe('inner');
    expect(read(['ls-tree', '-r', '--name-only', out.ref], ws.mirrorPath)).not.toContain('locked.txt');
  }, 90_000);

  it('scans committed blobs, not a rendered diff: -diff attributes, long lines, NUL bytes and large files are read', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    writeFiles(ws.path, {
      '.gitattributes': '*.js -diff\n*.dat binary\n',
      'hidden.js': `module.exports = "${TOKEN}";\n`,
      'long.txt': `${'z'.repeat(30_000)} ${TOKEN}\n`,
      'big.txt': `${'filler line\n'.repeat(250_000)}token=${TOKEN}\n`,
    });
    writeFileSync(path.join(ws.path, 'nul.dat'), Buffer.concat([Buffer.from([0, 0, 7]), Buffer.from(` ${TOKEN} `)]));

    const scan = await workspaces.stageAndScan(ws);
    expect(scan.findings.map((f) => f.file).sort()).toEqual(['big.txt', 'hidden.js', 'long.txt', 'nul.dat']);
    expect(scan.unscannable).toEqual([]);
    expect(JSON.stringify(scan)).not.toContain(TOKEN);
  });

  it('scans the paths a commit adds: a secret in a file or directory name blocks the commit and the salvage push, and no finding repeats it', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    writeFiles(ws.path, { [`keys/${TOKEN}.txt`]: 'harmless\n', [`${TOKEN}/deep/also.txt`]: `token=${TOKEN}\n`, 'fine.txt': 'fine\n' });

    const scan = await workspaces.stageAndScan(ws);
    expect(scan.findings.map((f) => f.ruleId)).toEqual(expect.arrayContaining(['github-pat']));
    expect(scan.findings.length).toBeGreaterThanOrEqual(3); // two names, one content
    expect(JSON.stringify(scan)).not.toContain(TOKEN);

    const salvaged = await workspaces.salvage(ws, AGENT);
    expect(salvaged).toMatchObject({ pushed: false, withheld: expect.stringContaining('github-pat') });
    expect(salvaged.withheld).not.toContain(TOKEN);
    expect(tryGit(['rev-parse', '--verify', '--quiet', salvaged.ref!], remote.barePath)).toBeUndefined();

    // A refusal names paths too.
    execFileSync('git', ['init', '-q', path.join(ws.path, TOKEN, 'nested')]);
    const refused = await workspaces.stageAndScan(ws);
    expect(refused.refused).toMatch(/nested git repositories are not allowed in the worktree: ghp_…\/nested\/\.git/);
    expect(refused.refused).not.toContain(TOKEN);
  });

  it('reports a blob over the size limit as unscannable, and leaves secrets that were already there alone', async () => {
    const { remote, workspaces } = setup({ scanMaxBlobBytes: 1024 * 1024 }, { 'README.md': 'hello\n', 'fixtures/old.txt': `old = ${TOKEN}\n` });
    const ws = await workspaces.prepare(request(remote));
    writeFiles(ws.path, { 'huge.bin': 'x'.repeat(2 * 1024 * 1024), 'fixtures/old.txt': `old = ${TOKEN}\nmore = 1\n` });
    const scan = await workspaces.stageAndScan(ws);
    expect(scan.unscannable).toEqual([{ file: 'huge.bin', reason: expect.stringContaining('more than the 1.0 MB the secret scanner reads') }]);
    expect(scan.findings).toEqual([]);
  });

  it('recognises its own commit on a retry instead of reporting nothing to commit', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    expect(await workspaces.commit(ws, `nothing\n\nAgent-Id: ${AGENT}\n`, { agentId: AGENT })).toEqual({ nothingToCommit: true });
    writeFiles(ws.path, { 'a.txt': 'a\n' });
    await workspaces.stageAndScan(ws);
    const message = `T-hostile: work\n\nAgent-Id: ${AGENT}\nTask-Id: T-hostile\n`;
    const first = await workspaces.commit(ws, message, { agentId: AGENT });
    const retried = await workspaces.commit(ws, message, { agentId: AGENT });
    expect(retried).toEqual({ commitSha: first.commitSha, reused: true });
    expect(await workspaces.commit(ws, message, { agentId: 'another-agent' })).toEqual({ nothingToCommit: true });
  });

  it('keeps a salvage snapshot with a secret on this host', async () => {
    const { remote, deps, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    writeFiles(ws.path, { 'creds.txt': `token=${TOKEN}\n` });
    const salvaged = await workspaces.salvage(ws, AGENT);
    expect(salvaged).toMatchObject({ ref: `refs/agents/${AGENT}/salvage`, pushed: false, withheld: expect.stringContaining('creds.txt:1 github-pat') });
    expect(tryGit(['rev-parse', '--verify', '--quiet', salvaged.ref!], remote.barePath)).toBeUndefined();
    expect(deps.logs.some((l) => l.meta?.event === 'salvage-withheld')).toBe(true);
    // A clean one still goes out.
    const { remote: remote2, workspaces: w2 } = setup();
    const ws2 = await w2.prepare(request(remote2));
    writeFiles(ws2.path, { 'notes.txt': 'fine\n' });
    expect(await w2.salvage(ws2, AGENT)).toMatchObject({ pushed: true });
  });

  it('removes and unregisters a worktree deeper than a path may be long, with a directory locked at mode 000', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    plantHostileTree(ws.path);

    expect(await workspaces.remove(ws)).toMatchObject({ removed: true });
    expect(existsSync(ws.path)).toBe(false);
    expect(existsSync(path.join(ws.mirrorPath, 'worktrees', AGENT))).toBe(false);
    expect(git(['worktree', 'list', '--porcelain'], ws.mirrorPath)).not.toContain(ws.path);
  });

  it('checks out over, and removes, a gate checkout the gates left deeper than a path may be long, with a locked directory', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    const { dir } = await workspaces.checkoutForGates(ws, AGENT, ws.baseSha);
    plantHostileTree(dir); // the gates run the agent's code in the checkout

    expect((await workspaces.checkoutForGates(ws, AGENT, ws.baseSha)).dir).toBe(dir);
    expect(readdirSync(dir).sort()).toEqual(['README.md', 'package.json']);
    plantHostileTree(dir);
    await workspaces.removeGateCheckout(AGENT);
    expect(existsSync(dir)).toBe(false);
  });

  // Root opens a mode-000 directory anyway; a worker that is not root runs the sandbox as itself,
  // owns what the agent wrote, and a plain removal stops at EACCES. Remove as such a worker.
  (asRoot ? it : it.skip)('removes a worktree and a gate checkout with a directory locked at mode 000, as a worker that is not root', async () => {
    const { remote, deps, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    const { dir } = await workspaces.checkoutForGates(ws, AGENT, ws.baseSha);
    for (const d of [ws.path, dir]) plantLockedDir(d);
    const run = asSandboxUser(
      deps,
      `w.remove(${JSON.stringify({ path: ws.path, mirrorPath: ws.mirrorPath })}).then(() => w.removeGateCheckout(${JSON.stringify(AGENT)}))` +
        `.then(() => console.log('removed'), (e) => console.log('failed', e.message))`,
    );
    expect(run.stdout.trim()).toBe('removed');
    expect(existsSync(ws.path)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(path.join(ws.mirrorPath, 'worktrees', AGENT))).toBe(false); // unregistered (git, as root, would refuse the repository)
  });

  // A file even root may not delete (immutable) stands for any removal that fails.
  (canPinFiles ? it : it.skip)('unregisters a worktree whose files cannot be removed, and moves it aside at the next attempt', async () => {
    const { remote, deps, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote));
    const orphaned = path.join(deps.workspaceRoot, 'orphaned');
    writeFileSync(path.join(ws.path, 'pinned'), 'x');
    execFileSync('chattr', ['+i', path.join(ws.path, 'pinned')]);
    try {
      await expect(workspaces.remove(ws)).rejects.toThrow();
      expect(git(['worktree', 'list', '--porcelain'], ws.mirrorPath)).not.toContain(ws.path);
      expect(existsSync(path.join(ws.mirrorPath, 'worktrees', AGENT))).toBe(false);

      expect(await workspaces.remove(ws)).toEqual({ removed: true });
      expect(existsSync(ws.path)).toBe(false);
      expect(readdirSync(orphaned)).toHaveLength(1);
    } finally {
      const left = [ws.path, ...(existsSync(orphaned) ? readdirSync(orphaned).map((d) => path.join(orphaned, d)) : [])];
      for (const d of left) tryExec('chattr', ['-i', path.join(d, 'pinned')]);
    }
  });

  it('reads gate configuration from the base commit only, refusing links', async () => {
    const { remote, workspaces } = setup({}, { 'README.md': 'hello\n', 'package.json': '{"scripts":{"test":"node test.js"}}\n' });
    const ws = await workspaces.prepare(request(remote));
    writeFiles(ws.path, { 'package.json': '{"scripts":{"test":"true"}}\n' });
    expect(await workspaces.readAtBase(ws, 'package.json')).toBe('{"scripts":{"test":"node test.js"}}\n');
    expect(await workspaces.readAtBase(ws, '.orchestrator/gates.json')).toBeUndefined();
    await expect(workspaces.readAtBase(ws, '../x')).rejects.toThrow(/not a path inside the repository/);
    // A base commit whose package.json is a symlink is refused, not followed.
    const { remote: linked, workspaces: w2 } = setup({}, { 'README.md': 'x\n' });
    const work = mkdtempSync(path.join(tmp, 'dev-'));
    git(['clone', '-q', linked.barePath, work]);
    symlinkSync('/etc/passwd', path.join(work, 'package.json'));
    git(['add', '-A'], work);
    execFileSync('git', ['-c', 'user.name=a', '-c', 'user.email=a@b', 'commit', '-qm', 'link'], { cwd: work });
    git(['push', '-q', 'origin', 'HEAD:main'], work);
    const ws2 = await w2.prepare(request(linked));
    await expect(w2.readAtBase(ws2, 'package.json')).rejects.toThrow(/not a regular file/);
  });
});

/**
 * What an agent's commands can leave: a directory of mode 000, and a tree 1500 levels deep, longer
 * than PATH_MAX (node's rm: ENAMETOOLONG). Made relative to open directories, as `mkdir d && cd d`
 * in a loop does, only faster (a shell's `cd` takes longer the deeper it is).
 */
function plantHostileTree(dir: string): void {
  const deep =
    'import os,sys\nfd=os.open(sys.argv[1], os.O_RDONLY)\nfor i in range(1500):\n' +
    '    os.mkdir("aaaa", dir_fd=fd); n=os.open("aaaa", os.O_RDONLY, dir_fd=fd); os.close(fd); fd=n\n' +
    'os.close(os.open("f", os.O_WRONLY | os.O_CREAT, dir_fd=fd))';
  execFileSync('python3', ['-c', deep, dir]);
  plantLockedDir(dir);
}

function plantLockedDir(dir: string): void {
  mkdirSync(path.join(dir, 'locked', 'inner'), { recursive: true });
  writeFileSync(path.join(dir, 'locked', 'inner', 'f'), 'x');
  chmodSync(path.join(dir, 'locked'), 0o000);
}

function tryExec(file: string, args: string[]): void {
  spawnSync(file, args, { stdio: 'ignore' });
}

/** Whether this host lets the test mark a file immutable (root on ext4, xfs, btrfs). */
function immutableFilesWork(): boolean {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pin-probe-'));
  const file = path.join(dir, 'f');
  writeFileSync(file, '');
  const pinned = spawnSync('chattr', ['+i', file], { stdio: 'ignore' }).status === 0;
  if (pinned) tryExec('chattr', ['-i', file]);
  rmSync(dir, { recursive: true, force: true });
  return pinned;
}
