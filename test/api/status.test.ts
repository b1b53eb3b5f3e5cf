import { randomUUID } from 'node:crypto';
import type { AgentStatusView } from '../../domain/agent';
import { statusViewSchema } from '../../api/response-schemas';
import { spawnBody, startTestApi, type TestApi } from './api-harness';

describe('GET /agents/:agentId/status', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api.close();
  });

  const view = (overrides: Partial<AgentStatusView> = {}): AgentStatusView => ({
    agentId: randomUUID(),
    taskId: 'T-42',
    agentType: 'reviewer',
    status: 'running',
    phase: 'agent-loop',
    spawnedAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:01.000Z',
    ...overrides,
  });

  it('reads the Valkey projection, without its bookkeeping fields', async () => {
    const v = view();
    await api.store.write({ seq: 3, view: v, at: '2026-01-01T00:00:02.000Z' });
    const res = await api.request('GET', `/agents/${v.agentId}/status`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(v);
  });

  it('includes the result and error of a finished agent', async () => {
    const result = { branch: 'agent/T-42/abc', commitSha: 'a'.repeat(40), pushed: true, turns: 4, inputTokens: 10, outputTokens: 20 };
    const v = view({ status: 'completed', phase: 'done', completedAt: '2026-01-01T00:10:00.000Z', result });
    await api.store.write({ seq: 9, view: v, at: 'now' });
    const res = await api.request('GET', `/agents/${v.agentId.toUpperCase()}/status`);
    expect(res.body).toMatchObject({ status: 'completed', result, completedAt: v.completedAt });
  });

  it('answers the gates a run skipped (missingGates: skip) as the OpenAPI document describes them', async () => {
    const result = { pushed: true, turns: 2, inputTokens: 10, outputTokens: 20, gates: [{ name: 'coverage' as const, outcome: 'skipped' as const, durationMs: 0 }] };
    const v = view({ status: 'completed', phase: 'done', completedAt: '2026-01-01T00:10:00.000Z', result });
    await api.store.write({ seq: 9, view: v, at: 'now' });
    const res = await api.request('GET', `/agents/${v.agentId}/status`);
    expect(res.body).toMatchObject({ result });
    expect(statusViewSchema.safeParse(res.body).error?.issues).toBeUndefined();
  });

  it('falls back to Temporal when the Valkey key is missing: a started, unpicked workflow is spawning', async () => {
    const body = spawnBody({ agentType: 'tester' });
    const spawned = await api.request('POST', '/agents/spawn', { body });
    const res = await api.request('GET', `/agents/${spawned.body.agentId}/status`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      agentId: spawned.body.agentId,
      taskId: body.taskId,
      agentType: 'tester',
      status: 'spawning',
      spawnedAt: expect.stringMatching(/^\d{4}-/),
    });
  });

  it('reports a terminated workflow with no Valkey state as killed, with the reason and completion time', async () => {
    const spawned = await api.request('POST', '/agents/spawn', { body: spawnBody() });
    await api.client.workflow.getHandle(`agent-${spawned.body.agentId}`).terminate('operator pressed the red button');
    const res = await api.request('GET', `/agents/${spawned.body.agentId}/status`);
    expect(res.body).toMatchObject({ status: 'killed', error: 'operator pressed the red button', completedAt: expect.any(String) });
  });

  it('answers 404 for an id neither Valkey nor Temporal knows', async () => {
    const res = await api.request('GET', `/agents/${randomUUID()}/status`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('answers 404 for a workflow id that is not an agent run', async () => {
    const agentId = randomUUID();
    await api.client.workflow.start('somethingElse', { workflowId: `agent-${agentId}`, taskQueue: api.taskQueue, args: [] });
    const res = await api.request('GET', `/agents/${agentId}/status`);
    expect(res.status).toBe(404);
  });
});
