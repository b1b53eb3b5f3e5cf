/**
 * Many worker hosts: real `tsx worker/main.ts` processes, each with its own WORKSPACE_ROOT and
 * WORKER_HOST_ID, standing in for machines. Every activity that touches an agent's worktree must
 * run on the host that holds it (checked in the workflow history: the task queue it was
 * scheduled on and the identity of the worker that started it), and when a host dies its agents
 * finish on another host from their last checkpoint.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import type { WorkflowHandle } from '@temporalio/client';
import type { WorkspaceInfo } from '../domain/agent';
import type { HostLiveness } from '../domain/host-liveness';
import { isHostBound, isHostTurn } from '../domain/placement';
import { hostTurnTaskQueue, modelTaskQueue } from '../domain/task-queues';
import type { agentRun } from '../workflows';
import { activityRecords, localActivityResults, type ActivityRecord } from './support/activity-history';
import type { RecordedRequest } from './support/fake-model';
import { createRemoteRepo, git, showFile } from './support/git-fixtures';
import { eventually, startHarness, type Harness } from './support/harness';
import { WorkerProcess, workflowBundleFile } from './support/worker-process';
import { saveHistory } from '../worker/replay';

const GATES_JSON = JSON.stringify({ gates: { tests: { command: 'test -e before.txt' } } });
/**
 * Generous on purpose: in CI another suite (500 agents) shares the 2 cores, and the 20-agent test
 * alone took 31 s on a quiet machine and 151 s beside it (240 s was exceeded once in CI).
 */
const SUITE_TIMEOUT_MS = 480_000;
const bash = (command: string) => ({ name: 'bash' as const, input: { command } });

/**
 * RECORD_HISTORIES_DIR=test/fixtures/histories saves a run's history for the replay test: these
 * paths (a host found alive, a move to another host) need hosts, which scripts/record-histories.ts
 * does not start. Re-record after a deliberate, versioned workflow change only.
 */
async function keepHistory(handle: WorkflowHandle, name: string): Promise<void> {
  const dir = process.env.RECORD_HISTORIES_DIR;
  if (dir) await saveHistory(path.join(dir, `${name}.json`), await handle.fetchHistory());
}
const agentIdOf = (handle: WorkflowHandle) => handle.workflowId.replace(/^agent-/, '');

/** The host-bound activities a run with tools and the minimal profile schedules (setUpAgent runs on the shared queue). */
const HOST_ACTIVITIES_OF_A_RUN = new Set(['toolsThenModel', 'gatesScanAndCommit', 'cleanupAgent']);
/** The queue of a host that a host-bound activity runs on: the host's own, or its turn queue. */
const queueOn = (type: string, hostQueue: string) => (isHostTurn(type) ? hostTurnTaskQueue(hostQueue) : hostQueue);

/** The host each run's workspace was prepared (or rebuilt) on, in order. */
function hostsOf(records: ActivityRecord[]): WorkspaceInfo[] {
  return records.flatMap((r) => {
    if (r.type === 'setUpAgent' && r.result) return [(r.result as { workspace: WorkspaceInfo }).workspace];
    if (r.type === 'prepareWorkspace' && r.result) return [r.result as WorkspaceInfo];
    if (r.type === 'rebuildWorkspace' && r.result) return [(r.result as { workspace: WorkspaceInfo }).workspace];
    return [];
  });
}

/** How many requests the model got for each conversation length (one length = one turn). */
function requestsPerTurn(reqs: RecordedRequest[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of reqs) counts[r.body.messages.length] = (counts[r.body.messages.length] ?? 0) + 1;
  return counts;
}

