/** Final statuses for runs Temporal closed without the run's own final write (real Valkey). */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { AgentStatusView } from '../domain/agent';
import { connectTestRedis } from '../test/support/redis';
import { AgentEventLog } from './agent-events';
import { AgentStateStore } from './agent-state-store';
import { settleClosedRunStates, type CloseStatus } from './closed-run-states';
import { keys } from './keys';

let redis: Redis;
let store: AgentStateStore;
beforeAll(() => {
  redis = connectTestRedis();
  store = new AgentStateStore(redis, { terminalTtlSeconds: 3600 });
});
afterAll(() => redis.quit());

const running = (agentId: string): AgentStatusView => ({
  agentId,
  taskId: `T-${agentId.slice(0, 8)}`,
  agentType: 'worker',
  status: 'running',
  phase: 'agent-loop',
  spawnedAt: '2026-01-01T00:00:00.000Z',
  startedAt: '2026-01-01T00:00:01.000Z',
  progress: { turn: 3, inputTokens: 10, outputTokens: 20, costUsd: 0.5 },
});

describe('settleClosedRunStates', () => {
  it('ends a run terminated through Temporal as killed, with the reason, a final event and the state TTL', async () => {
    const agentId = randomUUID();
    await store.write({ seq: 7, view: running(agentId), at: 't1' });

    expect(await settleClosedRunStates(store, [agentId], async () => 'TERMINATED')).toBe(1);

    expect(await store.getAgent(agentId)).toMatchObject({ status: 'killed', phase: 'done', error: 'killed: terminated through Temporal', seq: 8, progress: { turn: 3, costUsd: 0.5 } });
    expect(await redis.ttl(keys.agent(agentId))).toBeGreaterThan(3500);
    const events = await new AgentEventLog(redis).readAfter(agentId, '0', 100);
    expect(events.map((e) => e.event)).toContainEqual(expect.objectContaining({ type: 'lifecycle', from: 'running', to: 'killed', reason: 'killed: terminated through Temporal' }));
  });

  it.each<[CloseStatus, string, RegExp]>([
    ['TIMED_OUT', 'failed', /execution timeout/],
    ['NOT_FOUND', 'failed', /gone from Temporal/],
    ['FAILED', 'failed', /closed \(FAILED\)/],
    ['CANCELLED', 'killed', /cancelled through Temporal/],
  ])('ends a run closed as %s as %s', async (close, status, error) => {
    const agentId = randomUUID();
    await store.write({ seq: 1, view: running(agentId), at: 't1' });
    await settleClosedRunStates(store, [agentId], async () => close);
    expect(await store.getAgent(agentId)).toMatchObject({ status, error: expect.stringMatching(error) });
  });

  it('leaves a live run, a completed one whose final write failed, and a run already ended alone', async () => {
    const live = randomUUID();
    const completed = randomUUID();
    const ended = randomUUID();
    for (const id of [live, completed]) await store.write({ seq: 1, view: running(id), at: 't1' });
    await store.write({ seq: 1, view: { ...running(ended), status: 'failed', error: 'quality gates failed' }, at: 't1' });
    const asked: string[] = [];
    const closeStatus = async (agentId: string): Promise<CloseStatus | null> => {
      asked.push(agentId);
      return agentId === live ? null : 'COMPLETED';
    };

    expect(await settleClosedRunStates(store, [live, completed, ended, randomUUID()], closeStatus)).toBe(0);

    expect((await store.getAgent(live))?.status).toBe('running');
    expect((await store.getAgent(completed))?.status).toBe('running');
    expect((await store.getAgent(ended))?.error).toBe('quality gates failed');
    expect(asked).toEqual([live, completed]); // an ended or unknown agent costs no Temporal call
  });
});
