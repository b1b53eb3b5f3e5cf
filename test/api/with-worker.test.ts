import { Client, Connection } from '@temporalio/client';
import { SA } from '../../domain/search-attributes';
import { eventually, spawnBody, startTestApi, type TestApi } from './api-harness';
import { OwnRedisServer } from '../support/own-redis-server';
import { startStandInWorker, type StandInWorker } from './stand-in-worker';
import { COMPLETE_IMMEDIATELY, SLOW_STOP, SLOW_STOP_MS } from './stand-in-workflow';

/**
 * The API with a live worker on its task queue, running the stand-in workflow (stand-in-worker.ts)
 * so these tests do not depend on the agent machinery; and its own Valkey, which a test stops.
 */
describe('REST API with a live worker and its own Valkey', () => {
  let valkey: OwnRedisServer;
  let api: TestApi;
  let worker: StandInWorker;

  beforeAll(async () => {
    valkey = await OwnRedisServer.start();
    // A one-second acknowledgement timeout, shorter than the slow stand-in takes to stop; the deadline longer.
    api = await startTestApi({ env: { VALKEY_HOST: '127.0.0.1', VALKEY_PORT: String(valkey.port), KILL_ACK_TIMEOUT_SECONDS: '1', KILL_DEADLINE_SECONDS: '20' } });
    worker = await startStandInWorker(api, `api-test@${process.pid}`);
  });
  afterAll(async () => {
    await worker?.stop();
    await api?.close();
    await valkey?.stop();
  });

  it('is ready when Temporal and Valkey answer and a worker polls the task queue', async () => {
    const res = await eventually(async () => {
      const r = await api.request('GET', '/health/ready', { anonymous: true });
      return r.status === 200 ? r : undefined;
    }, 'ready');
    expect(res.body).toEqual({ status: 'ready', checks: { temporal: { status: 'up' }, valkey: { status: 'up' }, worker: { status: 'up' } } });
  });

  it('answers 503 naming Valkey while Valkey is down, and 200 again once it is back', async () => {
    await valkey.stop();
    const down = await api.request('GET', '/health/ready', { anonymous: true });
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'not_ready', down: ['valkey'], checks: { valkey: { status: 'down' }, temporal: { status: 'up' } } });
    // What failed, not the driver's words: no host, port or connection error reaches a probe.
    expect(down.body.checks.valkey.error).toMatch(/^Valkey PING (failed|did not answer within \d+ ms)$/);

    await valkey.start();
    const back = await eventually(async () => {
      const r = await api.request('GET', '/health/ready', { anonymous: true });
      return r.status === 200 ? r : undefined;
    }, 'ready after Valkey restart');
    expect(back.body.status).toBe('ready');
  });

  it('keeps the killswitch and status working while Valkey is down; spawn answers 503', async () => {
    const agentId: string = (await api.request('POST', '/agents/spawn', { body: spawnBody() })).body.agentId;
    await eventually(async () => (await api.request('GET', `/agents/${agentId}/status`)).body.status === 'running', 'running');
    await valkey.stop();
    try {
      const spawn = await api.request('POST', '/agents/spawn', { body: spawnBody() });
      expect(spawn.status).toBe(503);
      expect(spawn.body.error.code).toBe('valkey_unavailable');
      expect((await api.request('GET', `/agents/${agentId}/status`)).body.status).toBe('running');

      const kill = await api.request('POST', `/agents/${agentId}/kill`, { body: { reason: 'valkey outage drill' } });
      expect(kill.status).toBe(200);
      expect(kill.body).toMatchObject({ agentId, status: 'killed', forced: false });
      expect(api.logs.some((line) => line.includes('could not append the audit record'))).toBe(true);
    } finally {
      await valkey.start();
    }
  });

  it('answers 503 naming the worker when nobody polls the task queue', async () => {
    const lonely = await startTestApi();
    try {
      const res = await lonely.request('GET', '/health/ready', { anonymous: true });
      expect(res.status).toBe(503);
      expect(res.body.down).toEqual(['worker']);
      expect(res.body.checks.worker.error).toContain(lonely.taskQueue);
    } finally {
      await lonely.close();
    }
  });

  it('answers 503 naming Temporal (and so the worker) when Temporal does not answer', async () => {
    const unreachable = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
    const cut = await startTestApi({ deps: { client: unreachable } });
    try {
      const res = await cut.request('GET', '/health/ready', { anonymous: true });
      expect(res.status).toBe(503);
      expect(res.body.down.sort()).toEqual(['temporal', 'worker']);
      expect(res.body.checks.temporal.error).toMatch(/^Temporal (failed|did not answer within \d+ ms)$/);
      expect(JSON.stringify(res.body)).not.toContain('127.0.0.1');
    } finally {
      await cut.close();
      await unreachable.connection.close();
    }
  });

  it('reads a running agent through the status query when Valkey has no key', async () => {
    const spawned = await api.request('POST', '/agents/spawn', { body: spawnBody() });
    const res = await eventually(async () => {
      const r = await api.request('GET', `/agents/${spawned.body.agentId}/status`);
      return r.body.status === 'running' ? r : undefined;
    }, 'running');
    expect(res.body).toMatchObject({ agentId: spawned.body.agentId, status: 'running', startedAt: expect.any(String) });
  });

  it('kills a live agent through the signal path, before the deadline and without forcing', async () => {
    const agentId: string = (await api.request('POST', '/agents/spawn', { body: spawnBody() })).body.agentId;
    await eventually(async () => (await api.request('GET', `/agents/${agentId}/status`)).body.status === 'running', 'running');
    const res = await api.request('POST', `/agents/${agentId}/kill`, { body: { reason: 'stop please' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ agentId, status: 'killed', forced: false, alreadyFinished: false });
    const d = await api.client.workflow.getHandle(`agent-${agentId}`).describe();
    expect(d.status.name).toBe('COMPLETED');
    expect(d.typedSearchAttributes.get(SA.agentStatus)).toBe('killed');
  });

  it('does not force a kill the workflow has not acknowledged while a worker polls its queue: it waits for the run to stop', async () => {
    const body = spawnBody({ context: { repository: 'https://git.example.com/r.git', branch: 'main', workItems: [SLOW_STOP], skills: [] } });
    const agentId: string = (await api.request('POST', '/agents/spawn', { body })).body.agentId;
    await eventually(async () => (await api.request('GET', `/agents/${agentId}/status`)).body.status === 'running', 'running');
    const started = Date.now();
    const res = await api.request('POST', `/agents/${agentId}/kill`, { body: { reason: 'busy worker' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ agentId, status: 'killed', forced: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(SLOW_STOP_MS);
    // The workflow ended by itself; a forced kill would have terminated it after one second.
    expect((await api.client.workflow.getHandle(`agent-${agentId}`).describe()).status.name).toBe('COMPLETED');
  });

  it('answers a kill of an agent that completed with its final status', async () => {
    const body = spawnBody({ context: { repository: 'https://git.example.com/r.git', branch: 'main', workItems: [COMPLETE_IMMEDIATELY], skills: [] } });
    const agentId: string = (await api.request('POST', '/agents/spawn', { body })).body.agentId;
    await api.client.workflow.getHandle(`agent-${agentId}`).result();
    const res = await api.request('POST', `/agents/${agentId}/kill`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ agentId, status: 'completed', alreadyFinished: true, forced: false });
  });
});

