import { randomUUID } from 'node:crypto';
import { readKillAudit } from '../../state/audit-log';
import { keys } from '../../state/keys';
import { TranscriptStore } from '../../state/transcript-store';
import { requesterIdentity } from '../../api/auth';
import { FORCED_KILL_SEQ_OFFSET } from '../../api/killswitch';
import { SA } from '../../domain/search-attributes';
import { eventually, spawnBody, startTestApi, TEST_API_KEY, type TestApi } from './api-harness';

/**
 * The killswitch with no worker at all: every kill must end the agent by the deadline
 * (KILL_DEADLINE_SECONDS=2) through the forced path, without a worker's help.
 */
describe('kill and kill-all without a worker (forced path)', () => {
  let api: TestApi;
  const removed: string[] = [];
  beforeAll(async () => {
    api = await startTestApi({
      deps: {
        removeAgentContainers: async (agentId) => {
          removed.push(agentId);
          return 1;
        },
      },
    });
  });
  afterAll(async () => {
    await api.close();
  });

  const me = requesterIdentity(TEST_API_KEY);
  const spawn = async (body = spawnBody()): Promise<string> => {
    const res = await api.request('POST', '/agents/spawn', { body });
    expect(res.status).toBe(202);
    return res.body.agentId as string;
  };
  const describeAgent = (agentId: string) => api.client.workflow.getHandle(`agent-${agentId}`).describe();
  const auditFor = async (agentId: string) => (await readKillAudit(api.redis, 2000)).filter((r) => r.agentId === agentId);

  it('terminates an agent whose workers do not answer by the deadline, records killed, removes containers (forced)', async () => {
    const agentId = await spawn();
    // What a worker had written before it went away: the transcript must not outlive the run forever.
    await new TranscriptStore(api.redis).put(agentId, 0, { role: 'user', content: 'Task: T' });
    await api.redis.hset(keys.checkpoints(agentId), '1', '{}');
    expect(await api.redis.ttl(keys.transcript(agentId))).toBe(-1);
    const started = Date.now();
    const res = await api.request('POST', `/agents/${agentId}/kill`, { body: { reason: 'runaway loop' } });
    const elapsed = Date.now() - started;

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      agentId,
      status: 'killed',
      forced: true,
      alreadyFinished: false,
      containersRemoved: 1,
      error: 'killed: runaway loop (forced: workers unresponsive)',
      completedAt: expect.any(String),
    });
    // It waited out the deadline for the workflow before forcing.
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    expect((await describeAgent(agentId)).status.name).toBe('TERMINATED');
    expect(await api.store.getAgent(agentId)).toMatchObject({ status: 'killed', seq: FORCED_KILL_SEQ_OFFSET });
    expect(removed).toContain(agentId);
    expect(await auditFor(agentId)).toEqual([expect.objectContaining({ requestedBy: me, reason: 'runaway loop', outcome: 'forced' })]);
    for (const key of [keys.transcript(agentId), keys.checkpoints(agentId)]) {
      const ttl = await api.redis.ttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(api.config.STATE_TTL_SECONDS);
    }
  });

  it('delivers the kill signal with the reason and requester before forcing', async () => {
    const agentId = await spawn();
    await api.request('POST', `/agents/${agentId}/kill`);
    const history = await api.client.workflow.getHandle(`agent-${agentId}`).fetchHistory();
    const signal = history.events?.find((e) => e.workflowExecutionSignaledEventAttributes)?.workflowExecutionSignaledEventAttributes;
    expect(signal?.signalName).toBe('kill');
    const payload = JSON.parse(Buffer.from(signal!.input!.payloads![0]!.data!).toString());
    expect(payload).toEqual({ reason: 'killed via API', requestedBy: me });
  });

  it('answers a kill of an already-killed agent with its final status (alreadyFinished)', async () => {
    const agentId = await spawn();
    await api.request('POST', `/agents/${agentId}/kill`, { body: { reason: 'first' } });
    const res = await api.request('POST', `/agents/${agentId}/kill`, { body: { reason: 'second' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ agentId, status: 'killed', alreadyFinished: true, forced: false, error: 'killed: first (forced: workers unresponsive)' });
    expect((await auditFor(agentId)).map((r) => r.outcome)).toEqual(['already-finished', 'forced']);
  });

  it('answers a kill of a completed agent with its completed status and result', async () => {
    const body = spawnBody();
    const agentId = await spawn(body);
    const result = { pushed: true, turns: 3, inputTokens: 1, outputTokens: 2 };
    await api.store.write({
      seq: 5,
      view: { agentId, taskId: String(body.taskId), agentType: 'worker', status: 'completed', spawnedAt: 'then', completedAt: 'now', result },
      at: 'now',
    });
    await api.client.workflow.getHandle(`agent-${agentId}`).terminate('stand-in for a normal completion');
    const res = await api.request('POST', `/agents/${agentId}/kill`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ agentId, status: 'completed', result, alreadyFinished: true, forced: false });
  });

  it('answers 404 for an unknown agent and audits nothing', async () => {
    const agentId = randomUUID();
    const res = await api.request('POST', `/agents/${agentId}/kill`);
    expect(res.status).toBe(404);
    expect(await auditFor(agentId)).toEqual([]);
  });

  it('reports a kill whose container removal fails as kill_failed, after stopping the workflow', async () => {
    const failing = await startTestApi({
      deps: {
        removeAgentContainers: () => Promise.reject(new Error('docker daemon unreachable')),
      },
    });
    try {
      const spawned = await failing.request('POST', '/agents/spawn', { body: spawnBody() });
      const agentId: string = spawned.body.agentId;
      const res = await failing.request('POST', `/agents/${agentId}/kill`);
      expect(res.status).toBe(502);
      expect(res.body.error).toMatchObject({ code: 'kill_failed', message: expect.stringContaining('docker daemon unreachable'), details: { agentId } });
      expect((await failing.client.workflow.getHandle(`agent-${agentId}`).describe()).status.name).toBe('TERMINATED');
      expect((await auditFor(agentId))[0]).toMatchObject({ outcome: 'failed', detail: expect.stringContaining('docker daemon unreachable') });
    } finally {
      await failing.close();
    }
  });

  it('kill-all ends 20 live agents killed within the deadline, with counts, Temporal, Valkey and audit agreeing', async () => {
    const finished = await spawn();
    await api.client.workflow.getHandle(`agent-${finished}`).terminate('already gone');
    const agentIds = await Promise.all(Array.from({ length: 20 }, () => spawn()));
    await eventually(async () => (await liveOnQueue(api)) === 20, '20 agents visible');

    const started = Date.now();
    const res = await api.request('POST', '/agents/kill-all', { body: { reason: 'incident 42' } });
    const elapsed = Date.now() - started;

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      message: 'Kill all completed: 20 killed, 0 failed',
      total: 20,
      killed: 20,
      failed: 0,
      alreadyFinished: 0,
      forced: 20,
      errors: [],
    });
    // The deadlines run side by side: in series, 20 agents would take 20 x 2 s.
    expect(elapsed).toBeLessThan((20 * 2000) / 2);
    for (const agentId of agentIds) {
      expect((await describeAgent(agentId)).status.name).toBe('TERMINATED');
      expect((await api.store.getAgent(agentId))?.status).toBe('killed');
      expect(await auditFor(agentId)).toEqual([expect.objectContaining({ outcome: 'forced', reason: 'incident 42', requestedBy: me })]);
    }
    expect(await liveOnQueue(api)).toBe(0);
  });

  it('kill-all reaches the agents whose spawns answered just before it, without waiting for visibility', async () => {
    const agentIds = await Promise.all(Array.from({ length: 5 }, () => spawn()));
    const res = await api.request('POST', '/agents/kill-all');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total: 5, killed: 5, failed: 0 });
    for (const agentId of agentIds) expect((await api.store.getAgent(agentId))?.status).toBe('killed');
  });

  it('kill-all with nothing running answers zero counts', async () => {
    const res = await api.request('POST', '/agents/kill-all');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ message: 'Kill all completed: 0 killed, 0 failed', total: 0, killed: 0, failed: 0, errors: [] });
  });

  it("kill-all reaches only this deployment's task queue", async () => {
    const other = await startTestApi();
    try {
      const theirs = (await other.request('POST', '/agents/spawn', { body: spawnBody() })).body.agentId as string;
      const mine = await spawn();
      await eventually(async () => (await liveOnQueue(api)) === 1, 'own agent visible');
      const res = await api.request('POST', '/agents/kill-all');
      expect(res.body.total).toBe(1);
      expect((await describeAgent(mine)).status.name).toBe('TERMINATED');
      const d = await other.client.workflow.getHandle(`agent-${theirs}`).describe();
      expect(d.status.name).toBe('RUNNING');
      expect(d.typedSearchAttributes.get(SA.agentStatus)).toBe('spawning');
    } finally {
      await other.close();
    }
  });
});

