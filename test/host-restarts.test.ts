/**
 * A worker host that dies, comes back under the same id (a crashed process restarted by its
 * supervisor: same WORKSPACE_ROOT, same WORKER_HOST_ID) and dies again while it holds an agent's
 * host-bound activity. Each death is a real SIGKILL of the worker's process group. The retry of
 * the activity goes back to the restarted host, so the run never sees a schedule-to-start
 * timeout on a dead queue: its last attempt ends in a heartbeat timeout. That is a lost host too,
 * and the agent must finish on another host with its work, not fail "activity Heartbeat timeout".
 */
import { existsSync, readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkspaceInfo } from '../domain/agent';
import { activityRecords } from './support/activity-history';
import { createRemoteRepo, showFile } from './support/git-fixtures';
import { eventually, startHarness, type Harness } from './support/harness';
import { WorkerProcess, workflowBundleFile } from './support/worker-process';

const bash = (command: string) => ({ name: 'bash' as const, input: { command } });
/** The gate: long enough to be caught running, short enough for the suite. */
const GATES_JSON = JSON.stringify({ gates: { tests: { command: 'sleep 9; test -e before.txt' } } });

/** Whether a `sleep 9` (the gate) runs below the worker process `root`. */
function gateRunsUnder(root: number): boolean {
  const ppid = new Map<number, number>();
  const sleeps: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      ppid.set(Number(name), Number(stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[1]));
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8') === 'sleep\u00009\u0000') sleeps.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return sleeps.some((pid) => {
    for (let p = ppid.get(pid); p !== undefined && p > 1; p = ppid.get(p)) if (p === root) return true;
    return false;
  });
}

/** The workflow bundle the worker processes load, written once for the file (workflowBundleFile keeps the first path). */
const bundleDir = mkdtempSync(path.join(os.tmpdir(), 'host-restarts-bundle-'));
afterAll(() => rmSync(bundleDir, { recursive: true, force: true }));

describe('a host that dies again after its restart', () => {
  let h: Harness;
  let tmp: string;
  const hosts: WorkerProcess[] = [];
  beforeAll(async () => {
    h = await startHarness({}, { worker: false });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'host-restarts-'));
  });
  afterAll(async () => {
    await Promise.all(hosts.map((w) => w.kill()));
    await h?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('moves the agent when the host dies during each attempt of its gates: the run completes on another host', async () => {
    const env = { ...h.env, LOG_LEVEL: 'info', WORKFLOW_BUNDLE_PATH: await workflowBundleFile(bundleDir) };
    const flaky = new WorkerProcess('host-flaky', path.join(tmp, 'flaky'), env);
    const steady = new WorkerProcess('host-steady', path.join(tmp, 'steady'), env);
    hosts.push(flaky, steady);
    flaky.start();
    await flaky.started();
    const remote = createRemoteRepo({ '.orchestrator/gates.json': GATES_JSON, 'README.md': '# restarts\n' });
    const taskId = 'T-host-restarts';
    h.fakeModel.script(taskId, [{ tools: [bash('echo kept > before.txt')] }, { text: 'Done.' }]);
    // Placed on the flaky host, the only one yet.
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', hostFailoverSeconds: 3 });
    steady.start();
    await steady.started();

    // First attempt of the gates: the host dies and its supervisor restarts it at once.
    await eventually(async () => flaky.running && gateRunsUnder(flaky.pid!), 90_000, 'the gates on the flaky host');
    await flaky.kill();
    flaky.start();
    await flaky.started();
    // The retry (after the heartbeat timeout) goes back to the restarted host: it dies again.
    await eventually(async () => gateRunsUnder(flaky.pid!), 90_000, 'the retried gates on the restarted host');
    await flaky.kill();

    const final = await handle.result();
    expect({ status: final.status, error: final.error }).toEqual({ status: 'completed', error: undefined });
    const moves = (await activityRecords(handle)).filter((r) => r.type === 'rebuildWorkspace' && r.result);
    expect(moves.map((r) => (r.result as { workspace: WorkspaceInfo }).workspace.host.id)).toEqual(['host-steady']);
    expect(showFile(remote.dir, final.result!.branch!, 'before.txt')).toBe('kept');
  }, 300_000);
});

describe('a host restarted under its id after it died mid tool batch', () => {
  let h: Harness;
  let tmp: string;
  let host: WorkerProcess | undefined;
  beforeAll(async () => {
    h = await startHarness({}, { worker: false });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'host-restarts-batch-'));
  });
  afterAll(async () => {
    await host?.kill();
    await h?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('does not run the batch again over what its dead attempt did: the workspace goes back to the last checkpoint first', async () => {
    host = new WorkerProcess('host-comeback', path.join(tmp, 'comeback'), { ...h.env, LOG_LEVEL: 'info', WORKFLOW_BUNDLE_PATH: await workflowBundleFile(bundleDir) });
    host.start();
    await host.started();
    const remote = createRemoteRepo({ '.orchestrator/gates.json': JSON.stringify({ gates: { tests: { command: 'test -e chain.txt' } } }), 'README.md': '# comeback\n' });
    const taskId = 'T-batch-comeback';
    // Each turn appends a line: run twice over the same worktree, a turn leaves its line twice.
    h.fakeModel.script(taskId, [{ tools: [bash('echo one >> chain.txt')] }, { tools: [bash('echo two >> chain.txt; sleep 8')] }, { text: 'Done.' }], { byTurn: true });
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', hostFailoverSeconds: 3 });
    const chain = path.join(host.workspaceRoot, 'worktrees', handle.workflowId.replace(/^agent-/, ''), 'chain.txt');
    await eventually(async () => existsSync(chain) && readFileSync(chain, 'utf8') === 'one\ntwo\n', 90_000, 'the second batch to have appended its line');
    // The host dies mid-batch, and its supervisor restarts it: the retry of the turn comes back to it.
    await host.kill();
    host.start();
    await host.started();

    const final = await handle.result();
    expect({ status: final.status, error: final.error }).toEqual({ status: 'completed', error: undefined });
    expect(showFile(remote.dir, final.result!.branch!, 'chain.txt')).toBe('one\ntwo');
  }, 300_000);
});
