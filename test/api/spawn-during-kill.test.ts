/**
 * A spawn for a task whose agent is being killed (by a kill of that agent or by a kill-all), through
 * the REST API and a live worker running the stand-in workflow, which takes a moment to stop.
 */
import { eventually, spawnBody, startTestApi, type TestApi } from './api-harness';
import { startStandInWorker, type StandInWorker } from './stand-in-worker';
import { SLOW_STOP } from './stand-in-workflow';

describe('a spawn that arrives while its task\'s agent is being killed', () => {
  let api: TestApi;
  let worker: StandInWorker;

  beforeAll(async () => {
    // The slow stand-in never acknowledges a kill; with a worker polling, the kill waits for it to stop.
    api = await startTestApi({ env: { KILL_ACK_TIMEOUT_SECONDS: '1', KILL_DEADLINE_SECONDS: '20' } });
    worker = await startStandInWorker(api, `spawn-during-kill@${process.pid}`);
  });
  afterAll(async () => {
    await worker?.stop();
    await api?.close();
  });

  /** Spawns a slow-stopping agent and waits until it runs; returns the spawn body and its id. */
  const liveAgent = async () => {
    const body = spawnBody({ context: { repository: 'https://git.example.com/repo.git', branch: 'main', workItems: [SLOW_STOP], skills: [] } });
    const spawned = await api.request('POST', '/agents/spawn', { body });
    expect(spawned.status).toBe(202);
    const agentId: string = spawned.body.agentId;
    // 30 s: a loaded CI run took over 10 s to start the agent.
    await eventually(async () => (await api.request('GET', `/agents/${agentId}/status`)).body.status === 'running', 'running', 30_000);
    return { body, agentId };
  };

  /** Until the run's history holds the kill signal: the kill has reached the workflow, which is stopping. */
  const killDelivered = (agentId: string) =>
    eventually(async () => {
      const history = await api.client.workflow.getHandle(`agent-${agentId}`).fetchHistory();
      return history.events?.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'kill');
    }, 'the kill signal');

  it.each([
    ['a kill of that agent', (agentId: string) => api.request('POST', `/agents/${agentId}/kill`, { body: { reason: 'stop it' } })],
    ['a kill-all', () => api.request('POST', '/agents/kill-all', { body: { reason: 'stop everything' } })],
  ])('is refused during %s (409), never answered with the dying agent; once it is killed a new agent starts', async (_what, kill) => {
    const { body, agentId } = await liveAgent();
    const killing = kill(agentId);
    await killDelivered(agentId);

    const during = await api.request('POST', '/agents/spawn', { body });
    // Before: 200 with the agent being killed, as if it would do the task.
    expect(during.status).toBe(409);
    expect(during.body.error.code).toBe('agent_stopping');
    expect(during.body.error.message).toContain(agentId);

    expect((await killing).status).toBe(200);
    expect((await api.request('GET', `/agents/${agentId}/status`)).body.status).toBe('killed');
    const after = await api.request('POST', '/agents/spawn', { body });
    expect(after.status).toBe(202);
    expect(after.body.agentId).not.toBe(agentId);
  }, 60_000);
});