/**
 * The acknowledgement step: a workflow that runs acknowledges a kill with a state write (phase
 * `stopping`) and may then take until KILL_DEADLINE_SECONDS to reach `killed`; one that does
 * not acknowledge within KILL_ACK_TIMEOUT_SECONDS (no worker) is forced then, not at the deadline.
 */
describe('kill acknowledgement', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ env: { KILL_ACK_TIMEOUT_SECONDS: '1', KILL_DEADLINE_SECONDS: '3600' } });
  });
  afterAll(async () => {
    await api.close();
  });

  const spawn = async (): Promise<{ agentId: string; taskId: string }> => {
    const body = spawnBody();
    const res = await api.request('POST', '/agents/spawn', { body });
    return { agentId: res.body.agentId as string, taskId: body.taskId as string };
  };

  it('forces a kill that no workflow acknowledges after the short timeout, not after the hour-long deadline', async () => {
    const { agentId } = await spawn();
    const res = await api.request('POST', `/agents/${agentId}/kill`, { body: { reason: 'no worker' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ agentId, status: 'killed', forced: true });
  });

  it('settles a kill whose run closes without reaching Valkey (terminated elsewhere) from Temporal, long before the deadline', async () => {
    const { agentId, taskId } = await spawn();
    const view = { agentId, taskId, agentType: 'worker' as const, spawnedAt: new Date().toISOString() };
    const handle = api.client.workflow.getHandle(`agent-${agentId}`);
    // The run acknowledges (so the kill is not forced), then is terminated by someone else and never writes `killed`.
    const elsewhere = (async () => {
      await eventually(async () => (await handle.fetchHistory()).events?.some((e) => e.workflowExecutionSignaledEventAttributes), 'the kill signal');
      await api.store.write({ seq: 1, view: { ...view, status: 'running', phase: 'stopping' }, at: new Date().toISOString() });
      await handle.terminate('stopped from the Web UI');
    })();
    const started = Date.now();
    const res = await api.request('POST', `/agents/${agentId}/kill`, { body: { reason: 'closed elsewhere' } });
    await elsewhere;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ agentId, status: 'killed', forced: false });
    // The deadline is an hour; the first check of Temporal after an acknowledgement comes at 4 s.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect((await handle.describe()).status.name).toBe('TERMINATED');
  });

  it('waits past the acknowledgement timeout for an acknowledged kill to reach killed by itself', async () => {
    const { agentId, taskId } = await spawn();
    const view = { agentId, taskId, agentType: 'worker' as const, spawnedAt: new Date().toISOString() };
    // What the workflow writes: the acknowledgement as soon as the signal arrives, `killed` once its work has stopped.
    const workflowWrites = (async () => {
      await eventually(async () => (await api.client.workflow.getHandle(`agent-${agentId}`).fetchHistory()).events?.some((e) => e.workflowExecutionSignaledEventAttributes), 'the kill signal');
      await api.store.write({ seq: 1, view: { ...view, status: 'running', phase: 'stopping' }, at: new Date().toISOString() });
      await new Promise((r) => setTimeout(r, 2500)); // longer than the acknowledgement timeout
      await api.store.write({ seq: 2, view: { ...view, status: 'killed', phase: 'cleanup', error: 'killed: slow stop' }, at: new Date().toISOString() });
    })();
    const res = await api.request('POST', `/agents/${agentId}/kill`, { body: { reason: 'slow stop' } });
    await workflowWrites;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ agentId, status: 'killed', forced: false, error: 'killed: slow stop' });
    expect((await api.client.workflow.getHandle(`agent-${agentId}`).describe()).status.name).toBe('RUNNING'); // nobody terminated it
    await api.client.workflow.getHandle(`agent-${agentId}`).terminate('test over');
  });
});

async function liveOnQueue(api: TestApi): Promise<number> {
  let n = 0;
  for await (const _ of api.client.workflow.list({ query: `WorkflowType = 'agentRun' AND ExecutionStatus = 'Running' AND TaskQueue = '${api.taskQueue}'` })) n++;
  return n;
}
