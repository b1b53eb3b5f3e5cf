import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createGitWorkspaces, GitCommandFailedError, GitInputError, type GitDeps } from './index';
import { processScratch } from '../host/scratch';
import { toActivityFailure } from '../failures';
import { createRemote, git, testDeps, tryGit, writeFiles, type TestRemote } from '../../test/support/git-workspace-fixtures';

const AGENT_A = '1a2b3c4d-0000-4000-8000-00000000000a';
const AGENT_B = '5e6f7a8b-0000-4000-8000-00000000000b';

describe('git workspaces', () => {
  let tmp: string;
  let n = 0;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'git-workspaces-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  /** A fresh remote and workspace root per test, so tests never share state. */
  function setup(overrides: Partial<GitDeps> = {}, files: Record<string, string> = { 'README.md': 'hello\n', 'src/app.ts': 'export const x = 1;\n' }) {
    const dir = path.join(tmp, `case-${++n}`);
    const remote = createRemote(path.join(dir, 'remote'), files);
    const deps = testDeps(path.join(dir, 'ws'), overrides);
    return { dir, remote, deps, workspaces: createGitWorkspaces(deps) };
  }

  const request = (remote: TestRemote, agentId: string, taskId = 'T-1') => ({ agentId, taskId, repository: remote.url, baseBranch: 'main' });

  it('gives two concurrent agents on one repository separate worktrees and branches, and pushes both', async () => {
    const { remote, deps, workspaces } = setup();
    const [a, b] = await Promise.all([workspaces.prepare(request(remote, AGENT_A)), workspaces.prepare(request(remote, AGENT_B))]);

    expect(a.path).toBe(path.join(deps.workspaceRoot, 'worktrees', AGENT_A));
    expect(b.path).toBe(path.join(deps.workspaceRoot, 'worktrees', AGENT_B));
    expect(a.branch).toBe('agent/T-1/1a2b3c4d');
    expect(b.branch).toBe('agent/T-1/5e6f7a8b');
    expect(a.mirrorPath).toBe(b.mirrorPath);
    expect(a.mirrorPath).toMatch(/\/mirrors\/[0-9a-f]{16}\.git$/);
    expect(a.baseSha).toBe(remote.sha('refs/heads/main'));

    writeFiles(a.path, { 'a.txt': 'from agent a\n' });
    writeFiles(b.path, { 'b.txt': 'from agent b\n' });
    const commits = await Promise.all(
      [a, b].map(async (ws) => {
        await workspaces.stageAll(ws);
        return workspaces.commit(ws, `work of ${ws.branch}`);
      }),
    );
    const pushes = await Promise.all([workspaces.push(a), workspaces.push(b)]);

    expect(pushes.map((p) => p.pushed)).toEqual([true, true]);
    expect(remote.sha(`refs/heads/${a.branch}`)).toBe(commits[0]!.commitSha);
    expect(remote.sha(`refs/heads/${b.branch}`)).toBe(commits[1]!.commitSha);
    expect(git(['show', '--format=%an <%ae>|%cn <%ce>', '--no-patch', commits[0]!.commitSha!], remote.barePath)).toBe(
      'Agent Smith <agent@orchestrator.test>|Agent Smith <agent@orchestrator.test>',
    );
    expect(git(['ls-tree', '--name-only', b.branch], remote.barePath).split('\n')).not.toContain('a.txt');
  });

  it('reuses the mirror for a second agent: fetched, never cloned again', async () => {
    const { remote, deps, workspaces } = setup();
    const first = await workspaces.prepare(request(remote, AGENT_A));
    const marker = path.join(first.mirrorPath, 'orchestrator-marker');
    writeFileSync(marker, 'still here');
    const inode = statSync(first.mirrorPath).ino;
    const moved = remote.commit({ 'README.md': 'hello again\n' }, 'upstream moves');

    const second = await workspaces.prepare(request(remote, AGENT_B));

    expect(second.mirrorPath).toBe(first.mirrorPath);
    expect(statSync(second.mirrorPath).ino).toBe(inode);
    expect(readFileSync(marker, 'utf8')).toBe('still here');
    expect(deps.logs.map((l) => l.meta?.event).filter((e) => e === 'clone' || e === 'fetch')).toEqual(['clone', 'fetch']);
    expect(second.baseSha).toBe(moved); // the fetch brought the new base
  });

  it('stages and scans what the commit would add, and reports an empty index as nothing to commit', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote, AGENT_A));
    await workspaces.stageAll(ws);
    expect(await workspaces.commit(ws, 'nothing yet')).toEqual({ nothingToCommit: true });

    writeFiles(ws.path, { 'src/app.ts': 'export const x = 2;\n', 'new.txt': 'token = abc\n' });
    const scan = await workspaces.stageAndScan(ws);
    expect(scan).toMatchObject({ findings: [], unscannable: [], scannedFiles: 2, tree: expect.stringMatching(/^[0-9a-f]{40}$/) });

    const { commitSha } = await workspaces.commit(ws, '-m looks like an option but is a message');
    expect(commitSha).toBe(await workspaces.headSha(ws));
    expect(git(['log', '-1', '--format=%s', commitSha!], ws.mirrorPath)).toBe('-m looks like an option but is a message');
    const review = await workspaces.diffAgainstBase(ws);
    expect(review).toContain('+++ b/new.txt');
    expect(review).toContain('+export const x = 2;');
  });

  it('commits only the scanned tree: an index staged again after the scan is refused, the scanned one committed', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote, AGENT_A));
    writeFiles(ws.path, { 'a.txt': 'scanned\n' });
    const scan = await workspaces.stageAndScan(ws);
    writeFiles(ws.path, { 'a.txt': 'changed after the scan\n' });
    await workspaces.stageAll(ws);
    await expect(workspaces.commit(ws, 'work', { expectedTree: scan.tree })).rejects.toThrow(/is not the scanned tree/);

    const rescan = await workspaces.stageAndScan(ws);
    const { commitSha } = await workspaces.commit(ws, 'work', { expectedTree: rescan.tree });
    expect(git(['rev-parse', `${commitSha!}^{tree}`], ws.mirrorPath)).toBe(rescan.tree);
    expect(git(['show', `${commitSha!}:a.txt`], ws.mirrorPath)).toBe('changed after the scan');
  });

  it('scans and commits the tree the gates staged, not the worktree as it is later, also after the index was staged again', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote, AGENT_A));
    writeFiles(ws.path, { 'a.txt': 'gated\n' });
    const staged = await workspaces.stagedTree(ws);
    if (!('tree' in staged)) throw new Error('staging was refused');
    // Written while the gates ran: a secret too, which the scan of the gated tree never sees.
    writeFiles(ws.path, { 'a.txt': 'changed after the gates\n', 'late.txt': '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\n' });
    const scan = await workspaces.scanTree(ws, staged.tree);
    expect(scan).toMatchObject({ tree: staged.tree, findings: [], unscannable: [] });
    const { commitSha } = await workspaces.commit(ws, 'work', { expectedTree: scan.tree });
    expect(git(['rev-parse', `${commitSha!}^{tree}`], ws.mirrorPath)).toBe(staged.tree);

    // The index no longer holds the gated tree (something staged the worktree again): it is read back.
    rmSync(path.join(ws.path, 'late.txt'));
    writeFiles(ws.path, { 'b.txt': 'gated too\n' });
    const second = await workspaces.stagedTree(ws);
    if (!('tree' in second)) throw new Error('staging was refused');
    writeFiles(ws.path, { 'c.txt': 'after the gates\n' });
    await workspaces.stageAll(ws);
    expect(await workspaces.scanTree(ws, second.tree)).toMatchObject({ tree: second.tree, findings: [] });
    await expect(workspaces.scanTree(ws, 'HEAD')).rejects.toThrow(GitInputError);
    const next = await workspaces.commit(ws, 'more work', { expectedTree: second.tree });
    expect(git(['rev-parse', `${next.commitSha!}^{tree}`], ws.mirrorPath)).toBe(second.tree);
    expect(git(['ls-tree', '--name-only', next.commitSha!], ws.mirrorPath).split('\n')).toEqual(expect.not.arrayContaining(['c.txt']));
    expect(git(['show', `${next.commitSha!}:b.txt`], ws.mirrorPath)).toBe('gated too');
  });

  it('returns the existing worktree when prepare is retried for the same agent', async () => {
    const { remote, workspaces } = setup();
    const first = await workspaces.prepare(request(remote, AGENT_A));
    writeFiles(first.path, { 'wip.txt': 'work in progress\n' });
    const again = await workspaces.prepare(request(remote, AGENT_A));
    expect(again).toEqual(first);
    expect(readFileSync(path.join(first.path, 'wip.txt'), 'utf8')).toBe('work in progress\n');
  });

  it('prepares a whole worktree again when the worker died while git was checking it out, never the half it left', async () => {
    const files: Record<string, string> = { '.gitattributes': '*.txt filter=slow\n' };
    for (let i = 0; i < 20; i++) files[`f${i}.txt`] = `file ${i}\n`;
    const { remote, deps, workspaces } = setup({}, files);
    const other = await workspaces.prepare(request(remote, AGENT_B));
    // A checkout that takes a while: each file through a slow smudge filter (configured in the mirror, as only the service can).
    git(['config', 'filter.slow.smudge', 'sleep 0.3; cat'], other.mirrorPath);
    const worktree = path.join(deps.workspaceRoot, 'worktrees', AGENT_A);
    const preparing = workspaces.prepare(request(remote, AGENT_A)).catch((err: unknown) => err);
    // The worker dies mid-checkout: git and everything it started are gone at once (SIGKILL: git cleans nothing up).
    for (;;) {
      if (existsSync(path.join(worktree, 'f3.txt'))) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const pids = execFileSync('pgrep', ['-f', `worktree add .*${AGENT_A}`], { encoding: 'utf8' }).trim().split('\n').map(Number);
    for (const pid of pids) process.kill(-pid, 'SIGKILL');
    expect(await preparing).toBeInstanceOf(Error);
    // What it left: a part of the files, and git's marker of an add that never finished.
    expect(readdirSync(worktree).filter((f) => f.endsWith('.txt')).length).toBeLessThan(20);
    expect(existsSync(path.join(other.mirrorPath, 'worktrees', AGENT_A, 'locked'))).toBe(true);

    // The activity's retry.
    const again = await workspaces.prepare(request(remote, AGENT_A));
    expect(git(['status', '--porcelain'], again.path)).toBe('');
    expect(readFileSync(path.join(again.path, 'f19.txt'), 'utf8')).toBe('file 19\n');
    expect(again.branch).toBe(`agent/T-1/${AGENT_A.slice(0, 8)}`);
    // The agent's work from here is committed and pushed as usual.
    writeFiles(again.path, { 'a.txt': 'work\n' });
    await workspaces.stageAll(again);
    const { commitSha } = await workspaces.commit(again, 'work');
    expect(git(['diff', '--name-only', again.baseSha, commitSha!], again.mirrorPath)).toBe('a.txt');
  }, 60_000);

  it('reuses the agent branch when prepare runs again after its worktree was removed', async () => {
    const { remote, workspaces } = setup();
    const first = await workspaces.prepare(request(remote, AGENT_A));
    writeFiles(first.path, { 'a.txt': 'committed\n' });
    await workspaces.stageAll(first);
    const { commitSha } = await workspaces.commit(first, 'work');
    await workspaces.remove(first);

    const again = await workspaces.prepare(request(remote, AGENT_A));
    expect(again).toEqual(first);
    expect(await workspaces.headSha(again)).toBe(commitSha);
  });

  it('refuses an agent whose id shares its first 8 characters with another agent on the task', async () => {
    const { remote, workspaces } = setup();
    await workspaces.prepare(request(remote, AGENT_A));
    const twin = `${AGENT_A.slice(0, 8)}-ffff-4000-8000-000000000000`;
    await expect(workspaces.prepare(request(remote, twin))).rejects.toMatchObject({
      type: 'InvalidInput',
      message: expect.stringContaining('already belongs to another agent'),
    });
  });

  it('reports the conflicting path when the target branch moved on the same lines, and pushes nothing', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote, AGENT_A));
    writeFiles(ws.path, { 'src/app.ts': 'export const x = 42; // agent\n' });
    await workspaces.stageAll(ws);
    const { commitSha } = await workspaces.commit(ws, 'agent change');
    const remoteMain = remote.commit({ 'src/app.ts': 'export const x = 7; // upstream\n' }, 'upstream change');

    const result = await workspaces.checkMergeable(ws);

    expect(result).toEqual({ clean: false, conflicts: ['src/app.ts'] });
    expect(remote.sha(`refs/heads/${ws.branch}`)).toBeUndefined();
    expect(remote.sha('refs/heads/main')).toBe(remoteMain);
    // The worktree was not touched: same HEAD, clean status, the agent's content.
    expect(await workspaces.headSha(ws)).toBe(commitSha);
    expect(git(['status', '--porcelain'], ws.path)).toBe('');
    expect(readFileSync(path.join(ws.path, 'src/app.ts'), 'utf8')).toBe('export const x = 42; // agent\n');
  });

  it('reports a clean merge when the target branch moved elsewhere', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote, AGENT_A));
    writeFiles(ws.path, { 'src/app.ts': 'export const x = 42;\n' });
    await workspaces.stageAll(ws);
    await workspaces.commit(ws, 'agent change');
    remote.commit({ 'README.md': 'upstream readme\n' }, 'upstream change');
    expect(await workspaces.checkMergeable(ws)).toEqual({ clean: true });
  });

  it("finds a reviewer's gate base where the branch under review forked from the review base, never on the branch", async () => {
    const { remote, workspaces } = setup();
    const a = await workspaces.prepare(request(remote, AGENT_A));
    writeFiles(a.path, { 'src/app.ts': 'export const x = 42;\n' });
    await workspaces.stageAll(a);
    await workspaces.commit(a, 'agent change');
    await workspaces.push(a);
    remote.commit({ 'README.md': 'upstream readme\n' }, 'upstream change');
    const reviewer = await workspaces.prepare({ ...request(remote, AGENT_B, 'T-2'), baseBranch: a.branch });
    expect(reviewer.baseSha).toBe(remote.sha(`refs/heads/${a.branch}`));

    expect(await workspaces.reviewBase(reviewer, 'main')).toBe(a.baseSha);
    await expect(workspaces.reviewBase(reviewer, 'no-such-branch')).rejects.toMatchObject({ type: 'InvalidInput' });
    // A base that shares no history with the branch: the empty base, where no gate is defined.
    const emptyTree = git(['hash-object', '-t', 'tree', '-w', '/dev/null'], remote.barePath);
    git(['update-ref', 'refs/heads/unrelated', git(['commit-tree', emptyTree, '-m', 'unrelated'], remote.barePath)], remote.barePath);
    const later = await workspaces.prepare({ ...request(remote, '9c0d1e2f-0000-4000-8000-00000000000c', 'T-3'), baseBranch: a.branch });
    const gateBase = await workspaces.reviewBase(later, 'unrelated');
    expect(git(['ls-tree', gateBase], later.mirrorPath)).toBe('');
  });

  it("finds the remote's default branch by asking the remote: the mirror's own HEAD is not the remote's", async () => {
    const { remote, workspaces } = setup();
    git(['update-ref', 'refs/heads/trunk', 'refs/heads/main'], remote.barePath);
    const ws = await workspaces.prepare(request(remote, AGENT_A));
    expect(await workspaces.defaultBranch(ws)).toBe('main');
    git(['symbolic-ref', 'HEAD', 'refs/heads/trunk'], remote.barePath);
    expect(await workspaces.defaultBranch(ws)).toBe('trunk');
    // The mirror was made by `init --bare` and a fetch: its HEAD says nothing of the remote's.
    expect(git(['symbolic-ref', 'HEAD'], ws.mirrorPath)).not.toBe('refs/heads/trunk');
    git(['symbolic-ref', 'HEAD', 'refs/heads/no-such-branch'], remote.barePath);
    expect(await workspaces.defaultBranch(ws)).toBeUndefined();
  });

  it("diffs a reviewer's branch from its gate base: the change the branch under review makes", async () => {
    const { remote, workspaces } = setup();
    const a = await workspaces.prepare(request(remote, AGENT_A));
    writeFiles(a.path, { 'src/app.ts': 'export const x = 42;\n' });
    await workspaces.stageAll(a);
    const { commitSha } = (await workspaces.commit(a, 'agent change')) as { commitSha: string };
    await workspaces.push(a);
    const reviewer = await workspaces.prepare({ ...request(remote, AGENT_B, 'T-2'), baseBranch: a.branch });
    expect(await workspaces.diffAgainstBase(reviewer)).toBe('');
    const diff = await workspaces.diffBetween(reviewer, await workspaces.reviewBase(reviewer, 'main'), commitSha);
    expect(diff).toContain('+export const x = 42;');
    await expect(workspaces.diffBetween(reviewer, '--output=/tmp/x', commitSha)).rejects.toBeInstanceOf(GitInputError);
  });

  it('prepares again over a registration whose directory is gone (a crash between deleting the worktree and unregistering it)', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote, AGENT_A));
    rmSync(ws.path, { recursive: true, force: true });
    const again = await workspaces.prepare(request(remote, AGENT_A));
    expect(again.path).toBe(ws.path);
    expect(git(['status', '--porcelain'], again.path)).toBe('');
    expect(readFileSync(path.join(again.path, 'README.md'), 'utf8')).toBe('hello\n');
  });

  it('checks without fetching while the mirror has the target\'s tip, and fetches it once the target moved', async () => {
    const events: string[] = [];
    const { remote, workspaces } = setup({ log: (_msg, meta) => events.push(String(meta?.event)) });
    const agents = await Promise.all([AGENT_A, AGENT_B].map((id) => workspaces.prepare(request(remote, id))));
    for (const [i, ws] of agents.entries()) {
      writeFiles(ws.path, { 'src/app.ts': `export const x = ${i + 40}; // agent\n` });
      await workspaces.stageAll(ws);
      await workspaces.commit(ws, 'agent change');
    }
    const fetches = () => events.filter((e) => e === 'fetch-target').length;

    const together = await Promise.all([...agents, ...agents].map((ws) => workspaces.checkMergeable(ws)));
    expect(together).toEqual(Array(4).fill({ clean: true }));
    expect(fetches()).toBe(0);

    remote.commit({ 'src/app.ts': 'export const x = 7; // upstream\n' }, 'upstream change');
    const afterMove = await Promise.all(agents.map((ws) => workspaces.checkMergeable(ws)));
    expect(afterMove).toEqual([
      { clean: false, conflicts: ['src/app.ts'] },
      { clean: false, conflicts: ['src/app.ts'] },
    ]);
    expect(fetches()).toBeGreaterThanOrEqual(1);
  });

  it('sees an edit of the mirror\'s remote at its next use, also one made through an included file', async () => {
    const { dir, remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote, AGENT_A));
    expect(await workspaces.checkMergeable(ws)).toEqual({ clean: true });

    git(['config', 'remote.origin.url', 'ftp://example.com/repo.git'], ws.mirrorPath);
    await expect(workspaces.checkMergeable(ws)).rejects.toBeInstanceOf(GitInputError);
    git(['config', 'remote.origin.url', remote.url], ws.mirrorPath);
    expect(await workspaces.checkMergeable(ws)).toEqual({ clean: true });

    // The config text stays the same while the included file changes.
    const extra = path.join(dir, 'extra.config');
    writeFileSync(extra, `[remote "origin"]\n\turl = ${remote.url}\n`);
    git(['config', 'include.path', extra], ws.mirrorPath);
    expect(await workspaces.checkMergeable(ws)).toEqual({ clean: true });
    writeFileSync(extra, '[remote "origin"]\n\turl = ftp://example.com/repo.git\n');
    await expect(workspaces.checkMergeable(ws)).rejects.toBeInstanceOf(GitInputError);
  });

  it('salvages uncommitted and untracked work to a ref, leaves the branch where it was, and removes the worktree', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote, AGENT_A));
    writeFiles(ws.path, { 'README.md': 'edited but not committed\n', 'notes/untracked.md': 'never added\n' });
    const branchBefore = git(['rev-parse', `refs/heads/${ws.branch}`], ws.mirrorPath);

    const saved = await workspaces.salvage(ws, AGENT_A);

    expect(saved.ref).toBe(`refs/agents/${AGENT_A}/salvage`);
    expect(saved.pushed).toBe(true);
    expect(git(['show', `${saved.ref}:README.md`], ws.mirrorPath)).toBe('edited but not committed');
    expect(git(['show', `${saved.ref}:notes/untracked.md`], ws.mirrorPath)).toBe('never added');
    expect(git(['rev-parse', `${saved.ref}^`], ws.mirrorPath)).toBe(branchBefore);
    expect(remote.sha(saved.ref!)).toBe(saved.commitSha);
    expect(git(['rev-parse', `refs/heads/${ws.branch}`], ws.mirrorPath)).toBe(branchBefore);
    expect(git(['status', '--porcelain'], ws.path)).toContain('?? notes/'); // the real index is untouched: still untracked

    const removed = await workspaces.remove(ws);
    expect(removed.removed).toBe(true);
    expect(removed.salvage?.commitSha).toBe(saved.commitSha); // unchanged work is not salvaged twice
    expect(existsSync(ws.path)).toBe(false);
    expect(git(['worktree', 'list', '--porcelain'], ws.mirrorPath)).not.toContain(ws.path);
    expect(git(['rev-parse', `refs/heads/${ws.branch}`], ws.mirrorPath)).toBe(branchBefore);

    expect(await workspaces.remove(ws)).toEqual({ removed: false }); // idempotent
  });

  it('removes a worktree whose .git file the agent rewrote, salvaging its work first', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote, AGENT_A));
    writeFiles(ws.path, { '.git': 'gitdir: /somewhere/else\n', 'keep.txt': 'precious\n' }); // an agent rewrote its .git file

    const result = await workspaces.remove(ws);

    expect(result.removed).toBe(true);
    expect(existsSync(ws.path)).toBe(false);
    expect(git(['show', `${result.salvage!.ref}:keep.txt`], ws.mirrorPath)).toBe('precious');
    expect(git(['worktree', 'list', '--porcelain'], ws.mirrorPath)).not.toContain(ws.path);
  });

  it('salvages nothing from a clean worktree', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote, AGENT_A));
    expect(await workspaces.salvage(ws, AGENT_A)).toEqual({});
    expect(tryGit(['rev-parse', '--verify', '--quiet', `refs/agents/${AGENT_A}/salvage`], ws.mirrorPath)).toBeUndefined();
  });

  it("keeps salvage's and a gate checkout's temporary index in the host's scratch under the workspace root, removed after", async () => {
    const { remote, deps, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote, AGENT_A));
    writeFiles(ws.path, { 'wip.txt': 'not committed\n' });
    // The default: this process's directory under <root>/tmp, where the reaper looks.
    await workspaces.salvage(ws, AGENT_A);
    const scratchRoot = path.join(deps.workspaceRoot, 'tmp');
    const [own, ...others] = readdirSync(scratchRoot).filter((n) => !n.endsWith('.lock'));
    expect(others).toEqual([]);
    expect(readdirSync(path.join(scratchRoot, own!))).toEqual([]);

    // What each operation asked for: a directory named by the agent, released when it ended.
    const scratch = processScratch(scratchRoot);
    const made: string[] = [];
    const released: string[] = [];
    const recorded = createGitWorkspaces({
      ...deps,
      scratch: {
        ...scratch,
        make: async (label) => {
          made.push(label);
          return scratch.make(label);
        },
        release: async (dir) => {
          released.push(dir);
          await scratch.release(dir);
        },
      },
    });
    writeFiles(ws.path, { 'wip.txt': 'changed again\n' });
    await recorded.salvage(ws, AGENT_A);
    await recorded.checkoutForGates(ws, AGENT_A, ws.baseSha, { overrides: { 'jest.config.js': 'module.exports = {};\n' } });
    expect(made).toEqual([`${AGENT_A}.salvage`, `${AGENT_A}.gate-index`]);
    expect(released.map((d) => path.relative(scratchRoot, d))).toEqual(made.map((label) => expect.stringMatching(new RegExp(`/${label}-[0-9a-f]{12}$`))));
    expect(released.filter((d) => existsSync(d))).toEqual([]);
    await scratch.close();
  });

  it('reaps only the worktrees whose workflow is closed, after salvaging them', async () => {
    const { remote, deps } = setup();
    // A worker that crashed: it created two worktrees and is gone.
    const crashed = createGitWorkspaces(deps);
    const closed = await crashed.prepare(request(remote, AGENT_A));
    const running = await crashed.prepare(request(remote, AGENT_B));
    writeFiles(closed.path, { 'unsaved.txt': 'left behind\n' });

    const restarted = createGitWorkspaces(deps);
    expect((await restarted.listWorktrees()).map((w) => w.agentId).sort()).toEqual([AGENT_A, AGENT_B].sort());
    const asked: string[] = [];
    const count = await restarted.reap(async (agentId) => {
      asked.push(agentId);
      return agentId === AGENT_A;
    });

    expect(count).toBe(1);
    expect(asked.sort()).toEqual([AGENT_A, AGENT_B].sort());
    expect(existsSync(closed.path)).toBe(false);
    expect(existsSync(running.path)).toBe(true);
    // Published, so the mirror's copy went with the run's other refs there.
    expect(git(['show', `refs/agents/${AGENT_A}/salvage:unsaved.txt`], remote.barePath)).toBe('left behind');
    expect(await restarted.listWorktrees()).toEqual([{ agentId: AGENT_B, path: running.path, mirrorPath: running.mirrorPath }]);
  });

  describe("an agent's refs in the mirror once it is done on the host", () => {
    /** The mirror's refs of one agent: its marker and salvage, its local branch. */
    const agentRefs = (mirrorPath: string, agentId: string) =>
      git(['for-each-ref', '--format=%(refname)', `refs/agents/${agentId}/`, `refs/heads/agent/T-1/${agentId.slice(0, 8)}`], mirrorPath)
        .split('\n')
        .filter(Boolean)
        .sort();
    async function commitAndPush(workspaces: ReturnType<typeof createGitWorkspaces>, ws: Awaited<ReturnType<typeof workspaces.prepare>>, text: string) {
      writeFiles(ws.path, { 'work.txt': text });
      await workspaces.stageAll(ws);
      const { commitSha } = await workspaces.commit(ws, 'work');
      return { commitSha, push: await workspaces.push(ws) };
    }

    it("deletes a pushed agent's base marker, branch and published salvage when its run's cleanup removes it, and no other agent's", async () => {
      const { remote, workspaces } = setup();
      const ws = await workspaces.prepare(request(remote, AGENT_A));
      const other = await workspaces.prepare(request(remote, AGENT_B));
      const { commitSha, push } = await commitAndPush(workspaces, ws, 'pushed\n');
      expect(push.pushed).toBe(true);
      writeFiles(ws.path, { 'unsaved.txt': 'salvaged\n' });
      expect(agentRefs(ws.mirrorPath, AGENT_A)).toEqual([`refs/agents/${AGENT_A}/base`, `refs/heads/${ws.branch}`]);

      const removed = await workspaces.removeForGood(ws);

      expect(removed.salvage?.pushed).toBe(true);
      expect(agentRefs(ws.mirrorPath, AGENT_A)).toEqual([]);
      expect(remote.sha(`refs/heads/${ws.branch}`)).toBe(commitSha);
      expect(git(['show', `refs/agents/${AGENT_A}/salvage:unsaved.txt`], remote.barePath)).toBe('salvaged');
      expect(agentRefs(other.mirrorPath, AGENT_B)).toEqual([`refs/agents/${AGENT_B}/base`, `refs/heads/${other.branch}`]);
      // A retry, the worktree gone: nothing left to do, and the agent may be prepared afresh.
      expect(await workspaces.removeForGood(ws)).toEqual({ removed: false });
      const again = await workspaces.prepare({ ...request(remote, AGENT_A), baseSha: ws.baseSha });
      expect(await workspaces.headSha(again)).toBe(ws.baseSha);
    });

    it('keeps the branch, its marker and the salvage when push is disabled: the mirror has the only copy', async () => {
      const { remote, workspaces } = setup({ pushEnabled: false });
      const ws = await workspaces.prepare(request(remote, AGENT_A));
      const idle = await workspaces.prepare(request(remote, AGENT_B));
      const { commitSha } = await commitAndPush(workspaces, ws, 'only here\n');
      writeFiles(ws.path, { 'unsaved.txt': 'only here too\n' });

      await workspaces.removeForGood(ws);
      await workspaces.removeForGood(idle);

      expect(agentRefs(ws.mirrorPath, AGENT_A)).toEqual([`refs/agents/${AGENT_A}/base`, `refs/agents/${AGENT_A}/salvage`, `refs/heads/${ws.branch}`]);
      // A branch still at its base holds no work: it goes, with its marker.
      expect(agentRefs(idle.mirrorPath, AGENT_B)).toEqual([]);
      expect(git(['rev-parse', `refs/heads/${ws.branch}`], ws.mirrorPath)).toBe(commitSha);
      // The run comes back here: its branch is still its own, with the work on it.
      const again = await workspaces.prepare(request(remote, AGENT_A));
      expect(await workspaces.headSha(again)).toBe(commitSha);
    });

    it('keeps a branch whose last commit never reached the remote, and deletes the salvage that did', async () => {
      const { remote, workspaces } = setup();
      const ws = await workspaces.prepare(request(remote, AGENT_A));
      await commitAndPush(workspaces, ws, 'pushed\n');
      writeFiles(ws.path, { 'work.txt': 'committed after the push\n' });
      await workspaces.stageAll(ws);
      const { commitSha } = await workspaces.commit(ws, 'later');
      writeFiles(ws.path, { 'unsaved.txt': 'salvaged\n' });

      expect((await workspaces.removeForGood(ws)).salvage?.pushed).toBe(true);

      expect(git(['rev-parse', `refs/heads/${ws.branch}`], ws.mirrorPath)).toBe(commitSha);
      expect(agentRefs(ws.mirrorPath, AGENT_A)).toEqual([`refs/agents/${AGENT_A}/base`, `refs/heads/${ws.branch}`]);
    });

    it("deletes a closed run's pushed refs when the reaper removes its worktree, and keeps a running one's", async () => {
      const { remote, deps } = setup();
      const crashed = createGitWorkspaces(deps);
      const closed = await crashed.prepare(request(remote, AGENT_A));
      const running = await crashed.prepare(request(remote, AGENT_B));
      await commitAndPush(crashed, closed, 'pushed before the crash\n');

      const restarted = createGitWorkspaces(deps);
      expect(await restarted.reap(async (agentId) => agentId === AGENT_A)).toBe(1);

      expect(agentRefs(closed.mirrorPath, AGENT_A)).toEqual([]);
      expect(agentRefs(running.mirrorPath, AGENT_B)).toEqual([`refs/agents/${AGENT_B}/base`, `refs/heads/${running.branch}`]);
    });
  });

  describe('after a failover (two hosts: two workspace roots, one remote)', () => {
    const ref = `refs/agents/${AGENT_A}/salvage`;
    /** Host A's workspaces (the setup's root) and host B's (a root of its own). */
    function twoHosts() {
      const { dir, remote, deps, workspaces } = setup();
      const hostB = createGitWorkspaces(testDeps(path.join(dir, 'ws-b'), { host: { id: 'host-b', taskQueue: 'test@host-b' } }));
      return { remote, deps, hostA: workspaces, hostB };
    }
    const show = (sha: string | undefined, remote: TestRemote) => git(['show', `${sha}:work.txt`], remote.barePath);

    it("keeps the run's newest salvage on the remote when the lost host's reaper salvages its older worktree", async () => {
      const { remote, deps, hostA, hostB } = twoHosts();
      const onA = await hostA.prepare(request(remote, AGENT_A));
      writeFiles(onA.path, { 'work.txt': 'turn 1, on the lost host\n' });
      const onB = await hostB.prepare({ ...request(remote, AGENT_A), baseSha: onA.baseSha });
      writeFiles(onB.path, { 'work.txt': 'turn 3, on the new host\n' });

      // The run's cleanup on B salvages then removes; a retry of it finds its own push already there.
      const saved = await hostB.salvage(onB, AGENT_A);
      expect(await hostB.salvage(onB, AGENT_A)).toEqual(saved);
      const removed = await hostB.remove(onB);
      expect([saved.pushed, removed.salvage?.pushed, removed.salvage?.commitSha]).toEqual([true, true, saved.commitSha]);

      // The run is closed: the lost host's reaper removes its worktree, and its salvage stays on A.
      expect(await hostA.reap(async () => true)).toBe(1);
      expect(existsSync(onA.path)).toBe(false);
      expect(remote.sha(ref)).toBe(saved.commitSha);
      expect(show(remote.sha(ref), remote)).toBe('turn 3, on the new host');
      expect(git(['show', `${ref}:work.txt`], onA.mirrorPath)).toBe('turn 1, on the lost host');
      expect(deps.logs.find((l) => l.meta?.event === 'salvage-not-replaced')?.meta).toMatchObject({ agentId: AGENT_A, remoteHas: saved.commitSha });
    });

    it("does not publish what a rebuild replaces: the run's cleanup on that host writes the remote ref", async () => {
      const { remote, hostA, hostB } = twoHosts();
      const onA = await hostA.prepare(request(remote, AGENT_A));
      writeFiles(onA.path, { 'work.txt': 'turn 1, before A was lost\n' });
      await hostB.prepare({ ...request(remote, AGENT_A), baseSha: onA.baseSha });
      // B is lost in turn; A is back, and the run is rebuilt there over A's old worktree.
      const again = await hostA.prepare({ ...request(remote, AGENT_A), baseSha: onA.baseSha });
      expect(remote.sha(ref)).toBeUndefined();

      writeFiles(again.path, { 'work.txt': 'turn 5, the last\n' });
      const removed = await hostA.remove(again);
      expect(removed.salvage?.pushed).toBe(true);
      expect(show(remote.sha(ref), remote)).toBe('turn 5, the last');
    });
    it("replaces the lost host's late push of the agent's branch from the host the agent moved to, never the other way, nor anyone else's commit", async () => {
      const { remote, hostA, hostB } = twoHosts();
      const message = (agentId: string) => `T-1: work\n\nAgent-Id: ${agentId}\n`;
      const onA = await hostA.prepare(request(remote, AGENT_A));
      // B rebuilt (and fetched) before A, cut off from Temporal but alive, pushed its commit.
      const onB = await hostB.prepare({ ...request(remote, AGENT_A), baseSha: onA.baseSha });
      writeFiles(onA.path, { 'work.txt': 'on the lost host\n' });
      await hostA.stageAll(onA);
      const late = await hostA.commit(onA, message(AGENT_A));
      expect(await hostA.push(onA)).toMatchObject({ pushed: true, commitSha: late.commitSha });

      writeFiles(onB.path, { 'work.txt': 'on the new host\n' });
      await hostB.stageAll(onB);
      const own = await hostB.commit(onB, message(AGENT_A));
      // Without the host's leave (the rebuild's claim), the lease holds.
      await expect(hostB.push(onB)).rejects.toThrow(/stale info/);
      const claimedBy = (host: string) => async (agentId: string) => agentId === AGENT_A && host === 'host-b';
      expect(await hostB.push(onB, { mayReplaceOwn: claimedBy('host-b') })).toMatchObject({ pushed: true, commitSha: own.commitSha });
      expect(remote.sha(`refs/heads/${onB.branch}`)).toBe(own.commitSha);

      // The host left behind, later still, never replaces the new host's push.
      writeFiles(onA.path, { 'work.txt': 'on the lost host, later\n' });
      await hostA.stageAll(onA);
      await hostA.commit(onA, message(AGENT_A));
      await expect(hostA.push(onA, { mayReplaceOwn: claimedBy('host-a') })).rejects.toThrow(/stale info/);
      expect(remote.sha(`refs/heads/${onB.branch}`)).toBe(own.commitSha);

      // Someone else's commit on the branch (no Agent-Id of this agent) is never overwritten.
      const foreign = remote.commit({ 'work.txt': 'a human fix\n' }, message(AGENT_B), onB.branch);
      writeFiles(onB.path, { 'work.txt': 'on the new host, again\n' });
      await hostB.stageAll(onB);
      await hostB.commit(onB, message(AGENT_A));
      await expect(hostB.push(onB, { mayReplaceOwn: claimedBy('host-b') })).rejects.toThrow(/stale info/);
      expect(remote.sha(`refs/heads/${onB.branch}`)).toBe(foreign);
    });
  });

  describe('refuses hostile input before git runs', () => {
    const cases: Array<[string, (url: string) => { agentId: string; taskId: string; repository: string; baseBranch: string }]> = [
      ['--upload-pack as the URL', () => ({ agentId: AGENT_A, taskId: 'T-1', repository: '--upload-pack=touch /tmp/pwned', baseBranch: 'main' })],
      ['an ext:: remote helper as the URL', () => ({ agentId: AGENT_A, taskId: 'T-1', repository: 'ext::sh -c touch% /tmp/pwned', baseBranch: 'main' })],
      ['a scheme that is not allowed', () => ({ agentId: AGENT_A, taskId: 'T-1', repository: 'https://example.com/r.git', baseBranch: 'main' })],
      ['-b as the base branch', (url) => ({ agentId: AGENT_A, taskId: 'T-1', repository: url, baseBranch: '-b' })],
      ['--orphan as the base branch', (url) => ({ agentId: AGENT_A, taskId: 'T-1', repository: url, baseBranch: '--orphan' })],
      ['../../x as the base branch', (url) => ({ agentId: AGENT_A, taskId: 'T-1', repository: url, baseBranch: '../../x' })],
      ['../../x as the task id', (url) => ({ agentId: AGENT_A, taskId: '../../x', repository: url, baseBranch: 'main' })],
      ['../../x as the agent id', (url) => ({ agentId: '../../x', taskId: 'T-1', repository: url, baseBranch: 'main' })],
    ];
    it.each(cases)('%s', async (_name, make) => {
      const { remote, deps, workspaces } = setup();
      const attempt = workspaces.prepare(make(remote.url));
      await expect(attempt).rejects.toBeInstanceOf(GitInputError);
      await expect(attempt).rejects.toMatchObject({ type: 'InvalidInput', retryable: false });
      expect(existsSync(path.join(deps.workspaceRoot, 'mirrors'))).toBe(false);
      expect(existsSync(deps.workspaceRoot)).toBe(false);
    });
  });

  describe('a repository with no branch yet (a new project)', () => {
    const work = async (workspaces: ReturnType<typeof createGitWorkspaces>, ws: Awaited<ReturnType<ReturnType<typeof createGitWorkspaces>['prepare']>>, files: Record<string, string>) => {
      writeFiles(ws.path, files);
      await workspaces.stageAll(ws);
      return workspaces.commit(ws, `work of ${ws.branch}`);
    };

    it('starts agents from one empty root commit, and pushes their branches on it', async () => {
      const { remote, deps, workspaces } = setup({}, {});
      const a = await workspaces.prepare(request(remote, AGENT_A));
      expect(a.emptyBase).toBe(true);
      expect(readdirSync(a.path)).toEqual(['.git']);
      expect(git(['cat-file', '-p', a.baseSha], a.mirrorPath)).toMatch(/^tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor orchestrator/);

      const committed = await work(workspaces, a, { 'hello.txt': 'hello\n' });
      expect(await workspaces.diffAgainstBase(a)).toContain('+hello');
      expect(await workspaces.checkMergeable(a)).toEqual({ clean: true });
      expect(await workspaces.push(a)).toMatchObject({ pushed: true, commitSha: committed.commitSha });
      expect(git(['rev-list', '--parents', a.branch], remote.barePath)).toBe(`${committed.commitSha} ${a.baseSha}\n${a.baseSha}`);

      // The remote now has the first agent's branch and still no main: the next agent starts from the same root, not from it.
      const b = await workspaces.prepare(request(remote, AGENT_B));
      expect([b.emptyBase, b.baseSha]).toEqual([true, a.baseSha]);
      expect(readdirSync(b.path)).toEqual(['.git']);
      expect(deps.logs.filter((l) => l.meta?.event === 'empty-base')).toHaveLength(2);
    });

    it('rebuilds such a workspace on a host that never saw the repository', async () => {
      const { dir, remote, workspaces } = setup({}, {});
      const hostB = createGitWorkspaces(testDeps(path.join(dir, 'ws-b'), { host: { id: 'host-b', taskQueue: 'test@host-b' } }));
      const onA = await workspaces.prepare(request(remote, AGENT_A));
      writeFiles(onA.path, { 'work.txt': 'turn 1\n' });
      const snapshot = await workspaces.snapshot(onA, AGENT_A);

      const onB = await hostB.prepare({ ...request(remote, AGENT_A), baseSha: onA.baseSha });
      await hostB.restoreSnapshot(onB, AGENT_A, { commit: snapshot.commit, tree: snapshot.tree, packs: [snapshot.pack] });
      expect([onB.emptyBase, onB.baseSha]).toEqual([true, onA.baseSha]);
      expect(readFileSync(path.join(onB.path, 'work.txt'), 'utf8')).toBe('turn 1\n');
    });

    it('checks the merge against a base branch pushed since: what both sides add conflicts, the rest merges', async () => {
      const { remote, workspaces } = setup({}, {});
      const ws = await workspaces.prepare(request(remote, AGENT_A));
      await work(workspaces, ws, { 'app.ts': 'agent\n', 'agent-only.ts': 'x\n' });
      remote.commit({ 'app.ts': 'human\n', 'README.md': 'hi\n' }, 'someone starts main');
      expect(await workspaces.checkMergeable(ws)).toEqual({ clean: false, conflicts: ['app.ts'] });
    });

    it('keeps the empty base when a set-up retry prepares again after main was pushed: the reused branch is still on it', async () => {
      const { remote, workspaces } = setup({}, {});
      const first = await workspaces.prepare(request(remote, AGENT_A));
      // setUpAgent discards the worktree when its sandbox fails; the retry finds the branch and reuses it.
      await workspaces.discard(first);
      remote.commit({ 'app.ts': 'human\n' }, 'someone starts main');

      const again = await workspaces.prepare(request(remote, AGENT_A));
      expect([again.emptyBase, again.baseSha]).toEqual([true, first.baseSha]);
      expect(readdirSync(again.path)).toEqual(['.git']);
      await work(workspaces, again, { 'app.ts': 'agent\n' });
      expect(await workspaces.diffAgainstBase(again)).toContain('+agent');
      expect(await workspaces.checkMergeable(again)).toEqual({ clean: false, conflicts: ['app.ts'] });
    });

    it("gives a reviewer of an agent's branch everything it holds when the base branch does not exist yet; a missing base is still bad input elsewhere", async () => {
      const { remote, workspaces } = setup({}, {});
      const a = await workspaces.prepare(request(remote, AGENT_A));
      await work(workspaces, a, { 'hello.txt': 'hello\n' });
      await workspaces.push(a);
      const reviewer = await workspaces.prepare({ ...request(remote, AGENT_B, 'T-2'), baseBranch: a.branch });
      expect(reviewer.emptyBase).toBeUndefined();
      expect(await workspaces.diffFrom(reviewer, 'main')).toMatch(/new file mode[\s\S]*\+hello/);

      remote.commit({ 'README.md': 'hi\n' }, 'work on trunk', 'trunk');
      const other = await workspaces.prepare({ ...request(remote, '9c0d1e2f-0000-4000-8000-00000000000c', 'T-3'), baseBranch: 'trunk' });
      await expect(workspaces.diffFrom(other, 'main')).rejects.toMatchObject({ type: 'InvalidInput' });
    });

    it("reports a missing agent branch as BranchNotFound: a reviewer of a branch never pushed gets no empty workspace to approve", async () => {
      const { remote, workspaces } = setup({}, {});
      const a = await workspaces.prepare(request(remote, AGENT_A));
      await work(workspaces, a, { 'hello.txt': 'hello\n' });
      await workspaces.push(a);
      await expect(workspaces.prepare({ ...request(remote, AGENT_B, 'T-2'), baseBranch: 'agent/T-9/0badc0de' })).rejects.toMatchObject({ type: 'BranchNotFound' });
    });

    it('still reports a missing base branch as BranchNotFound when the repository has other branches, naming them (a default branch called master)', async () => {
      const { remote, workspaces } = setup({}, {});
      remote.commit({ 'README.md': 'hi\n' }, 'work on master', 'master');
      const a = await workspaces.prepare({ ...request(remote, AGENT_A), baseBranch: 'master' });
      await work(workspaces, a, { 'hello.txt': 'hello\n' });
      await workspaces.push(a);
      await expect(workspaces.prepare(request(remote, AGENT_B, 'T-2'))).rejects.toMatchObject({
        type: 'BranchNotFound',
        message: expect.stringMatching(/"main" does not exist in .* \(its branches: "master"\)$/),
      });
    });

    it('names no part of a token a branch of the repository is named after: each name is redacted before it is cut short', async () => {
      const { remote, workspaces } = setup({}, {});
      // 108 characters, past the 80 a name is cut to: its first 80 alone are no longer recognised.
      const key = `sk-ant-api03-${'Zq7xK2mN9pW4rT6vB1cD8fGh'.repeat(4).slice(0, 93)}AA`;
      remote.commit({ 'README.md': 'hi\n' }, 'pushed under a pasted key', key);
      const failure = await workspaces.prepare(request(remote, AGENT_A)).catch((err: unknown) => toActivityFailure(err));
      expect(failure).toMatchObject({ type: 'BranchNotFound', message: expect.stringContaining('(its branches: "') });
      expect((failure as Error).message).not.toContain(key.slice(13, 40));
    });
  });

  it('reports an unknown base branch as BranchNotFound, which is not retried', async () => {
    const { remote, workspaces } = setup();
    await expect(workspaces.prepare({ ...request(remote, AGENT_A), baseBranch: 'does-not-exist' })).rejects.toMatchObject({
      type: 'BranchNotFound',
      retryable: false,
      message: expect.stringContaining('"does-not-exist" does not exist'),
    });
  });

  it('refuses to push the base branch or anything outside agent/', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote, AGENT_A));
    const mainBefore = remote.sha('refs/heads/main');
    await expect(workspaces.push({ ...ws, branch: 'main' })).rejects.toMatchObject({ type: 'InvalidInput' });
    await expect(workspaces.push({ ...ws, baseBranch: ws.branch })).rejects.toBeInstanceOf(GitInputError);
    await expect(workspaces.push({ ...ws, branch: 'release/1.0' })).rejects.toBeInstanceOf(GitInputError);
    expect(remote.sha('refs/heads/main')).toBe(mainBefore);
  });

  it('refuses a workspace whose path points outside the workspace root', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote, AGENT_A));
    await expect(workspaces.stageAll({ ...ws, path: path.join(ws.path, '../../../etc') })).rejects.toMatchObject({
      type: 'PathOutsideWorkspace',
    });
    await expect(workspaces.remove({ ...ws, mirrorPath: '/tmp' })).rejects.toMatchObject({ type: 'PathOutsideWorkspace' });
  });

  it('does not push when push is disabled, and says so', async () => {
    const { remote, workspaces } = setup({ pushEnabled: false });
    const ws = await workspaces.prepare(request(remote, AGENT_A));
    writeFiles(ws.path, { 'a.txt': 'a\n' });
    await workspaces.stageAll(ws);
    await workspaces.commit(ws, 'work');
    const result = await workspaces.push(ws);
    expect(result).toMatchObject({ pushed: false, remoteRef: `refs/heads/${ws.branch}`, skipped: expect.stringContaining('disabled') });
    expect(remote.sha(`refs/heads/${ws.branch}`)).toBeUndefined();
  });

  it('pushes again idempotently, and will not overwrite an agent branch someone else moved', async () => {
    const { remote, workspaces } = setup();
    const ws = await workspaces.prepare(request(remote, AGENT_A));
    writeFiles(ws.path, { 'a.txt': 'a\n' });
    await workspaces.stageAll(ws);
    await workspaces.commit(ws, 'work');
    expect((await workspaces.push(ws)).pushed).toBe(true);
    expect((await workspaces.push(ws)).pushed).toBe(true);

    const foreign = remote.commit({ 'b.txt': 'someone else\n' }, 'foreign push', ws.branch);
    writeFiles(ws.path, { 'a.txt': 'a2\n' });
    await workspaces.stageAll(ws);
    await workspaces.commit(ws, 'more work');
    await expect(workspaces.push(ws)).rejects.toBeInstanceOf(GitCommandFailedError);
    expect(remote.sha(`refs/heads/${ws.branch}`)).toBe(foreign);
  });

  it('never shows the https token in an error message', async () => {
    const token = 'ghp_S3cretT0kenThatMustNeverLeak0123456789';
    const { remote, deps, workspaces } = setup({
      allowedSchemes: ['file', 'https'],
      credentials: { httpsToken: token, httpsUsername: 'x-access-token' },
    });
    const ws = await workspaces.prepare(request(remote, AGENT_A));
    writeFiles(ws.path, { 'a.txt': 'a\n' });
    await workspaces.stageAll(ws);
    await workspaces.commit(ws, 'work');
    git(['config', 'remote.origin.url', 'https://127.0.0.1:9/repo.git'], ws.mirrorPath); // nothing listens on port 9

    const error = await workspaces.push(ws).then(
      () => undefined,
      (err: unknown) => err as Error,
    );

    expect(error).toBeInstanceOf(GitCommandFailedError);
    expect(error!.message).toMatch(/127\.0\.0\.1/);
    expect(error!.message).not.toContain(token);
    expect(JSON.stringify(deps.logs)).not.toContain(token);
    expect(readFileSync(path.join(ws.mirrorPath, 'config'), 'utf8')).not.toContain(token);
  });

  it('removes git lock files a crashed process left, while holding the repository lock', async () => {
    const { remote, workspaces } = setup();
    const first = await workspaces.prepare(request(remote, AGENT_A));
    remote.commit({ 'README.md': 'moved\n' }, 'upstream moves');
    const stale = path.join(first.mirrorPath, 'refs', 'remotes', 'origin', 'main.lock');
    writeFileSync(stale, '');
    const longAgo = new Date(Date.now() - 60_000);
    utimesSync(stale, longAgo, longAgo);

    const second = await workspaces.prepare(request(remote, AGENT_B));

    expect(existsSync(stale)).toBe(false);
    expect(second.baseSha).toBe(remote.sha('refs/heads/main'));
  });
});
