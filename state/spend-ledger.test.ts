/** The spend ledger against real Valkey: entries once, the total, and a status that shows what was paid after the final write. */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { AgentStatusView } from '../domain/agent';
import { connectTestRedis, subscribe } from '../test/support/redis';
import { AgentStateStore } from './agent-state-store';
import { keys } from './keys';
import { SpendLedger } from './spend-ledger';

let redis: Redis;
let ledger: SpendLedger;
let store: AgentStateStore;
beforeAll(() => {
  redis = connectTestRedis();
  ledger = new SpendLedger(redis);
  store = new AgentStateStore(redis, { terminalTtlSeconds: 3600 });
});
afterAll(() => redis.quit());

const killed = (agentId: string, costUsd: number): AgentStatusView => ({
  agentId,
  taskId: `T-${agentId.slice(0, 6)}`,
  agentType: 'worker',
  status: 'killed',
  spawnedAt: '2026-01-01T00:00:00.000Z',
  progress: { turn: 1, inputTokens: 10, outputTokens: 10, costUsd },
  result: { pushed: false, turns: 1, inputTokens: 10, outputTokens: 10, costUsd },
});

describe('SpendLedger (real Valkey)', () => {
  it('counts each call once, exact to the micro-dollar, however often it is recorded', async () => {
    const agentId = randomUUID();
    expect(await ledger.total(agentId)).toBe(0);
    expect(await ledger.record(agentId, 'turn:1', 0.012345)).toBe(0.012345);
    expect(await ledger.record(agentId, 'turn:1', 0.012345)).toBe(0.012345);
    for (let i = 3; i < 203; i += 2) await ledger.record(agentId, `turn:${i}`, 0.1);
    expect(await ledger.total(agentId)).toBe(10.012345);
    await expect(ledger.record(agentId, 'total', 1)).rejects.toThrow(/not a call id/);
  });

  it('holds a call until its price replaces the hold; a hold taken on a stale reading is refused', async () => {
    const agentId = randomUUID();
    const seen = await ledger.committed(agentId);
    expect(seen).toEqual({ micros: 0, usd: 0, heldUsd: 0 });
    expect(await ledger.hold(agentId, 'turn:1:a', 0.05, seen)).toBe(true);
    expect(await ledger.committed(agentId)).toEqual({ micros: 50_000, usd: 0.05, heldUsd: 0.05 });
    // Another attempt checked its budget before that hold: it must check again.
    expect(await ledger.hold(agentId, 'turn:1:b', 0.05, seen)).toBe(false);
    expect(await ledger.hold(agentId, 'turn:1:b', 0.05, await ledger.committed(agentId))).toBe(true);
    expect((await ledger.committed(agentId)).usd).toBe(0.1);
    expect(await ledger.total(agentId)).toBe(0);

    // Priced: the hold goes, the price counts, once however often it is recorded.
    expect(await ledger.record(agentId, 'turn:1:a', 0.002)).toBe(0.002);
    expect(await ledger.record(agentId, 'turn:1:a', 0.002)).toBe(0.002);
    expect((await ledger.committed(agentId)).usd).toBe(0.052);
    // Never billed: released. Releasing twice, or a call never held, changes nothing.
    await ledger.release(agentId, 'turn:1:b');
    await ledger.release(agentId, 'turn:1:b');
    await ledger.release(agentId, 'turn:9:x');
    expect(await ledger.committed(agentId)).toEqual({ micros: 2_000, usd: 0.002, heldUsd: 0 });
    // A recorded call is never held again.
    expect(await ledger.hold(agentId, 'turn:1:a', 0.05, await ledger.committed(agentId))).toBe(true);
    expect((await ledger.committed(agentId)).usd).toBe(0.002);
    for (const id of ['total', 'held', 'hold:turn:1:a']) await expect(ledger.hold(agentId, id, 1, await ledger.committed(agentId))).rejects.toThrow(/not a call id/);
  });

  it('gives a final state the cost its calls were paid, and a later read what was paid after it', async () => {
    const agentId = randomUUID();
    await ledger.record(agentId, 'turn:1', 0.02);
    await ledger.record(agentId, 'review:post-commit:1:00', 0.03); // paid by a gate attempt that failed afterwards
    const events = await subscribe(keys.events());
    await store.write({ seq: 1, view: killed(agentId, 0.02), at: 't1' });
    await new Promise((r) => setTimeout(r, 100));
    await events.stop();
    expect(events.messages.find((m) => (m as { agentId: string }).agentId === agentId)).toMatchObject({ to: 'killed', costUsd: 0.05 });
    expect((await store.getAgent(agentId))?.result?.costUsd).toBe(0.05);

    // The turn the kill abandoned is answered after the final write (its cancellation comes with a later heartbeat).
    await ledger.record(agentId, 'turn:3', 0.04);
    expect(await store.getAgent(agentId)).toMatchObject({ status: 'killed', progress: { costUsd: 0.09 }, result: { costUsd: 0.09 } });
    // The stored record is the workflow's; only reads add the late call.
    expect(JSON.parse((await redis.get(keys.agent(agentId)))!)).toMatchObject({ result: { costUsd: 0.05 } });
  });

  it('leaves a view that already carries the whole cost as it is', async () => {
    const agentId = randomUUID();
    await ledger.record(agentId, 'turn:1', 0.02);
    await store.write({ seq: 1, view: killed(agentId, 0.02), at: 't1' });
    expect(await store.getAgent(agentId)).toMatchObject({ progress: { costUsd: 0.02 }, result: { costUsd: 0.02 } });
  });
});
