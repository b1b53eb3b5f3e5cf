/**
 * The Idempotency-Keys of retries and forks are kept in Valkey per agent, each for
 * STATE_TTL_SECONDS. A client with the API key that sends a new key with every retry of one
 * finished agent (each answered with the live agent the first retry started) must not make Valkey
 * keep any number of them.
 */
import { randomUUID } from 'node:crypto';
import { WORKFLOW_TYPE, workflowIdFor, type AgentRunInput } from '../../domain/agent';
import { startTestApi, type TestApi } from './api-harness';

describe('Idempotency-Keys of one agent beyond ORCHESTRATOR_MAX_IDEMPOTENCY_KEYS_PER_AGENT', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ env: { ORCHESTRATOR_MAX_IDEMPOTENCY_KEYS_PER_AGENT: '3' } });
  });
  afterAll(async () => {
    await api?.close();
  });

  /** A finished agent run (its workflow started with an input, then terminated; no worker runs it). */
  async function finishedAgent(): Promise<string> {
    const agentId = randomUUID();
    const input: AgentRunInput = {
      agentId,
      taskId: `T-${agentId.slice(0, 8)}`,
      agentType: 'worker',
      gateProfile: 'minimal',
      priority: 5,
      context: { repository: 'https://git.example.com/r.git', branch: 'main', workItems: ['US-1'], skills: ['ts'] },
      spawnedAt: new Date().toISOString(),
      budgets: { maxTurns: 5, maxOutputTokens: 10_000, maxWallTimeSeconds: 600 },
      maxFeedbackRounds: 1,
    };
    const handle = await api.client.workflow.start(WORKFLOW_TYPE, { taskQueue: api.taskQueue, workflowId: workflowIdFor(agentId), args: [input] });
    await handle.terminate('finished for the test');
    return agentId;
  }

  const retry = (agentId: string, key: string) => api.request('POST', `/agents/${agentId}/retry`, { headers: { 'Idempotency-Key': key } });

  it('refuses a new key with 429 once the agent has as many as the limit, and still answers every key it kept', async () => {
    const agentId = await finishedAgent();
    const first = await retry(agentId, 'k-1');
    expect(first.status).toBe(202);
    // New keys: each answered with the live agent the first retry started.
    for (const key of ['k-2', 'k-3']) expect(await retry(agentId, key)).toMatchObject({ status: 200, body: { agentId: first.body.agentId } });

    const refused = await retry(agentId, 'k-4');
    expect(refused.status).toBe(429);
    expect(refused.body.error).toEqual({ code: 'too_many_idempotency_keys', message: expect.stringContaining('ORCHESTRATOR_MAX_IDEMPOTENCY_KEYS_PER_AGENT') });
    expect(refused.body.error.message).toContain('3 Idempotency-Keys');

    // The keys it kept answer as before, and a retry without a key is not refused.
    for (const key of ['k-1', 'k-2', 'k-3']) expect(await retry(agentId, key)).toMatchObject({ status: 200, body: { agentId: first.body.agentId, retryOf: agentId } });
    expect(await api.request('POST', `/agents/${agentId}/retry`)).toMatchObject({ status: 200, body: { agentId: first.body.agentId } });

    // A key kept the way keys were kept before (one Valkey string each) still answers.
    await api.redis.set(`orchestrator:retry:${agentId}:k-old`, first.body.agentId, 'EX', 60);
    expect(await retry(agentId, 'k-old')).toMatchObject({ status: 200, body: { agentId: first.body.agentId } });

    // Another agent has keys of its own.
    const other = await finishedAgent();
    expect((await retry(other, 'k-4')).status).toBe(202);
  });
});
