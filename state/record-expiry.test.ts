/** The reaper target for Valkey records of runs that closed without their final state write (real Valkey). */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { keys } from './keys';
import { expireClosedRunRecords, recordKeys } from './record-expiry';

describe('expireClosedRunRecords', () => {
  // A database of its own: the reaper scans every agent's keys, and other tests share this server.
  const redis = new Redis({ host: process.env.VALKEY_HOST ?? '127.0.0.1', port: Number(process.env.VALKEY_PORT ?? 6379), db: 13, maxRetriesPerRequest: 1 });
  afterAll(async () => {
    await redis.quit();
  });

  async function writeRecords(agentId: string): Promise<void> {
    await redis
      .multi()
      .set(keys.agent(agentId), JSON.stringify({ agentId, status: 'running' }))
      .rpush(keys.transcript(agentId), '{"role":"user","content":"task"}')
      .hset(keys.checkpoints(agentId), '1', '{}')
      .hset(keys.checkpointPacks(agentId), 'c1', 'pack')
      .xadd(keys.agentEvents(agentId), '*', 'event', '{}')
      .exec();
  }

  it('gives the records of a closed run the TTL, and leaves a live run and records that already expire alone', async () => {
    const closed = randomUUID();
    const live = randomUUID();
    const ending = randomUUID();
    for (const id of [closed, live, ending]) await writeRecords(id);
    for (const key of recordKeys(ending)) await redis.expire(key, 50);
    const asked: string[] = [];
    const isClosed = async (agentId: string) => {
      asked.push(agentId);
      return agentId !== live;
    };

    const expired = await expireClosedRunRecords(redis, isClosed, 600);

    expect(expired).toBeGreaterThanOrEqual(1);
    for (const key of recordKeys(closed)) {
      if (await redis.exists(key)) expect(await redis.ttl(key)).toBeGreaterThan(590);
    }
    for (const key of recordKeys(live)) expect(await redis.ttl(key)).toBeLessThan(0);
    expect(asked).toContain(live);
    expect(asked).not.toContain(ending);
    expect(await redis.ttl(keys.transcript(ending))).toBeLessThanOrEqual(50);
    await redis.del(...[closed, live, ending].flatMap(recordKeys));
  });

  it("expires a closed run's task record, unless a later agent of the task wrote it since", async () => {
    const taskId = randomUUID();
    const otherTaskId = randomUUID();
    const closed = randomUUID();
    const superseded = randomUUID();
    const task = (agentId: string) => JSON.stringify({ taskId, agentId, status: 'running' });
    // Terminated from the Web UI: the last state write set the task record without a TTL.
    await redis.set(keys.agent(closed), JSON.stringify({ agentId: closed, taskId, status: 'running' }));
    await redis.set(keys.task(taskId), task(closed));
    // An older agent of another task whose record a newer agent (still running) took over.
    await redis.set(keys.agent(superseded), JSON.stringify({ agentId: superseded, taskId: otherTaskId, status: 'running' }));
    await redis.set(keys.task(otherTaskId), JSON.stringify({ taskId: otherTaskId, agentId: randomUUID(), status: 'running' }));

    await expireClosedRunRecords(redis, async (agentId) => agentId === closed || agentId === superseded, 600);

    expect(await redis.ttl(keys.task(taskId))).toBeGreaterThan(590);
    expect(await redis.ttl(keys.task(otherTaskId))).toBe(-1);
    await redis.del(keys.task(taskId), keys.task(otherTaskId), ...[closed, superseded].flatMap(recordKeys));
  });

  it("expires review verdicts stored after the run's other records got their TTL", async () => {
    const agentId = randomUUID();
    await writeRecords(agentId);
    for (const key of recordKeys(agentId)) await redis.expire(key, 50);
    await redis.hset(keys.spend(agentId), 'total', '1000');
    await redis.expire(keys.spend(agentId), 50);
    await redis.hset(keys.reviews(agentId), 'pre-commit:1', '{}');

    await expireClosedRunRecords(redis, async () => true, 600);

    expect(await redis.ttl(keys.reviews(agentId))).toBeGreaterThan(0);
    await redis.del(...recordKeys(agentId));
  });

  it("expires any agent record written without a TTL after the others got theirs: a rebuild's host claim landing after a forced kill", async () => {
    const agentId = randomUUID();
    await writeRecords(agentId);
    for (const key of recordKeys(agentId)) await redis.expire(key, 50);
    // CheckpointStore.claimHost's plain SET, from an attempt that heard of the termination only at its next heartbeat.
    await redis.set(keys.checkpointHost(agentId), 'host-b');

    await expireClosedRunRecords(redis, async () => true, 600);

    for (const key of recordKeys(agentId)) expect([key, await redis.ttl(key) !== -1]).toEqual([key, true]);
    await redis.del(...recordKeys(agentId));
  });
});

