import { eventually, spawnBody, startTestApi, type TestApi } from './api-harness';

/** Two kills of one agent at once, with no worker: both are forced at the same moment, one of them terminates the run. */
describe('concurrent kills of one agent (forced path)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ deps: { removeAgentContainers: async () => 0 } });
  });
  afterAll(async () => {
    await api.close();
  });

  it('answers both with the final status killed: the one that lost the race to terminate never answers running', async () => {
    for (let i = 0; i < 3; i++) {
      const spawned = await api.request('POST', '/agents/spawn', { body: spawnBody() });
      expect(spawned.status).toBe(202);
      const agentId = spawned.body.agentId as string;
      await eventually(async () => (await api.request('GET', `/agents/${agentId}/status`)).status === 200, 'the agent to be known');
      const answers = await Promise.all([api.request('POST', `/agents/${agentId}/kill`, { body: { reason: 'first' } }), api.request('POST', `/agents/${agentId}/kill`, { body: { reason: 'second' } })]);
      expect(answers.map((a) => [a.status, a.body.status])).toEqual([
        [200, 'killed'],
        [200, 'killed'],
      ]);
      // One of them terminated the run; the other saw it closed.
      expect(answers.filter((a) => a.body.forced === true)).toHaveLength(1);
    }
  });
});
