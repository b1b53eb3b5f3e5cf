/**
 * Runs on a worker whose workflow cache holds two runs (the SDK's smallest): with several agents live, nearly every
 * workflow task replays its run's whole history, and tasks complete with a local activity's
 * marker before the code after it ran (the history shape a loaded worker also produces). Each
 * run must still go its way: the patch decisions after a state write must not change on replay
 * (workflows/phases.ts, PATCHES_BEFORE_LOCAL_ACTIVITIES). Before that rule, the kill-all below
 * left runs stuck on a nondeterminism error every time.
 */
import { randomUUID } from 'node:crypto';
import { createRemoteRepo, nodeProjectFiles } from '../support/git-fixtures';
import { eventually, resultWithin, startHarness, type Harness } from '../support/harness';
import { startHarnessApi, type HarnessApi } from '../support/harness-api';

const API_KEY = 'small-cache-api-key-0123456789ab';

describe('agents on a worker with the smallest workflow cache', () => {
  let h: Harness;
  let api: HarnessApi;
  let repository: string;
  beforeAll(async () => {
    h = await startHarness({ ORCHESTRATOR_API_KEY: API_KEY, KILL_DEADLINE_SECONDS: '60', WORKER_MAX_CACHED_WORKFLOWS: '2' });
    api = await startHarnessApi(h, API_KEY);
    repository = createRemoteRepo(nodeProjectFiles()).url;
  });
  afterAll(async () => {
    await api?.close();
    await h?.close();
  });

  const spawn = async (taskId: string): Promise<string> => {
    const res = await api.request('POST', '/agents/spawn', { body: { taskId, agentType: 'worker', gateProfile: 'minimal', context: { repository, branch: 'main', workItems: ['x'], skills: [] } } });
    expect(res.status).toBe(202);
    return (res.body as { agentId: string }).agentId;
  };
  const bash = (command: string) => ({ name: 'bash' as const, input: { command } });
  const handleOf = (agentId: string) => h.client.workflow.getHandle(`agent-${agentId}`);
  const failedTasks = async (agentId: string) =>
    ((await handleOf(agentId).fetchHistory()).events ?? []).flatMap((e) => (e.workflowTaskFailedEventAttributes ? [e.workflowTaskFailedEventAttributes.failure?.message ?? ''] : []));

  it('completes agents that take tool turns and kills agents waiting on the model, every workflow task replaying', async () => {
    const working = Array.from({ length: 3 }, (_, i) => `T-small-cache-work-${i}-${randomUUID().slice(0, 8)}`);
    const waiting = Array.from({ length: 3 }, (_, i) => `T-small-cache-wait-${i}-${randomUUID().slice(0, 8)}`);
    for (const [i, taskId] of working.entries()) {
      h.fakeModel.script(taskId, [{ tools: [bash(`echo ${i} > one.txt`)] }, { tools: [bash(`echo ${i} > two.txt`)] }, { text: 'Done.' }]);
    }
    for (const taskId of waiting) h.fakeModel.script(taskId, [{ text: 'thinking for a long time', delayMs: 60_000 }]);
    const workers = await Promise.all(working.map(spawn));
    const waiters = await Promise.all(waiting.map(spawn));
    // Watched the way a coordinator does: status reads while the runs start (each may ask the workflow).
    const statusOf = async (agentId: string) => ((await api.request('GET', `/agents/${agentId}/status`)).body as { status: string }).status;
    await eventually(
      async () => {
        const statuses = await Promise.all([...workers, ...waiters].map(statusOf));
        return statuses.slice(0, workers.length).every((s) => s === 'completed') && statuses.slice(workers.length).every((s) => s === 'running');
      },
      120_000,
      'the workers to complete and the waiters to run',
    );

    for (const agentId of workers) expect(await resultWithin(handleOf(agentId), 120_000)).toMatchObject({ status: 'completed', result: { pushed: true } });
    for (const taskId of waiting) await eventually(async () => h.fakeModel.requestsFor(taskId).length === 1, 120_000, `the model call of ${taskId}`);
    const res = await api.request('POST', '/agents/kill-all', { body: { reason: 'small cache drill' } });
    expect(res.body).toMatchObject({ total: 3, killed: 3, forced: 0, failed: 0 });
    for (const agentId of waiters) expect(await resultWithin(handleOf(agentId), 120_000)).toMatchObject({ status: 'killed' });
    for (const agentId of [...workers, ...waiters]) expect(await failedTasks(agentId)).toEqual([]);
  });
});
