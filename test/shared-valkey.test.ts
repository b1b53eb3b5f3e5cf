/**
 * Two deployments, each with its own Temporal namespace, sharing one Valkey: a worker's reapers
 * ask their own namespace how a run closed, so they must leave the other deployment's live
 * agents alone (real Temporal, real Valkey, the worker's reaper targets).
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { Client, Connection } from '@temporalio/client';
import { publicView } from '../api/agent-status';
import type { AgentStatusView } from '../domain/agent';
import { AgentStateStore } from '../state/agent-state-store';
import { keys } from '../state/keys';
import { expireRecords } from '../state/record-expiry';
import { valkeyRecordTargets, workflowCloseStatus } from '../worker/closed-check';
import { passLookup } from '../worker/reaper';
import { testEnv } from './support/env';

const running = (agentId: string): AgentStatusView => ({
  agentId,
  taskId: `T-${agentId.slice(0, 8)}`,
  agentType: 'worker',
  status: 'running',
  phase: 'agent-loop',
  spawnedAt: '2026-01-01T00:00:00.000Z',
  startedAt: '2026-01-01T00:00:01.000Z',
});

describe('reapers on a Valkey shared with a deployment of another namespace', () => {
  // A database of its own: the reaper targets scan every agent's keys.
  const redis = new Redis({ host: testEnv.valkeyHost, port: testEnv.valkeyPort, db: 12, maxRetriesPerRequest: 1 });
  let client: Client;
  beforeAll(async () => {
    client = new Client({ connection: await Connection.connect({ address: testEnv.temporalAddress }), namespace: 'default' });
  });
  afterAll(async () => {
    await client.connection.close();
    await redis.quit();
  });

  it("settles and expires this namespace's closed runs, never the other deployment's live ones", async () => {
    const theirs = randomUUID();
    const ours = randomUUID();
    // The other deployment's worker records its live agent (its workflow runs in its namespace).
    await new AgentStateStore(redis, { terminalTtlSeconds: 3600, namespace: 'other-deployment' }).write({ seq: 3, view: running(theirs), at: 't1' });
    await redis.hset(keys.transcript(theirs), '0', '{"role":"user","content":"task"}');
    // One of ours whose workflow is gone from Temporal without its final write.
    const states = new AgentStateStore(redis, { terminalTtlSeconds: 3600, namespace: 'default' });
    await states.write({ seq: 3, view: running(ours), at: 't1' });
    await redis.hset(keys.transcript(ours), '0', '{"role":"user","content":"task"}');

    const lookup = passLookup(workflowCloseStatus(client));
    for (const target of valkeyRecordTargets({ states, redis, namespace: 'default', taskQueue: 'shared-valkey', ttlSeconds: 600 })) await target.reap(lookup);

    expect(await states.getAgent(theirs)).toMatchObject({ status: 'running', seq: 3 });
    expect(await redis.ttl(keys.agent(theirs))).toBe(-1);
    expect(await redis.ttl(keys.transcript(theirs))).toBe(-1);
    expect(await states.getAgent(ours)).toMatchObject({ status: 'failed', error: expect.stringContaining('gone from Temporal') });
    expect(await redis.ttl(keys.transcript(ours))).toBeGreaterThan(0);
    // The namespace is bookkeeping: never part of what the API answers.
    expect(publicView((await states.getAgent(theirs))!)).not.toHaveProperty('namespace');
    await redis.del(keys.agent(theirs), keys.transcript(theirs), keys.agent(ours), keys.transcript(ours), keys.task(running(theirs).taskId), keys.task(running(ours).taskId));
  });

  it("leaves the records of a deployment on another task queue of the same namespace to that deployment's reaper", async () => {
    const theirs = randomUUID();
    // Written by the other deployment's worker; its run is gone from Temporal without its final write.
    await new AgentStateStore(redis, { terminalTtlSeconds: 3600, namespace: 'default', taskQueue: 'their-queue' }).write({ seq: 3, view: running(theirs), at: 't1' });
    const states = new AgentStateStore(redis, { terminalTtlSeconds: 3600, namespace: 'default', taskQueue: 'shared-valkey' });
    const lookup = passLookup(workflowCloseStatus(client));
    for (const target of valkeyRecordTargets({ states, redis, namespace: 'default', taskQueue: 'shared-valkey', ttlSeconds: 600 })) await target.reap(lookup);
    // Settled here, the record would name this deployment's queue, and theirs would no longer know its agent.
    expect(await states.getAgent(theirs)).toMatchObject({ status: 'running', seq: 3, taskQueue: 'their-queue' });
    expect(await redis.ttl(keys.agent(theirs))).toBe(-1);
    await redis.del(keys.agent(theirs), keys.task(running(theirs).taskId));
  });

  it("keeps each namespace's record of a task it shares with the other deployment, and expires only its own", async () => {
    const taskId = `T-shared-${randomUUID().slice(0, 8)}`;
    const ours = randomUUID();
    const theirs = randomUUID();
    const states = new AgentStateStore(redis, { terminalTtlSeconds: 600, namespace: 'default' });
    const others = new AgentStateStore(redis, { terminalTtlSeconds: 600, namespace: 'other-deployment' });
    await states.write({ seq: 3, view: { ...running(ours), taskId }, at: 't1' });
    await others.write({ seq: 3, view: { ...running(theirs), taskId }, at: 't2' });
    // Before: one key per task id, the last writer's: this deployment's coordinator read the other's agent.
    expect(await states.getTask(taskId)).toMatchObject({ agentId: ours, status: 'running' });
    expect(await others.getTask(taskId)).toMatchObject({ agentId: theirs, status: 'running' });
    // The default namespace keeps the seed's key, which coordinators read.
    expect(JSON.parse((await redis.get(keys.task(taskId)))!)).toMatchObject({ agentId: ours });

    await expireRecords(redis, ours, 600);
    expect(await redis.ttl(keys.task(taskId))).toBeGreaterThan(0);
    expect(await redis.ttl(keys.task(taskId, 'other-deployment'))).toBe(-1);
    await others.write({ seq: 4, view: { ...running(theirs), taskId, status: 'completed', completedAt: 't3' }, at: 't3' });
    expect(await others.getTask(taskId)).toMatchObject({ agentId: theirs, status: 'completed' });
    expect(await states.getTask(taskId)).toMatchObject({ agentId: ours, status: 'running' });
    await redis.del(keys.agent(ours), keys.agent(theirs), keys.task(taskId), keys.task(taskId, 'other-deployment'));
  });
});