describe('agents on many worker hosts', () => {
  let h: Harness;
  let tmp: string;
  const hosts: WorkerProcess[] = [];
  const docker = new Docker();

  const startHost = async (hostId: string, extraEnv: Record<string, string> = {}) => {
    const host = new WorkerProcess(hostId, path.join(tmp, hostId), { ...h.env, LOG_LEVEL: 'info', WORKFLOW_BUNDLE_PATH: await workflowBundleFile(tmp), ...extraEnv });
    hosts.push(host);
    host.start();
    await host.started();
    return host;
  };

  beforeAll(async () => {
    h = await startHarness({}, { worker: false });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'hosts-'));
  });
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((p) => p.kill()));
  });
  afterAll(async () => {
    await h?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it(
    'runs 20 agents across 2 hosts to completion, every worktree-bound activity on the host holding the worktree',
    async () => {
      const [a, b] = await Promise.all([startHost('host-a'), startHost('host-b')]);
      const byQueue = new Map([a, b].map((p) => [p.taskQueue, p]));
      const remote = createRemoteRepo({ '.orchestrator/gates.json': GATES_JSON, 'README.md': '# many hosts\n' });
      const handles = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const taskId = `T-hosts-${i}`;
          h.fakeModel.script(taskId, [{ tools: [bash(`echo ${i} > before.txt`)] }, { text: 'Done.' }]);
          return h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', hostFailoverSeconds: 30 });
        }),
      );
      const finals = await Promise.all(handles.map((handle) => handle.result()));
      expect(finals.map((f) => f.status)).toEqual(finals.map(() => 'completed'));

      const perHost = new Map<string, number>();
      for (const [i, handle] of handles.entries()) {
        const records = await activityRecords(handle);
        const [workspace, ...moves] = hostsOf(records);
        expect(moves).toEqual([]);
        const owner = byQueue.get(workspace!.host.taskQueue)!;
        expect(owner).toBeDefined();
        expect(workspace!.path.startsWith(owner.workspaceRoot)).toBe(true);
        perHost.set(owner.hostId, (perHost.get(owner.hostId) ?? 0) + 1);

        const bound = records.filter((r) => isHostBound(r.type));
        expect(new Set(bound.map((r) => r.type))).toEqual(HOST_ACTIVITIES_OF_A_RUN);
        for (const r of bound) expect({ type: r.type, taskQueue: r.taskQueue, startedBy: r.startedBy }).toEqual({ type: r.type, taskQueue: queueOn(r.type, owner.taskQueue), startedBy: owner.identity() });
        // Everything else stays on the shared queues (model calls on their own), whichever host's worker picked it up.
        for (const r of records.filter((x) => !bound.includes(x))) expect({ type: r.type, taskQueue: r.taskQueue }).toEqual({ type: r.type, taskQueue: r.type === 'modelTurn' ? modelTaskQueue(h.taskQueue) : h.taskQueue });
        expect(showFile(remote.dir, finals[i]!.result!.branch!, 'before.txt')).toBe(String(i));
      }
      // Both hosts took agents from the shared queue.
      expect([...perHost.keys()].sort()).toEqual(['host-a', 'host-b']);
    },
    SUITE_TIMEOUT_MS,
  );

  it(
    "moves the agents of a host that dies mid-run to another host: files written before the death are there, only the in-flight turn runs twice, and the dead host's containers stay until the runs close",
    async () => {
      const sandboxEnv = { SANDBOX_ENABLED: 'true', SANDBOX_IMAGE: 'orchestrator-sandbox-test:busybox', SANDBOX_GRACEFUL_STOP_TIMEOUT_SECONDS: '1', SANDBOX_MEMORY_MB: '64', REAPER_INTERVAL_SECONDS: '5' };
      const doomed = await startHost('host-doomed', sandboxEnv);
      const remote = createRemoteRepo({ '.orchestrator/gates.json': GATES_JSON, 'README.md': '# failover\n' });
      const taskIds = ['T-move-0', 'T-move-1'];
      const handles: WorkflowHandle<typeof agentRun>[] = [];
      for (const taskId of taskIds) {
        h.fakeModel.script(taskId, [
          { tools: [bash('echo written-before-the-death > before.txt; head -c 300000 /dev/urandom > blob.bin; md5sum blob.bin > blob.md5')] },
          { tools: [bash('echo started > started.txt; sleep 4; echo slept > slept.txt')] },
          { tools: [bash('cat before.txt; md5sum -c blob.md5')] },
          { text: 'Done.' },
        ]);
        handles.push(await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', hostFailoverSeconds: 3 }));
      }
      const worktree = (handle: WorkflowHandle) => path.join(doomed.workspaceRoot, 'worktrees', agentIdOf(handle));
      await eventually(async () => handles.every((hd) => existsSync(path.join(worktree(hd), 'started.txt'))), 90_000, 'both agents in their second tool batch');
      // This run's containers only (a deployment is a namespace and task queue): another run's leftovers on the same engine do not count.
      const containersOf = (hostId: string) =>
        docker.listContainers({ all: true, filters: { label: [`orchestrator.host=${hostId}`, `orchestrator.deployment=default/${h.taskQueue}`] } });
      const doomedContainers = await containersOf('host-doomed');
      expect(doomedContainers).toHaveLength(2);

      // The host dies and its disk is gone; a new host joins.
      await doomed.kill();
      rmSync(doomed.workspaceRoot, { recursive: true, force: true });
      const rescuer = await startHost('host-rescuer', sandboxEnv);
      // The rescuer's reaper runs at its start, while the runs live (they wait out the turn's heartbeat): it leaves the dead host's containers.
      await eventually(async () => rescuer.output.includes('"target":"containers"'), 60_000, "the rescuer's first container reaper pass");
      expect((await containersOf('host-doomed')).map((c) => c.Id).sort()).toEqual(doomedContainers.map((c) => c.Id).sort());
      expect((await Promise.all(handles.map((hd) => hd.describe()))).map((d) => d.status.name)).toEqual(['RUNNING', 'RUNNING']);

      const finals = await Promise.all(handles.map((hd) => hd.result()));
      expect(finals.map((f) => f.status)).toEqual(['completed', 'completed']);
      for (const [i, handle] of handles.entries()) {
        const records = await activityRecords(handle);
        expect(hostsOf(records).map((w) => w.host.id)).toEqual(['host-doomed', 'host-rescuer']);
        const rebuilt = records.find((r) => r.type === 'rebuildWorkspace')!.result as { restoredTurn?: number };
        expect(rebuilt.restoredTurn).toBe(1);
        // The pushed branch has the file written before the death, and the binary survived intact.
        const branch = finals[i]!.result!.branch!;
        expect(showFile(remote.dir, branch, 'before.txt')).toBe('written-before-the-death');
        expect(showFile(remote.dir, branch, 'slept.txt')).toBe('slept');
        const reqs = h.fakeModel.requestsFor(taskIds[i]!);
        expect(JSON.stringify(reqs[3]!.body.messages[6])).toContain('blob.bin: OK');
        // Turns 1..4 are conversations of 1, 3, 5 and 7 messages; the model was asked each once.
        expect(requestsPerTurn(reqs)).toEqual({ 1: 1, 3: 1, 5: 1, 7: 1 });
        // Only the in-flight turn (its tool batch, then the next model call) ran twice: once on each host.
        const turns = records.filter((r) => r.type === 'toolsThenModel' && r.outcome === 'completed');
        expect(turns.map((r) => r.taskQueue)).toEqual([doomed.taskQueue, rescuer.taskQueue, rescuer.taskQueue].map(hostTurnTaskQueue));
      }

      await keepHistory(handles[0]!, 'completed-after-host-died');

      // The runs are closed and the dead host never comes back: the rescuer's reaper removes its containers.
      await eventually(async () => (await containersOf('host-doomed')).length === 0, 90_000, "the rescuer to reap the dead host's containers");
      expect(await containersOf('host-rescuer')).toEqual([]);
    },
    SUITE_TIMEOUT_MS,
  );

  it(
    'waits for a host that is alive but has no free slot: the late task runs there, and the workspace is never rebuilt',
    async () => {
      // One slot for the host's queue: while one agent's gates run (12 s), the other agent's gates cannot start.
      const busy = await startHost('host-busy', { WORKER_ACTIVITY_SLOTS: '1' });
      const slowGate = JSON.stringify({ gates: { tests: { command: 'if [ -e hold.txt ]; then sleep 12; fi; test -e before.txt' } } });
      const remote = createRemoteRepo({ '.orchestrator/gates.json': slowGate, 'README.md': '# busy host\n' });
      h.fakeModel.script('T-busy-holder', [{ tools: [bash('echo held > before.txt; touch hold.txt')] }, { text: 'Done.' }]);
      const holder = await h.spawn({ taskId: 'T-busy-holder', repository: remote.url, gateProfile: 'minimal', hostFailoverSeconds: 2 });
      await eventually(async () => existsSync(path.join(busy.workspaceRoot, 'gate-checkouts', agentIdOf(holder))), 90_000, 'the holder to take the slot with its gates');
      h.fakeModel.script('T-busy-waiter', [{ tools: [bash('echo waited > before.txt')] }, { text: 'Done.' }]);
      const waiter = await h.spawn({ taskId: 'T-busy-waiter', repository: remote.url, gateProfile: 'minimal', hostFailoverSeconds: 2 });

      const finals = await Promise.all([holder.result(), waiter.result()]);
      expect(finals.map((f) => f.status)).toEqual(['completed', 'completed']);
      const records = await activityRecords(waiter);
      // The waiter was late on its host (a task missed the 2 s deadline), the host was found alive each time, and it stayed.
      expect(records.filter((r) => r.outcome?.startsWith('timed-out')).length).toBeGreaterThan(0);
      const checks = (await localActivityResults(waiter, 'hostLiveness')) as HostLiveness[];
      expect(checks.length).toBeGreaterThan(0);
      expect(checks.map((c) => c.alive)).toEqual(checks.map(() => true));
      expect(records.filter((r) => r.type === 'setUpAgent')).toHaveLength(1);
      expect(records.filter((r) => r.type === 'rebuildWorkspace')).toEqual([]);
      const done = records.filter((r) => isHostBound(r.type) && r.outcome === 'completed');
      expect(new Set(done.map((r) => r.type))).toEqual(HOST_ACTIVITIES_OF_A_RUN);
      for (const r of done) expect({ type: r.type, taskQueue: r.taskQueue, startedBy: r.startedBy }).toEqual({ type: r.type, taskQueue: queueOn(r.type, busy.taskQueue), startedBy: busy.identity() });
      expect(showFile(remote.dir, finals[1]!.result!.branch!, 'before.txt')).toBe('waited');
      await keepHistory(waiter, 'completed-on-a-late-host-found-alive');
    },
    SUITE_TIMEOUT_MS,
  );

  it(
    'moves an agent off a host that died between its tasks: the host queue has no live poller, so the late task is not waited for',
    async () => {
      const pair = await Promise.all([startHost('host-p1'), startHost('host-p2')]);
      const remote = createRemoteRepo({ '.orchestrator/gates.json': GATES_JSON, 'README.md': '# dead between tasks\n' });
      const taskId = 'T-dead-between';
      // The host dies while the agent waits on a model call of the shared model queue (the one after
      // gate feedback: no tools go with it), so its next turn is scheduled on a dead host's queue.
      h.fakeModel.script(taskId, [
        { tools: [bash('echo written-before-the-death > kept.txt')] },
        { text: 'Done.' }, // the gate fails: no before.txt yet
        { tools: [bash('cp kept.txt before.txt')], delayMs: 5_000 },
        // Asked again when the dead host was the one waiting on that call: the same tools, harmlessly twice otherwise.
        { tools: [bash('cp kept.txt before.txt')] },
        { text: 'Done.' },
      ]);
      const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', hostFailoverSeconds: 2 });
      await eventually(async () => h.fakeModel.requestsFor(taskId).length >= 3, 90_000, 'the model call after the gate feedback');
      const owner = pair.find((p) => existsSync(path.join(p.workspaceRoot, 'worktrees', agentIdOf(handle))))!;
      await owner.kill();
      rmSync(owner.workspaceRoot, { recursive: true, force: true });

      const final = await handle.result();
      expect(final.status).toBe('completed');
      const records = await activityRecords(handle);
      const survivor = pair.find((p) => p !== owner)!;
      expect(hostsOf(records).map((w) => w.host.id)).toEqual([owner.hostId, survivor.hostId]);
      // The move followed a check that found no live poller (the server may still list the dead worker, with an old last poll).
      const checks = (await localActivityResults(handle, 'hostLiveness')) as HostLiveness[];
      expect(checks.at(-1)).toEqual(expect.objectContaining({ alive: false }));
      // Restored from the checkpoint on the survivor (the model call in flight may have been on the dead host and asked again, so later turns vary).
      expect(showFile(remote.dir, final.result!.branch!, 'before.txt')).toBe('written-before-the-death');
    },
    SUITE_TIMEOUT_MS,
  );

  it(
    "finishes an agent whose host died right after its push landed: the new host's push replaces the dead host's commit",
    async () => {
      const first = await startHost('host-pushed');
      const remote = createRemoteRepo({ '.orchestrator/gates.json': GATES_JSON, 'README.md': '# died after its push\n' });
      // The remote updates the ref before post-receive runs: the first push has landed, and its host hangs in it until killed.
      const landed = path.join(tmp, 'first-push');
      writeFileSync(path.join(remote.dir, 'hooks', 'post-receive'), `#!/bin/sh\nif [ ! -e ${landed} ]; then cat > ${landed}.tmp; mv ${landed}.tmp ${landed}; sleep 20; fi\n`, { mode: 0o755 });
      const taskId = 'T-died-after-push';
      h.fakeModel.script(taskId, [{ tools: [bash('echo pushed-twice > before.txt')] }, { text: 'Done.' }]);
      const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', hostFailoverSeconds: 3 });
      await eventually(async () => existsSync(path.join(first.workspaceRoot, 'worktrees', agentIdOf(handle))), 90_000, 'the worktree on the first host');
      const survivor = await startHost('host-after-push');
      await eventually(async () => existsSync(landed), 90_000, "the first host's push to land");
      await first.kill();
      const [, deadSha, ref] = readFileSync(landed, 'utf8').trim().split(' ');

      const final = await handle.result();
      expect(final.status).toBe('completed');
      const records = await activityRecords(handle);
      expect(hostsOf(records).map((w) => w.host.id)).toEqual([first.hostId, survivor.hostId]);
      const branch = final.result!.branch!;
      expect(ref).toBe(`refs/heads/${branch}`);
      // The survivor committed again (another commit) and its push replaced the one that landed before the death.
      expect(final.result).toMatchObject({ pushed: true });
      expect(final.result!.commitSha).not.toBe(deadSha);
      expect(git(remote.dir, 'rev-parse', ref!)).toBe(final.result!.commitSha);
      expect(showFile(remote.dir, branch, 'before.txt')).toBe('pushed-twice');
    },
    SUITE_TIMEOUT_MS,
  );

  it(
    "finishes an agent whose lost host pushed the branch after the move (a host cut off, not dead): the new host's push replaces that commit",
    async () => {
      const first = await startHost('host-cut-off');
      const remote = createRemoteRepo({ '.orchestrator/gates.json': GATES_JSON, 'README.md': '# pushed after the move\n' });
      const taskId = 'T-pushed-after-move';
      h.fakeModel.script(taskId, [{ tools: [bash('echo pushed-twice > before.txt')] }, { tools: [bash('touch started.txt; sleep 8')] }, { text: 'Done.' }]);
      const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', hostFailoverSeconds: 3 });
      const agentId = agentIdOf(handle);
      await eventually(async () => existsSync(path.join(first.workspaceRoot, 'worktrees', agentId, 'started.txt')), 90_000, 'the second tool batch on the first host');
      const survivor = await startHost('host-after-cut');
      await first.kill();
      // The survivor has fetched and rebuilt the worktree (its turn then sleeps 8 s again): now the lost host's push lands,
      // a commit of the same agent (its Agent-Id trailer) that the survivor's mirror never saw.
      await eventually(async () => existsSync(path.join(survivor.workspaceRoot, 'worktrees', agentId)), 120_000, 'the rebuild on the survivor');
      const branch = `agent/${taskId}/${agentId.slice(0, 8)}`;
      const clone = path.join(tmp, 'cut-off-clone');
      git(tmp, 'clone', '-q', remote.url, clone);
      writeFileSync(path.join(clone, 'before.txt'), 'pushed-twice\n');
      git(clone, 'add', '-A');
      git(clone, 'commit', '-q', '-m', `${taskId}: work by worker agent ${agentId}\n\nAgent-Id: ${agentId}\nTask-Id: ${taskId}`);
      git(clone, 'push', '-q', 'origin', `HEAD:refs/heads/${branch}`);
      const cutOffSha = git(clone, 'rev-parse', 'HEAD');

      const final = await handle.result();
      expect({ status: final.status, error: final.error }).toEqual({ status: 'completed', error: undefined });
      const records = await activityRecords(handle);
      expect(hostsOf(records).map((w) => w.host.id)).toEqual([first.hostId, survivor.hostId]);
      expect(final.result).toMatchObject({ branch, pushed: true });
      expect(final.result!.commitSha).not.toBe(cutOffSha);
      expect(git(remote.dir, 'rev-parse', `refs/heads/${branch}`)).toBe(final.result!.commitSha);
      expect(showFile(remote.dir, branch, 'before.txt')).toBe('pushed-twice');
    },
    SUITE_TIMEOUT_MS,
  );

  it(
    'kills an agent whose host is down: the run still ends killed, its workflow on the surviving host',
    async () => {
      // Two hosts, so the workflow itself still has a worker when the agent's host dies.
      await Promise.all([startHost('host-k1'), startHost('host-k2')]);
      const remote = createRemoteRepo({ '.orchestrator/gates.json': GATES_JSON, 'README.md': '# kill\n' });
      const taskId = 'T-kill-host-down';
      h.fakeModel.script(taskId, [{ tools: [bash('echo started > started.txt; sleep 120')] }, { text: 'Done.' }]);
      const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', hostFailoverSeconds: 3 });
      const owner = await eventually(
        async () => hosts.find((p) => existsSync(path.join(p.workspaceRoot, 'worktrees', agentIdOf(handle), 'started.txt'))),
        90_000,
        'the tool batch to start on one host',
      );
      await owner.kill();
      rmSync(owner.workspaceRoot, { recursive: true, force: true });
      await handle.signal('kill', { reason: 'host down drill' });
      const final = await handle.result();
      expect(final.status).toBe('killed');
      expect(final.error).toContain('host down drill');
      expect((await handle.describe()).status.name).toBe('COMPLETED');
    },
    SUITE_TIMEOUT_MS,
  );
});
