/**
 * Kills that land at awkward moments of a run, through the real workflow and worker: the final
 * status must say what really happened to the agent's work and resources.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { keys } from '../state/keys';
import { createRemoteRepo, nodeProjectFiles, remoteBranches, showFile } from './support/git-fixtures';
import { eventually, resultWithin, startHarness, type Harness } from './support/harness';

const bash = (command: string) => ({ name: 'bash' as const, input: { command } });

describe('kills racing a run', () => {
  let h: Harness;
  let tmp: string;
  beforeAll(async () => {
    h = await startHarness();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'kill-races-'));
  });
  afterAll(async () => {
    await h?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  /**
   * The remote updates the ref before post-receive runs: from then on the push has landed, and
   * the pushing git waits `hookSeconds` for the hook. The kill arrives then.
   */
  const killDuringPush = async (taskId: string, hookSeconds: number) => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const landed = path.join(tmp, `${taskId}-landed`);
    writeFileSync(path.join(remote.dir, 'hooks', 'post-receive'), `#!/bin/sh\ncat > ${landed}.tmp; mv ${landed}.tmp ${landed}; sleep ${hookSeconds}\n`, { mode: 0o755 });
    h.fakeModel.script(taskId, [{ tools: [bash('echo work > work.txt')] }, { text: 'Done.' }]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const agentId = handle.workflowId.replace('agent-', '');
    const branch = `refs/heads/agent/${taskId}/${agentId.slice(0, 8)}`;
    await eventually(async () => existsSync(landed), 60_000, 'the push to land on the remote');
    await handle.signal('kill', { reason: 'stop during the push' });
    const final = await resultWithin(handle, 60_000);
    return { final, onRemote: remoteBranches(remote.dir).includes(branch) };
  };

  it('a kill that arrives while the push is on the wire lets it finish: the run ends completed with the branch pushed', async () => {
    const { final, onRemote } = await killDuringPush('T-kill-during-push', 3);
    expect(onRemote).toBe(true);
    expect(final.status).toBe('completed');
    expect(final.result?.pushed).toBe(true);
  }, 120_000);

  it('a push that a kill cuts after it landed is reported pushed: never `killed` with the branch on the remote', async () => {
    // The hook outlasts the push's grace after the kill: the push is cut, and the remote has the branch.
    const { final, onRemote } = await killDuringPush('T-kill-cuts-push', 40);
    expect(onRemote).toBe(true);
    expect(final.status).toBe('completed');
    expect(final.result?.pushed).toBe(true);
  }, 120_000);

  it('a run terminated while its push is on the wire (a forced kill) has the push cut: the branch never lands after `killed` was recorded', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-terminated-during-push';
    // pre-receive runs before the remote updates the ref: while it waits, the push has not landed.
    const started = path.join(tmp, `${taskId}-started`);
    writeFileSync(path.join(remote.dir, 'hooks', 'pre-receive'), `#!/bin/sh\ncat > /dev/null; touch ${started}; sleep 6\n`, { mode: 0o755 });
    h.fakeModel.script(taskId, [{ tools: [bash('echo work > work.txt')] }, { text: 'Done.' }]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const agentId = handle.workflowId.replace('agent-', '');
    await eventually(async () => existsSync(started), 60_000, 'the push to reach the remote');
    // What the killswitch does when it forces a kill: terminate, then record `killed` itself.
    await handle.terminate('killed: forced');
    // Past the hook's wait and the push's grace: a push left running would have landed by now.
    await new Promise((r) => setTimeout(r, 12_000));
    expect(remoteBranches(remote.dir)).not.toContain(`refs/heads/agent/${taskId}/${agentId.slice(0, 8)}`);
  }, 120_000);

  it('a host that lost its disk between two turns is left for another: the next turn runs on the rebuilt worktree', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-disk-lost-before-turn';
    h.fakeModel.script(taskId, [{ tools: [bash('echo a > a.txt')] }, { tools: [bash('echo b > b.txt')], delayMs: 4000 }, { text: 'Done.' }]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const agentId = handle.workflowId.replace('agent-', '');
    await eventually(async () => h.fakeModel.requestsFor(taskId).length === 2, 60_000, 'the second model call');
    // The host loses its disk (worktree and mirror) while the model writes turn 2, whose tools come next.
    rmSync(path.join(h.workspaceRoot, 'worktrees', agentId), { recursive: true, force: true });
    rmSync(path.join(h.workspaceRoot, 'mirrors'), { recursive: true, force: true });
    const final = await resultWithin(handle, 90_000);
    expect(final.status).toBe('completed');
    const rebuilt = (await handle.fetchHistory()).events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'rebuildWorkspace');
    expect(rebuilt.length).toBe(1);
    expect(showFile(remote.dir, final.result!.branch!, 'a.txt')).toBe('a');
    expect(showFile(remote.dir, final.result!.branch!, 'b.txt')).toBe('b');
  }, 150_000);

  it('kills landing around a continue-as-new (one every turn) end killed, with the worktree and home gone', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    for (const [i, killAfterMs] of [0, 150, 400].entries()) {
      const taskId = `T-kill-around-can-${i}`;
      const turn = { tools: [bash('echo more >> log.txt')] };
      h.fakeModel.script(taskId, Array.from({ length: 40 }, () => turn));
      const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', turnsPerRun: 1 });
      const agentId = handle.workflowId.replace('agent-', '');
      await eventually(async () => h.fakeModel.requestsFor(taskId).length >= 3, 60_000, 'a few turns');
      await new Promise((r) => setTimeout(r, killAfterMs));
      await handle.signal('kill', { reason: 'around continue-as-new' });
      const final = await resultWithin(handle, 60_000);
      // Before: a kill that came while the run's last tool batch finished was lost with the continue-as-new, and the agent went on to its turn budget.
      expect(final.status).toBe('killed');
      expect(final.error).toBe('killed: around continue-as-new');
      expect(h.fakeModel.requestsFor(taskId).length).toBeLessThan(10);
      expect(existsSync(path.join(h.workspaceRoot, 'worktrees', agentId))).toBe(false);
      expect(existsSync(h.services.homes.pathFor(agentId))).toBe(false);
      const stored = JSON.parse((await h.redis.get(keys.agent(agentId)))!) as { status: string };
      expect(stored.status).toBe('killed');
    }
  }, 240_000);

  it('a kill sent before the run\'s first workflow task ends it killed before any work: no worktree, no model call', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-kill-before-start';
    await h.stopWorker();
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const agentId = handle.workflowId.replace('agent-', '');
    await handle.signal('kill', { reason: 'changed my mind' });
    await h.startWorker();
    const final = await resultWithin(handle, 60_000);
    expect(final).toMatchObject({ status: 'killed', error: 'killed: changed my mind' });
    expect(final.startedAt).toBeUndefined();
    expect(h.fakeModel.requestsFor(taskId)).toHaveLength(0);
    expect(existsSync(path.join(h.workspaceRoot, 'worktrees', agentId))).toBe(false);
    expect(JSON.parse((await h.redis.get(keys.agent(agentId)))!)).toMatchObject({ status: 'killed', phase: 'done' });
  }, 120_000);

  it('a kill during a long gate stops it: killed within seconds, nothing pushed, no worktree, gate checkout or gate process left', async () => {
    const remote = createRemoteRepo(nodeProjectFiles({ 'package.json': JSON.stringify({ name: 'slow', version: '1.0.0', scripts: { test: 'sleep 45 && echo gate-finished' } }) }));
    const taskId = 'T-kill-during-gate';
    h.fakeModel.script(taskId, [{ tools: [bash('echo work > work.txt')] }, { text: 'Done.' }]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const agentId = handle.workflowId.replace('agent-', '');
    await eventually(async () => JSON.parse((await h.redis.get(keys.agent(agentId))) ?? '{}').phase === 'pre-commit-gates', 60_000, 'the gates');
    await new Promise((r) => setTimeout(r, 1500)); // the gate command runs
    const t0 = Date.now();
    await handle.signal('kill', { reason: 'stop the gate' });
    const final = await resultWithin(handle, 60_000);
    expect(final.status).toBe('killed');
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(remoteBranches(remote.dir)).toEqual(['refs/heads/main']);
    expect(existsSync(path.join(h.workspaceRoot, 'worktrees', agentId))).toBe(false);
    expect(existsSync(path.join(h.workspaceRoot, 'gate-checkouts', agentId))).toBe(false);
    expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((c) => c.includes('sleep 45'))).toEqual([]);
  }, 120_000);

  it('a rebuild that cannot restore the checkpoint leaves no worktree on the host that tried', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-rebuild-fails';
    // The last answer comes late: meanwhile the test takes the host's disk away.
    h.fakeModel.script(taskId, [{ tools: [bash('echo a > a.txt')] }, { text: 'Done.', delayMs: 4000 }]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const agentId = handle.workflowId.replace('agent-', '');
    const worktree = path.join(h.workspaceRoot, 'worktrees', agentId);
    // Turn 1's tools ran and their checkpoint is saved: the model is asked for turn 2.
    await eventually(async () => h.fakeModel.requestsFor(taskId).length === 2, 60_000, 'the second model call');
    expect(await h.redis.hlen(keys.checkpoints(agentId))).toBeGreaterThan(0);
    // The host loses its disk (worktree and mirror), and the checkpoint's pack is gone from Valkey:
    // the agent moves, and its new worktree cannot be restored.
    rmSync(worktree, { recursive: true, force: true });
    rmSync(path.join(h.workspaceRoot, 'mirrors'), { recursive: true, force: true });
    await h.redis.del(keys.checkpointPacks(agentId));
    const err = await resultWithin(handle, 60_000).catch((e: unknown) => e);
    expect((err as { cause?: { type?: string } }).cause?.type).toBe('CheckpointMissing');
    const rebuilt = (await handle.fetchHistory()).events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'rebuildWorkspace');
    expect(rebuilt.length).toBe(1);
    expect(existsSync(worktree)).toBe(false);
  }, 120_000);
});

describe('a set-up that fails at its sandbox', () => {
  let h: Harness;
  const docker = new Docker();
  beforeAll(async () => {
    // An image this engine does not have: the sandbox step fails after the agent's home was made for it.
    h = await startHarness({ SANDBOX_ENABLED: 'true', SANDBOX_IMAGE: 'orchestrator-sandbox-test:never-built', SANDBOX_GRACEFUL_STOP_TIMEOUT_SECONDS: '2' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('leaves no worktree, home or container of the agent behind', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-sandbox-never-starts';
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const agentId = handle.workflowId.replace('agent-', '');
    const err = await resultWithin(handle, 60_000).catch((e: unknown) => e);
    expect((err as { cause?: { type?: string } }).cause?.type).toBe('SandboxImageMissing');
    expect(existsSync(path.join(h.workspaceRoot, 'worktrees', agentId))).toBe(false);
    expect(existsSync(h.services.homes.pathFor(agentId))).toBe(false);
    expect(await docker.listContainers({ all: true, filters: { label: [`orchestrator.agentId=${agentId}`] } })).toEqual([]);
  }, 120_000);
});
