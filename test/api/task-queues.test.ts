/**
 * Two deployments in ONE Temporal namespace, told apart by their task queue (each API starts its
 * agents on its own TEMPORAL_TASK_QUEUE, each worker polls only its own): real workers, the real
 * `agentRun` workflow, the REST API of each over HTTP. Neither deployment may see, answer for or
 * kill the other's agents: a coordinator of one that asks about (or kills) an agent id or task id
 * of the other gets a 404 or an agent of its own, never the other's live agent stopped.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createRemoteRepo, nodeProjectFiles } from '../support/git-fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';
import { startHarnessApi, type HarnessApi } from '../support/harness-api';

const API_KEY = 'task-queues-api-key-0123456789abc';
const bash = (command: string) => ({ name: 'bash' as const, input: { command } });

describe('two deployments of one namespace on different task queues', () => {
  let a: Harness;
  let b: Harness;
  let apiA: HarnessApi;
  let apiB: HarnessApi;
  let remote: { dir: string; url: string };

  beforeAll(async () => {
    [a, b] = await Promise.all([startHarness({ ORCHESTRATOR_API_KEY: API_KEY, KILL_DEADLINE_SECONDS: '20' }), startHarness({ ORCHESTRATOR_API_KEY: API_KEY, KILL_DEADLINE_SECONDS: '20' })]);
    [apiA, apiB] = await Promise.all([startHarnessApi(a, API_KEY), startHarnessApi(b, API_KEY)]);
    remote = createRemoteRepo(nodeProjectFiles());
  });
  afterAll(async () => {
    await apiA?.close();
    await apiB?.close();
    await a?.close();
    await b?.close();
  });

  const spawnOn = async (api: HarnessApi, taskId: string): Promise<{ status: number; agentId: string }> => {
    const res = await api.request('POST', '/agents/spawn', {
      body: { taskId, agentType: 'worker', gateProfile: 'minimal', context: { repository: remote.url, branch: 'main', workItems: ['US-001'], skills: ['typescript'] } },
    });
    return { status: res.status, agentId: res.body.agentId as string };
  };

  it("answers 404 for the other deployment's live agent and never kills it: status, kill, kill-all, transcript, retry", async () => {
    const taskId = `T-queues-${Date.now()}`;
    a.fakeModel.script(taskId, [{ tools: [bash('echo started > started.txt; sleep 25; echo done > done.txt')] }, { text: 'Done.' }]);
    const spawned = await spawnOn(apiA, taskId);
    expect(spawned.status).toBe(202);
    const agentId = spawned.agentId;
    await eventually(async () => existsSync(path.join(a.workspaceRoot, 'worktrees', agentId, 'started.txt')), 60_000, "A's agent in its tool batch");

    const killed = await apiB.request('POST', `/agents/${agentId}/kill`, { body: { reason: 'the other deployment' } });
    expect({ status: killed.status, agent: killed.body.status }).toEqual({ status: 404, agent: undefined });
    expect((await apiB.request('GET', `/agents/${agentId}/status`)).status).toBe(404);
    expect((await apiB.request('GET', `/agents/${agentId}/transcript`)).status).toBe(404);
    const all = await apiB.request('POST', '/agents/kill-all');
    expect(all.body).toMatchObject({ total: 0 });

    // A's agent ran on, undisturbed, to its end.
    const final = await a.client.workflow.getHandle(`agent-${agentId}`).result();
    expect(final.status).toBe('completed');
    expect(existsSync(path.join(a.workspaceRoot, 'worktrees', agentId))).toBe(false);
  }, 180_000);

  it('starts its own agent for a task id the other deployment has a live agent on', async () => {
    const taskId = `T-queues-shared-${Date.now()}`;
    a.fakeModel.script(taskId, [{ tools: [bash('echo started > started.txt; sleep 15')] }, { text: 'Done.' }]);
    b.fakeModel.script(taskId, [{ tools: [bash('echo b > b.txt')] }, { text: 'Done.' }]);
    const theirs = await spawnOn(apiA, taskId);
    await eventually(async () => existsSync(path.join(a.workspaceRoot, 'worktrees', theirs.agentId, 'started.txt')), 60_000, "A's agent in its tool batch");
    const mine = await spawnOn(apiB, taskId);
    // 202: started (a 200 answers an agent already live for the task).
    expect(mine.status).toBe(202);
    expect(mine.agentId).not.toBe(theirs.agentId);
    const [finalA, finalB] = await Promise.all([a.client.workflow.getHandle(`agent-${theirs.agentId}`).result(), b.client.workflow.getHandle(`agent-${mine.agentId}`).result()]);
    expect([finalA.status, finalB.status]).toEqual(['completed', 'completed']);
  }, 180_000);
});
