import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { AgentStateStore } from './agent-state-store';
import { appendKillAudit, readKillAudit } from './audit-log';
import { keys } from './keys';
import { connectTestRedis, subscribe } from '../test/support/redis';
import type { AgentStatusView } from '../domain/agent';

describe('AgentStateStore (real Valkey)', () => {
  let redis: Redis;
  let store: AgentStateStore;
  beforeAll(() => {
    redis = connectTestRedis();
    store = new AgentStateStore(redis, { terminalTtlSeconds: 3600 });
  });
  afterAll(async () => {
    await redis.quit();
  });

  const view = (agentId: string, status: AgentStatusView['status']): AgentStatusView => ({
    agentId,
    taskId: `T-${agentId.slice(0, 6)}`,
    agentType: 'worker',
    status,
    spawnedAt: '2026-01-01T00:00:00.000Z',
  });

  it('writes agent and task keys and publishes each status change once', async () => {
    const agentId = randomUUID();
    const events = await subscribe(keys.events());
    await store.write({ seq: 1, view: view(agentId, 'spawning'), at: 't1' });
    await store.write({ seq: 2, view: { ...view(agentId, 'running'), phase: 'agent-loop' }, at: 't2', reason: 'workspace ready' });
    await store.write({ seq: 3, view: { ...view(agentId, 'running'), phase: 'commit' }, at: 't3' });
    await store.write({ seq: 4, view: view(agentId, 'completed'), at: 't4' });
    await new Promise((r) => setTimeout(r, 100));
    await events.stop();
    const mine = events.messages.filter((m) => (m as { agentId: string }).agentId === agentId);
    expect(mine).toEqual([
      { agentId, taskId: view(agentId, 'spawning').taskId, from: null, to: 'spawning', at: 't1' },
      { agentId, taskId: view(agentId, 'spawning').taskId, from: 'spawning', to: 'running', at: 't2', reason: 'workspace ready' },
      { agentId, taskId: view(agentId, 'spawning').taskId, from: 'running', to: 'completed', at: 't4' },
    ]);
    expect((await store.getAgent(agentId))?.status).toBe('completed');
    expect((await store.getTask(view(agentId, 'spawning').taskId))?.agentId).toBe(agentId);
    expect(await redis.ttl(keys.agent(agentId))).toBeGreaterThan(0);
  });

  it('ignores a retried (stale) write so state never moves backwards', async () => {
    const agentId = randomUUID();
    await store.write({ seq: 1, view: view(agentId, 'spawning'), at: 't1' });
    await store.write({ seq: 2, view: view(agentId, 'running'), at: 't2' });
    const retried = await store.write({ seq: 1, view: view(agentId, 'spawning'), at: 't1' });
    expect(retried.applied).toBe(false);
    expect((await store.getAgent(agentId))?.status).toBe('running');
  });

  it('lets a terminal state absorb later writes', async () => {
    const agentId = randomUUID();
    await store.write({ seq: 1, view: view(agentId, 'running'), at: 't1' });
    await store.write({ seq: 2, view: view(agentId, 'killed'), at: 't2' });
    const late = await store.write({ seq: 3, view: view(agentId, 'completed'), at: 't3' });
    expect(late.applied).toBe(false);
    expect((await store.getAgent(agentId))?.status).toBe('killed');
  });

  it('appends kill audit records to a stream', async () => {
    const agentId = randomUUID();
    await appendKillAudit(redis, { agentId, requestedBy: 'api-key', reason: 'test', outcome: 'killed', at: 'now' });
    const recent = await readKillAudit(redis, 10);
    expect(recent.find((r) => r.agentId === agentId)).toMatchObject({ outcome: 'killed', reason: 'test' });
  });
});
