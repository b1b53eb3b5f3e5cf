/** The agent event log against a real Valkey: what an append writes expires with the run's other records. */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { AgentEventLog } from './agent-events';
import { AgentStateStore } from './agent-state-store';
import { keys } from './keys';
import { recordKeys } from './record-expiry';
import { connectTestRedis } from '../test/support/redis';
import type { AgentStatusView } from '../domain/agent';
import type { TurnAgentEvent } from '../domain/agent-events';

const TTL_SECONDS = 3600;
const AT = '2026-01-01T00:00:00.000Z';

describe('AgentEventLog (real Valkey)', () => {
  let redis: Redis;
  let events: AgentEventLog;
  let store: AgentStateStore;
  const written: string[] = [];
  const taskIdOf = (agentId: string) => `T-${agentId.slice(0, 6)}`;
  beforeAll(() => {
    redis = connectTestRedis();
    events = new AgentEventLog(redis);
    store = new AgentStateStore(redis, { terminalTtlSeconds: TTL_SECONDS });
  });
  afterAll(async () => {
    await redis.del(...written.flatMap((agentId) => [...recordKeys(agentId), keys.task(taskIdOf(agentId))]));
    await redis.quit();
  });

  function newAgent(): string {
    const agentId = randomUUID();
    written.push(agentId);
    return agentId;
  }
  const view = (agentId: string, status: AgentStatusView['status']): AgentStatusView => ({ agentId, taskId: taskIdOf(agentId), agentType: 'worker', status, spawnedAt: AT });
  const turn = (agentId: string, n: number): TurnAgentEvent => ({ type: 'turn', agentId, turn: n, stopReason: 'end_turn', inputTokens: 1, outputTokens: 1, tools: [], at: AT });

  /** The TTL in seconds of each of the agent's records that exists. */
  async function ttls(agentId: string): Promise<Record<string, number>> {
    const found: Record<string, number> = {};
    for (const key of recordKeys(agentId)) {
      const ttl = await redis.ttl(key);
      if (ttl !== -2) found[key] = ttl;
    }
    return found;
  }

  it('gives the seen hash that an append after the final write creates the TTL of the stream', async () => {
    const agentId = newAgent();
    await store.write({ seq: 1, view: view(agentId, 'running'), at: AT });
    await store.write({ seq: 2, view: view(agentId, 'killed'), at: AT }); // the final write: the records start to expire
    // The answer of the model call the kill abandoned comes in now, and its turn event is appended.
    expect(await events.append(turn(agentId, 1), { dedupKey: 'turn:1' })).toMatchObject({ appended: true });

    const found = await ttls(agentId);
    expect(Object.keys(found)).toEqual(expect.arrayContaining([keys.agent(agentId), keys.agentEvents(agentId), keys.agentEventsSeen(agentId)]));
    for (const ttl of Object.values(found)) expect(ttl).toBeGreaterThan(TTL_SECONDS - 60);
  });

  it('gives a stream that a late append creates the TTL its seen hash already has', async () => {
    const agentId = newAgent();
    // The seen hash outlived the stream (each key expires on its own).
    await redis.multi().hset(keys.agentEventsSeen(agentId), 'turn:1', '1-0').expire(keys.agentEventsSeen(agentId), TTL_SECONDS).exec();
    expect(await events.append(turn(agentId, 2), { dedupKey: 'turn:2' })).toMatchObject({ appended: true });

    expect(await redis.ttl(keys.agentEvents(agentId))).toBeGreaterThan(TTL_SECONDS - 60);
    expect(await redis.ttl(keys.agentEventsSeen(agentId))).toBeGreaterThan(TTL_SECONDS - 60);
  });

  it('leaves the events of a live run without a TTL, and starts their expiry when told', async () => {
    const agentId = newAgent();
    await store.write({ seq: 1, view: view(agentId, 'running'), at: AT });
    await events.append(turn(agentId, 1), { dedupKey: 'turn:1' });
    expect(await events.append(turn(agentId, 1), { dedupKey: 'turn:1' })).toMatchObject({ appended: false });
    expect(await redis.ttl(keys.agentEvents(agentId))).toBe(-1);
    expect(await redis.ttl(keys.agentEventsSeen(agentId))).toBe(-1);

    await events.append(turn(agentId, 2), { dedupKey: 'turn:2', expireAfterSeconds: TTL_SECONDS });
    expect(await redis.ttl(keys.agentEvents(agentId))).toBeGreaterThan(TTL_SECONDS - 60);
    expect(await redis.ttl(keys.agentEventsSeen(agentId))).toBeGreaterThan(TTL_SECONDS - 60);
  });
});
