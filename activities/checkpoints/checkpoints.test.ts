/**
 * Workspace checkpoints against real git and the real Valkey: saved on one "host" (a workspace
 * root), rebuilt on another from the same remote, bounded in size, idempotent per turn, and
 * built without ever reading what the agent wrote into its worktree's `.git`.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Redis from 'ioredis';
import { createGitWorkspaces, type GitWorkspaces } from '../git';
import { inspectTree } from '../git/inspect-tree';
import { checkDiskBudget } from '../sandbox/disk-budget';
import { CheckpointStore } from '../../state/checkpoint-store';
import { keys } from '../../state/keys';
import { TranscriptStore } from '../../state/transcript-store';
import { createRemote, git, testDeps, writeFiles, type TestRemote } from '../../test/support/git-workspace-fixtures';
import { connectTestRedis } from '../../test/support/redis';
import { createWorkspaceCheckpoints, type WorkspaceCheckpoints } from './index';

describe('workspace checkpoints', () => {
  let tmp: string;
  let redis: Redis;
  let cases = 0;
  const agents: string[] = [];
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'checkpoints-'));
    redis = connectTestRedis();
  });
  afterAll(async () => {
    await redis.del(...agents.flatMap((a) => [keys.checkpoints(a), keys.checkpointPacks(a), keys.checkpointHost(a), keys.transcript(a)]));
    await redis.quit();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** One remote, and two hosts (workspace roots) that share nothing but it and Valkey. */
  function setup(maxTotalBytes = 64 * 1024 * 1024) {
    const dir = path.join(tmp, `case-${++cases}`);
    const remote = createRemote(path.join(dir, 'remote'), { 'README.md': 'hello\n', 'src/app.ts': 'export const x = 1;\n', 'old.txt': 'to be deleted\n' });
    const store = new CheckpointStore(redis, { maxTotalBytes });
    const host = (name: string): { workspaces: GitWorkspaces; checkpoints: WorkspaceCheckpoints } => {
      const workspaces = createGitWorkspaces({ ...testDeps(path.join(dir, name)), host: { id: name, taskQueue: `q@${name}` } });
      return { workspaces, checkpoints: createWorkspaceCheckpoints({ workspaces, store }) };
    };
    const agentId = randomUUID();
    agents.push(agentId);
    return { remote, store, a: host('host-a'), b: host('host-b'), agentId };
  }
  const request = (remote: TestRemote, agentId: string) => ({ agentId, taskId: 'T-ckpt', repository: remote.url, baseBranch: 'main' });

  it('rebuilds tracked, untracked, binary, deleted, executable and symlinked changes on another host, as uncommitted work', async () => {
    const { remote, a, b, agentId } = setup();
    const wsA = await a.workspaces.prepare(request(remote, agentId));
    const binary = randomBytes(200_000);
    writeFiles(wsA.path, { 'src/app.ts': 'export const x = 2;\n', 'notes/new.md': 'untracked\n', '.gitignore': 'build/\n', 'build/out.js': 'ignored\n' });
    writeFileSync(path.join(wsA.path, 'image.bin'), binary);
    writeFileSync(path.join(wsA.path, 'run.sh'), '#!/bin/sh\necho hi\n');
    chmodSync(path.join(wsA.path, 'run.sh'), 0o755);
    symlinkSync('README.md', path.join(wsA.path, 'link'));
    unlinkSync(path.join(wsA.path, 'old.txt'));
    const saved = await a.checkpoints.save(wsA, agentId, 1);
    expect(saved).toMatchObject({ agentId, turn: 1, baseSha: wsA.baseSha, skipped: [] });
    expect(saved.packBytes).toBeGreaterThan(binary.length * 0.9);

    // The remote moved on meanwhile: the rebuild still starts from the agent's own base.
    remote.commit({ 'README.md': 'changed upstream\n' }, 'upstream');
    const wsB = await b.workspaces.prepare({ ...request(remote, agentId), baseSha: wsA.baseSha });
    expect(wsB.host.id).toBe('host-b');
    expect(wsB.baseSha).toBe(wsA.baseSha);
    const restored = await b.checkpoints.restore(wsB, agentId, { agentId, turn: 1 });
    expect(restored?.turn).toBe(1);

    expect(readFileSync(path.join(wsB.path, 'src/app.ts'), 'utf8')).toBe('export const x = 2;\n');
    expect(readFileSync(path.join(wsB.path, 'notes/new.md'), 'utf8')).toBe('untracked\n');
    expect(readFileSync(path.join(wsB.path, 'image.bin')).equals(binary)).toBe(true);
    expect(lstatSync(path.join(wsB.path, 'run.sh')).mode & 0o111).not.toBe(0);
    expect(readlinkSync(path.join(wsB.path, 'link'))).toBe('README.md');
    expect(readFileSync(path.join(wsB.path, 'README.md'), 'utf8')).toBe('hello\n');
    expect(existsSync(path.join(wsB.path, 'old.txt'))).toBe(false);
    expect(existsSync(path.join(wsB.path, 'build/out.js'))).toBe(false); // ignored files are not part of the work
    // The branch and index stay at the base: the changes are uncommitted work, as they were on host A.
    const status = git(['--git-dir', path.join(wsB.mirrorPath, 'worktrees', agentId), '--work-tree', wsB.path, 'status', '--porcelain', '--untracked-files=all']);
    expect(status.split('\n').map((l) => l.trim()).sort()).toEqual(['?? .gitignore', '?? image.bin', '?? link', '?? notes/new.md', '?? run.sh', 'D old.txt', 'M src/app.ts']);
    expect(git(['rev-parse', `refs/heads/${wsB.branch}`], wsB.mirrorPath)).toBe(wsA.baseSha);
  });

  it('saves each turn incrementally and idempotently, and a restore reads the whole chain', async () => {
    const { remote, a, b, store, agentId } = setup();
    const wsA = await a.workspaces.prepare(request(remote, agentId));
    const big = randomBytes(1_000_000);
    writeFileSync(path.join(wsA.path, 'big.bin'), big);
    const first = await a.checkpoints.save(wsA, agentId, 1);
    writeFiles(wsA.path, { 'small.txt': 'turn 2\n' });
    const second = await a.checkpoints.save(wsA, agentId, 2);
    const again = await a.checkpoints.save(wsA, agentId, 2);
    const unchanged = await a.checkpoints.save(wsA, agentId, 3);

    expect(second.parentTurn).toBe(1);
    expect(second.packBytes).toBeLessThan(10_000); // only what turn 2 added
    expect(again).toMatchObject({ commit: second.commit, packBytes: second.packBytes, totalBytes: second.totalBytes });
    expect(unchanged).toMatchObject({ commit: second.commit, packBytes: 0, parentTurn: 2 });
    // The packs, and the three records (a few hundred bytes each).
    expect(unchanged.totalBytes - first.packBytes - second.packBytes).toBeGreaterThan(0);
    expect(unchanged.totalBytes - first.packBytes - second.packBytes).toBeLessThan(3000);
    expect((await store.list(agentId)).map((r) => r.turn)).toEqual([1, 2, 3]);

    const wsB = await b.workspaces.prepare({ ...request(remote, agentId), baseSha: wsA.baseSha });
    expect((await b.checkpoints.restore(wsB, agentId, { agentId, turn: 99 }))?.turn).toBe(3);
    expect(readFileSync(path.join(wsB.path, 'big.bin')).equals(big)).toBe(true);
    expect(readFileSync(path.join(wsB.path, 'small.txt'), 'utf8')).toBe('turn 2\n');

    // Host B goes on from there: its next checkpoint builds on the restored one.
    writeFiles(wsB.path, { 'small.txt': 'turn 4\n' });
    const fourth = await b.checkpoints.save(wsB, agentId, 4);
    expect(fourth.parentTurn).toBe(3);
    expect(fourth.packBytes).toBeLessThan(10_000);

    // A link of the chain gone from Valkey: the rebuild fails naming it, never restores half.
    await redis.hdel(keys.checkpointPacks(agentId), '1');
    const wsA2 = await a.workspaces.prepare({ ...request(remote, agentId), baseSha: wsA.baseSha });
    await expect(a.checkpoints.restore(wsA2, agentId, { agentId, turn: 4 })).rejects.toMatchObject({ type: 'CheckpointMissing', message: expect.stringContaining('the pack of turn 1') });
  });

  it('writes the commit git would write, byte for byte: the same id as commit-tree, on the base and on a previous checkpoint', async () => {
    const { remote, a, b, agentId } = setup();
    const ws = await a.workspaces.prepare(request(remote, agentId));
    writeFiles(ws.path, { 'one.txt': 'turn 1\n' });
    const first = await a.checkpoints.save(ws, agentId, 1);
    writeFiles(ws.path, { 'two.txt': 'turn 2\n' });
    const second = await a.checkpoints.save(ws, agentId, 2);
    const repoOf = (on: { path: string }) => path.join(path.dirname(on.path), '..', 'checkpoints', `${agentId}.git`);
    const repo = repoOf(ws);
    const env = { ...process.env, GIT_AUTHOR_NAME: 'orchestrator checkpoint', GIT_AUTHOR_EMAIL: 'checkpoint@orchestrator.local', GIT_COMMITTER_NAME: 'orchestrator checkpoint', GIT_COMMITTER_EMAIL: 'checkpoint@orchestrator.local', GIT_AUTHOR_DATE: '@0 +0000', GIT_COMMITTER_DATE: '@0 +0000' };
    const byGit = (tree: string, parent: string, inRepo = repo) => execFileSync('git', ['--git-dir', inRepo, 'commit-tree', tree, '-p', parent], { env, input: `checkpoint of ${agentId}\n` }).toString().trim();
    expect(existsSync(repo)).toBe(true);
    expect(first.commit).toBe(byGit(first.tree, ws.baseSha));
    expect(second.commit).toBe(byGit(second.tree, first.commit));
    execFileSync('git', ['--git-dir', repo, 'fsck', '--no-dangling', second.commit]);

    // On a host that restored the chain from packs, git writes the next one (its parent is packed): same chain.
    const wsB = await b.workspaces.prepare({ ...request(remote, agentId), baseSha: ws.baseSha });
    await b.checkpoints.restore(wsB, agentId, { agentId, turn: 2 });
    writeFiles(wsB.path, { 'three.txt': 'turn 3\n' });
    writeFiles(ws.path, { 'three.txt': 'turn 3\n' });
    const onB = await b.checkpoints.save(wsB, agentId, 3);
    expect(onB.parentTurn).toBe(2);
    expect(onB.commit).toBe(byGit(onB.tree, second.commit, repoOf(wsB)));
  });

  it('goes on without the previous checkpoint\'s objects on this host: unchanged is that checkpoint again, a change starts over on the base', async () => {
    const { remote, a, b, agentId } = setup();
    const ws = await a.workspaces.prepare(request(remote, agentId));
    writeFiles(ws.path, { 'one.txt': 'turn 1\n' });
    const first = await a.checkpoints.save(ws, agentId, 1);
    await a.workspaces.removeCheckpointRepo(agentId);

    // Known from its record (commit and tree), so nothing is built, with or without its objects here.
    const unchanged = await a.checkpoints.save(ws, agentId, 2);
    expect(unchanged).toMatchObject({ commit: first.commit, tree: first.tree, packBytes: 0, parentTurn: 1 });

    await a.workspaces.removeCheckpointRepo(agentId);
    writeFiles(ws.path, { 'two.txt': 'turn 3\n' });
    const third = await a.checkpoints.save(ws, agentId, 3);
    expect(third.parentTurn).toBeUndefined(); // its parent could not be named: a new chain on the base, whole
    expect(third.commit).not.toBe(first.commit);

    const wsB = await b.workspaces.prepare({ ...request(remote, agentId), baseSha: ws.baseSha });
    expect((await b.checkpoints.restore(wsB, agentId, { agentId, turn: 3 }))?.turn).toBe(3);
    expect(readFileSync(path.join(wsB.path, 'one.txt'), 'utf8')).toBe('turn 1\n');
    expect(readFileSync(path.join(wsB.path, 'two.txt'), 'utf8')).toBe('turn 3\n');
  });

  it("refuses the checkpoint and tool results of a host the agent was moved off: the rebuild's host owns them from its restore on", async () => {
    const { remote, a, b, agentId } = setup();
    const transcripts = new TranscriptStore(redis);
    const wsA = await a.workspaces.prepare(request(remote, agentId));
    writeFiles(wsA.path, { 'one.txt': 'turn 1\n' });
    await a.checkpoints.save(wsA, agentId, 1);
    expect(await a.checkpoints.claimedBy(agentId, wsA.host.id)).toBe(false); // never moved: no claim
    // Host A is cut off from Temporal, not dead: the agent is rebuilt on B from turn 1 while A's batch of turn 2 still runs.
    const wsB = await b.workspaces.prepare({ ...request(remote, agentId), baseSha: wsA.baseSha });
    expect((await b.checkpoints.restore(wsB, agentId, { agentId, turn: 2 }))?.turn).toBe(1);
    // Only B may replace a push of the agent's branch that A made (git/push.ts).
    expect([await a.checkpoints.claimedBy(agentId, wsA.host.id), await b.checkpoints.claimedBy(agentId, wsB.host.id)]).toEqual([false, true]);
    writeFiles(wsA.path, { 'two.txt': 'written on A\n' });
    const stale = { role: 'user' as const, content: 'results of the batch on A' };
    await expect(a.checkpoints.save(wsA, agentId, 2, { message: { index: 4, message: stale } })).rejects.toMatchObject({ type: 'CheckpointHostMoved' });
    // Otherwise B would take A's results as its own batch's (a retry's reuse) with a worktree that lacks A's files.
    expect(await transcripts.get(agentId, 4)).toBeNull();
    expect((await a.checkpoints.list(agentId)).map((r) => r.turn)).toEqual([1]);

    writeFiles(wsB.path, { 'two.txt': 'written on B\n' });
    const fresh = { role: 'user' as const, content: 'results of the batch on B' };
    await b.checkpoints.save(wsB, agentId, 2, { message: { index: 4, message: fresh } });
    expect(await transcripts.get(agentId, 4)).toEqual(fresh);
  });

  it('refuses a checkpoint past the bound, writing neither it nor the tool results that came with it', async () => {
    const { remote, a, agentId } = setup(100_000);
    const transcripts = new TranscriptStore(redis);
    const ws = await a.workspaces.prepare(request(remote, agentId));
    writeFileSync(path.join(ws.path, 'huge.bin'), randomBytes(300_000));
    const message = { role: 'user' as const, content: 'tool results' };
    await expect(a.checkpoints.save(ws, agentId, 1, { message: { index: 2, message } })).rejects.toMatchObject({
      type: 'CheckpointTooLarge',
      message: expect.stringContaining('more than CHECKPOINT_MAX_BYTES (0.1 MB)'),
    });
    expect(await a.checkpoints.list(agentId)).toEqual([]);
    expect(await transcripts.get(agentId, 2)).toBeNull();

    rmSync(path.join(ws.path, 'huge.bin'));
    writeFiles(ws.path, { 'ok.txt': 'fine\n' });
    await a.checkpoints.save(ws, agentId, 1, { message: { index: 2, message } });
    expect(await transcripts.get(agentId, 2)).toEqual(message);
  });

  it('holds hard links to the budget as the files a rebuild writes: a worktree within it on one host cannot fill the next', async () => {
    const { remote, a, b, agentId } = setup();
    const ws = await a.workspaces.prepare(request(remote, agentId));
    // One megabyte on this host's disk, linked at forty paths: git stores one blob and checks out forty files.
    writeFileSync(path.join(ws.path, 'blob.bin'), randomBytes(1024 * 1024));
    for (let i = 0; i < 40; i++) linkSync(path.join(ws.path, 'blob.bin'), path.join(ws.path, `link${i}.bin`));
    const budget = { maxBytes: 8 * 1024 * 1024, maxEntries: 10_000 };
    await a.checkpoints.save(ws, agentId, 1);
    const wsB = await b.workspaces.prepare({ ...request(remote, agentId), baseSha: ws.baseSha });
    await b.checkpoints.restore(wsB, agentId, { agentId, turn: 1 });
    expect((await inspectTree(wsB.path)).bytes).toBeGreaterThan(40 * 1024 * 1024);

    // So the tool batch's walk, which comes before every save, counts what a rebuild would write.
    await expect(checkDiskBudget(ws.path, undefined, budget, { signal: new AbortController().signal })).rejects.toMatchObject({ type: 'WorkspaceTooLarge' });
  });

  it('counts what each record stores against the bound: long paths of nested repositories cannot fill Valkey turn after turn', async () => {
    const maxTotalBytes = 1024 * 1024;
    const { remote, a, agentId } = setup(maxTotalBytes);
    const ws = await a.workspaces.prepare(request(remote, agentId));
    // Two hundred nested repositories under a 2000-character path: each turn's record lists them all (400 kB), its pack is empty.
    const deep = path.join(ws.path, ...Array.from({ length: 10 }, (_, i) => `${i}`.repeat(200)));
    for (let i = 0; i < 200; i++) mkdirSync(path.join(deep, `r${i}`, '.git'), { recursive: true });
    const outcomes: string[] = [];
    for (let turn = 1; turn <= 5; turn++) {
      outcomes.push(await a.checkpoints.save(ws, agentId, turn).then(() => 'saved', (e: { type?: string }) => e.type ?? 'error'));
    }
    const stored = async (key: string) => {
      const fields = await redis.hkeys(key);
      return (await Promise.all(fields.map((f) => redis.hstrlen(key, f)))).reduce((sum, n) => sum + n, 0);
    };
    expect((await stored(keys.checkpoints(agentId))) + (await stored(keys.checkpointPacks(agentId)))).toBeLessThanOrEqual(maxTotalBytes);
    expect(outcomes).toContain('CheckpointTooLarge');
  });

  it('never reads the .git the agent wrote, and leaves nested repositories out without entering them', async () => {
    const { remote, a, b, agentId } = setup();
    const ws = await a.workspaces.prepare(request(remote, agentId));
    const marker = path.join(tmp, `pwned-${agentId}`);
    const script = path.join(tmp, `hook-${agentId}.sh`);
    writeFileSync(script, `#!/bin/sh\necho "$@" >> ${marker}\n`);
    chmodSync(script, 0o755);
    // The worktree's .git pointer replaced by a repository with hooks, an fsmonitor and a filter driver.
    rmSync(path.join(ws.path, '.git'), { force: true });
    execFileSync('git', ['init', '-q', path.join(ws.path, '.git-init')]);
    execFileSync('mv', [path.join(ws.path, '.git-init', '.git'), path.join(ws.path, '.git')]);
    rmSync(path.join(ws.path, '.git-init'), { recursive: true });
    writeFileSync(path.join(ws.path, '.git', 'config'), `[core]\n\tfsmonitor = ${script}\n\thooksPath = ${path.dirname(script)}\n[filter "evil"]\n\tclean = ${script}\n\trequired = true\n`);
    writeFiles(ws.path, { '.gitattributes': '* filter=evil\n', 'work.txt': 'real work\n' });
    // A nested repository whose HEAD is a FIFO: git would block reading it.
    mkdirSync(path.join(ws.path, 'vendor/trap/.git'), { recursive: true });
    execFileSync('mkfifo', [path.join(ws.path, 'vendor/trap/.git/HEAD')]);
    writeFiles(ws.path, { 'vendor/trap/file.txt': 'inside\n', 'vendor/kept.txt': 'kept\n' });

    const saved = await a.checkpoints.save(ws, agentId, 1);
    expect(existsSync(marker)).toBe(false);
    expect(saved.skipped).toEqual(['vendor/trap']);

    const wsB = await b.workspaces.prepare({ ...request(remote, agentId), baseSha: ws.baseSha });
    await b.checkpoints.restore(wsB, agentId, { agentId, turn: 1 });
    expect(readFileSync(path.join(wsB.path, 'work.txt'), 'utf8')).toBe('real work\n');
    expect(readFileSync(path.join(wsB.path, 'vendor/kept.txt'), 'utf8')).toBe('kept\n');
    expect(existsSync(path.join(wsB.path, 'vendor/trap'))).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });

  it('leaves out every nested repository, not only the first few, and refuses a worktree with a thousand of them', async () => {
    const { remote, a, agentId } = setup();
    const ws = await a.workspaces.prepare(request(remote, agentId));
    // Thirty nested repositories, the last one a trap: a FIFO as HEAD blocks a git that enters it.
    for (let i = 0; i < 30; i++) mkdirSync(path.join(ws.path, `vendor/r${String(i).padStart(2, '0')}/.git`), { recursive: true });
    execFileSync('mkfifo', [path.join(ws.path, 'vendor/r29/.git/HEAD')]);
    writeFiles(ws.path, { 'vendor/r29/file.txt': 'inside\n', 'work.txt': 'real work\n' });
    const saved = await a.checkpoints.save(ws, agentId, 1);
    expect(saved.skipped).toHaveLength(30);

    for (let i = 30; i < 1000; i++) mkdirSync(path.join(ws.path, `vendor/r${i}/.git`), { recursive: true });
    await expect(a.checkpoints.save(ws, agentId, 2)).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('nested .git entries') });
  });

  it('keeps its objects out of the mirror, and cleanup and delete remove them', async () => {
    const { remote, a, agentId } = setup();
    const ws = await a.workspaces.prepare(request(remote, agentId));
    writeFiles(ws.path, { 'only-in-checkpoint.txt': 'x'.repeat(1000) });
    const saved = await a.checkpoints.save(ws, agentId, 1);
    const blob = git(['hash-object', path.join(ws.path, 'only-in-checkpoint.txt')]);
    expect(() => git(['cat-file', '-e', blob], ws.mirrorPath)).toThrow();
    const repo = path.join(path.dirname(path.dirname(ws.path)), 'checkpoints', `${agentId}.git`);
    expect(git(['--git-dir', repo, 'cat-file', '-t', saved.commit])).toBe('commit');

    await a.checkpoints.delete(agentId);
    expect(existsSync(repo)).toBe(false);
    expect(await a.checkpoints.list(agentId)).toEqual([]);
  });
});
