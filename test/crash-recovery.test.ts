/**
 * A worker process killed with SIGKILL in the middle of an agent run: a new worker picks the run
 * up from its history and finishes it, and no model turn that had already been answered is asked
 * again. The killed worker is a real `tsx worker/main.ts` process in its own process group.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { WorkspaceInfo } from '../domain/agent';
import { workflowClosedCheck } from '../worker/closed-check';
import type { agentRun } from '../workflows';
import { activityRecords } from './support/activity-history';
import { createRemoteRepo, git, nodeProjectFiles, showFile } from './support/git-fixtures';
import { eventually, startHarness, type Harness } from './support/harness';
import type { RecordedRequest } from './support/fake-model';
import { WorkerProcess, workflowBundleFile } from './support/worker-process';

/** Generous for a loaded 2-core machine: the child loads a prebuilt bundle, but tsx still compiles the worker. */
const WORKER_START_MS = 90_000;
const WORKER_PICKUP_MS = 90_000;
const CRASH_TEST_TIMEOUT_MS = 300_000;

describe('a worker killed mid-run', () => {
  let h: Harness;
  let child: WorkerProcess | undefined;
  let bundleDir: string;

  beforeAll(async () => {
    h = await startHarness({}, { worker: false });
    bundleDir = mkdtempSync(path.join(os.tmpdir(), 'crash-bundle-'));
  });
  afterEach(async () => {
    await child?.kill();
    child = undefined;
    await h.stopWorker();
  });
  afterAll(async () => {
    await h?.close();
    rmSync(bundleDir, { recursive: true, force: true });
  });

  /**
   * `tsx worker/main.ts` in its own process group, as the same host as the harness's in-process
   * worker (same WORKSPACE_ROOT and host id), so the restarted worker picks up the host's queue.
   * It loads the workflows prebuilt (no webpack run at start) and is waited for until it polls.
   */
  const startWorkerProcess = async () => {
    const bundle = await workflowBundleFile(bundleDir);
    child = new WorkerProcess(h.host.id, h.workspaceRoot, { ...h.env, LOG_LEVEL: 'info', WORKFLOW_BUNDLE_PATH: bundle });
    child.start();
    await child.started(WORKER_START_MS);
  };

  /** SIGKILL to the worker's whole process group; waits for the exit. */
  const killWorkerProcess = async () => {
    await child?.kill();
    child = undefined;
  };

  /** Waits for `what` while failing fast, with the worker's output, if the worker process dies first. */
  const waitWhileWorkerRuns = (fn: () => Promise<boolean>, what: string) =>
    eventually(
      async () => {
        if (child && !child.running) throw new Error(`the worker process exited before ${what}:\n${child.output}`);
        return fn();
      },
      WORKER_PICKUP_MS,
      what,
    );

  const agentIdOf = (handle: WorkflowHandle) => handle.workflowId.replace(/^agent-/, '');
  const worktreeOf = (agentId: string) => path.join(h.workspaceRoot, 'worktrees', agentId);
  /** How many requests the model got for each conversation length (one length = one turn). */
  const requestsPerTurn = (reqs: RecordedRequest[]) => {
    const counts = new Map<number, number>();
    for (const r of reqs) counts.set(r.body.messages.length, (counts.get(r.body.messages.length) ?? 0) + 1);
    return Object.fromEntries(counts);
  };

  it(
    'resumes a run killed during a tool run on a new worker, re-running the batch but no model turn',
    async () => {
      const remote = createRemoteRepo(nodeProjectFiles());
      const taskId = 'T-crash-tool';
      h.fakeModel.script(taskId, [{ tools: [{ name: 'bash', input: { command: 'echo start > started.txt; sleep 6; echo done > slept.txt' } }] }, { text: 'Done.' }]);
      await startWorkerProcess();
      const handle: WorkflowHandle<typeof agentRun> = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
      const agentId = agentIdOf(handle);

      await waitWhileWorkerRuns(async () => existsSync(path.join(worktreeOf(agentId), 'started.txt')), 'the tool run to start');
      expect(h.fakeModel.requestsFor(taskId)).toHaveLength(1);
      expect(existsSync(path.join(worktreeOf(agentId), 'slept.txt'))).toBe(false);
      await killWorkerProcess();

      await h.startWorker();
      const final = await handle.result();

      expect(final.status).toBe('completed');
      // Turn 1 before the crash, turn 2 after it: the tool batch ran again (at least once), the model was not asked again.
      const reqs = h.fakeModel.requestsFor(taskId);
      expect(reqs).toHaveLength(2);
      expect(reqs.map((r) => r.body.messages.length)).toEqual([1, 3]);
      expect(JSON.stringify(reqs[1]!.body.messages[2])).toContain('[exit code 0]');
      expect(final.result).toMatchObject({ turns: 2, pushed: true });
      const branch = final.result!.branch!;
      expect(showFile(remote.dir, branch, 'slept.txt')).toBe('done');
      expect(git(remote.dir, 'rev-parse', branch)).toBe(final.result?.commitSha);
      expect(existsSync(worktreeOf(agentId))).toBe(false);
    },
    CRASH_TEST_TIMEOUT_MS,
  );

  it(
    'resumes a run killed during a model call: only the unanswered turn is asked again',
    async () => {
      const remote = createRemoteRepo(nodeProjectFiles());
      const taskId = 'T-crash-model';
      const firstTurn = { tools: [{ name: 'bash' as const, input: { command: 'echo one > one.txt' } }] };
      // The fake model counts the abandoned request as served, so the retried turn 1 gets the second reply.
      h.fakeModel.script(taskId, [{ ...firstTurn, delayMs: 8000 }, firstTurn, { text: 'Done.' }]);
      await startWorkerProcess();
      const handle: WorkflowHandle<typeof agentRun> = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });

      await waitWhileWorkerRuns(async () => h.fakeModel.requestsFor(taskId).length === 1, 'the first model call');
      await killWorkerProcess();
      expect(h.fakeModel.requestsFor(taskId)).toHaveLength(1);

      await h.startWorker();
      const final = await handle.result();

      expect(final.status).toBe('completed');
      const perTurn = requestsPerTurn(h.fakeModel.requestsFor(taskId));
      // Turn 1 (a one-message conversation) was in flight at the crash, so it may be asked twice; turn 2 only once.
      expect(perTurn[1]).toBeLessThanOrEqual(2);
      expect(perTurn).toMatchObject({ 3: 1 });
      expect(Object.keys(perTurn).sort()).toEqual(['1', '3']);
      expect(final.result).toMatchObject({ turns: 2, pushed: true });
      expect(showFile(remote.dir, final.result!.branch!, 'one.txt')).toBe('one');
      expect(existsSync(worktreeOf(agentIdOf(handle)))).toBe(false);
    },
    CRASH_TEST_TIMEOUT_MS,
  );

  it(
    'leaves a worktree behind when the crashed run is terminated, and the reaper salvages and removes it',
    async () => {
      const remote = createRemoteRepo(nodeProjectFiles());
      const taskId = 'T-crash-reap';
      h.fakeModel.script(taskId, [{ tools: [{ name: 'bash', input: { command: 'echo wip > wip.txt; sleep 3' } }] }]);
      await startWorkerProcess();
      const handle = await h.spawn({ taskId, repository: remote.url });
      const agentId = agentIdOf(handle);
      await waitWhileWorkerRuns(async () => existsSync(path.join(worktreeOf(agentId), 'wip.txt')), 'the tool run to start');
      await killWorkerProcess();
      // What the API does when no worker brings the run to `killed` by the kill deadline.
      await handle.terminate('workers down');

      const isClosed = workflowClosedCheck(h.client);
      expect(await isClosed(agentId)).toBe(true);
      expect(existsSync(worktreeOf(agentId))).toBe(true);
      // Every runtime gives the agent a home on the host; the crashed worker left it, the reaper takes it.
      expect(existsSync(h.services.homes.pathFor(agentId))).toBe(true);
      expect(await h.services.workspaces.reap(isClosed)).toBe(1);
      expect(existsSync(worktreeOf(agentId))).toBe(false);
      expect(await h.services.homes.reap(isClosed)).toBe(1);
      expect(existsSync(h.services.homes.pathFor(agentId))).toBe(false);
      // The uncommitted work is kept at the salvage ref on the remote; published, it leaves the mirror (release-refs.ts).
      expect(git(remote.dir, 'show', `refs/agents/${agentId}/salvage:wip.txt`)).toBe('wip');
      const mirrors = path.join(h.workspaceRoot, 'mirrors');
      const inMirrors = readdirSync(mirrors)
        .filter((d) => d.endsWith('.git'))
        .flatMap((d) => git(path.join(mirrors, d), 'for-each-ref', '--format=%(refname)', `refs/agents/${agentId}/`).split('\n').filter(Boolean));
      expect(inMirrors).toEqual([]);
    },
    CRASH_TEST_TIMEOUT_MS,
  );

  it(
    'cleans up a run rebuilt on the host it was taken for lost on: a worker back on the same disk after the failover deadline holds the agent again',
    async () => {
      const remote = createRemoteRepo(nodeProjectFiles());
      const taskId = 'T-crash-regained';
      h.fakeModel.script(taskId, [{ tools: [{ name: 'bash', input: { command: 'echo one > one.txt; sleep 3' } }] }, { text: 'Done.' }]);
      await startWorkerProcess();
      const handle: WorkflowHandle<typeof agentRun> = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', hostFailoverSeconds: 2 });
      const agentId = agentIdOf(handle);
      await waitWhileWorkerRuns(async () => existsSync(path.join(worktreeOf(agentId), 'one.txt')), 'the tool run to start');
      await killWorkerProcess();
      // Back after the turn's heartbeat timeout (30 s) and its retry's 2 s deadline: the host was lost, and is the only one to rebuild on.
      await new Promise((resolve) => setTimeout(resolve, 36_000));
      await h.startWorker();
      const final = await handle.result();

      expect(final.status).toBe('completed');
      const rebuilt = (await activityRecords(handle)).filter((r) => r.type === 'rebuildWorkspace' && r.result);
      expect(rebuilt.map((r) => (r.result as { workspace: WorkspaceInfo }).workspace.host.id)).toEqual([h.host.id]);
      expect(showFile(remote.dir, final.result!.branch!, 'one.txt')).toBe('one');
      // The run's own cleanup, not a reaper pass later: it lives on this host again.
      expect(existsSync(worktreeOf(agentId))).toBe(false);
      expect(existsSync(h.services.homes.pathFor(agentId))).toBe(false);
    },
    CRASH_TEST_TIMEOUT_MS,
  );

  it('leaves nothing in the worktrees or homes folders after the crashes, and the reaper finds nothing more to do', async () => {
    expect(readdirSync(path.join(h.workspaceRoot, 'worktrees'))).toEqual([]);
    expect(readdirSync(h.services.homes.root)).toEqual([]);
    expect(existsSync(path.join(h.workspaceRoot, 'orphaned'))).toBe(false);
    expect(await h.services.workspaces.reap(workflowClosedCheck(h.client))).toBe(0);
    expect(await h.services.homes.reap(workflowClosedCheck(h.client))).toBe(0);
  });
});
