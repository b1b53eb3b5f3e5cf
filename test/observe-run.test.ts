/**
 * Watching, reading and retrying real agent runs through the REST API: real Temporal dev server,
 * real worker and workflow, real Valkey, real git on a file:// remote, the scripted fake model.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { AgentStateStore } from '../state/agent-state-store';
import { createApp } from '../api/app';
import { startEventFeed, type EventFeed } from '../api/event-feed';
import { redactSecrets } from '../scanner';
import { SA } from '../domain/search-attributes';
import { createRemoteRepo, nodeProjectFiles, showFile } from './support/git-fixtures';
import { eventually, startHarness, type Harness } from './support/harness';
import { parsePrometheus, sample } from './support/prometheus';

const API_KEY = 'observe-api-key-0123456789abcdef';
/** Shaped like a live Anthropic key, made fresh per run so no scanner allowlist knows it. */
const liveLookingKey = () => `sk-ant-api03-${randomBytes(80).toString('base64url').slice(0, 93)}AA`;

interface Response {
  status: number;
  // Tests read arbitrary fields; the shape is what is under test.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

describe('watching, reading and retrying agent runs', () => {
  let h: Harness;
  let server: Server;
  let baseUrl: string;
  let eventFeed: EventFeed;
  let remote: { dir: string; url: string };

  beforeAll(async () => {
    h = await startHarness({ ORCHESTRATOR_API_KEY: API_KEY });
    eventFeed = startEventFeed(h.redis);
    const store = new AgentStateStore(h.redis, { terminalTtlSeconds: 3600 });
    const app = createApp({ client: h.client, redis: h.redis, store, config: h.config, logger: pino({ level: 'silent' }), eventFeed });
    server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    remote = createRemoteRepo(nodeProjectFiles());
  });
  afterAll(async () => {
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    await eventFeed?.stop();
    await h?.close();
  });

  const request = async (method: string, urlPath: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Response> => {
    const res = await fetch(`${baseUrl}${urlPath}`, {
      method,
      headers: { 'X-API-Key': API_KEY, ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }), ...options.headers },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  };
  const spawn = async (taskId: string, agentType = 'worker'): Promise<string> => {
    const res = await request('POST', '/agents/spawn', {
      body: { taskId, agentType, gateProfile: 'minimal', context: { repository: remote.url, branch: 'main', workItems: ['US-001 say hello'], skills: [] } },
    });
    expect(res.status).toBe(202);
    return res.body.agentId as string;
  };
  const finalStatus = (agentId: string) =>
    eventually(
      async () => {
        const view = (await request('GET', `/agents/${agentId}/status`)).body;
        return ['completed', 'failed', 'killed'].includes(view?.status) ? view : undefined;
      },
      60_000,
      `agent ${agentId} to finish`,
    );
  const metrics = async () => parsePrometheus(await (await fetch(`${baseUrl}/metrics`)).text());

  it('never returns a secret the agent printed: the transcript is redacted, page by page', async () => {
    const taskId = `T-obs-${randomUUID().slice(0, 8)}`;
    const key = liveLookingKey();
    h.fakeModel.script(taskId, [
      { tools: [{ name: 'bash', input: { command: `echo "hello" > hello.txt && echo "ANTHROPIC_API_KEY=${key}"` } }] },
      { text: 'Done.' },
    ]);
    const agentId = await spawn(taskId);
    expect(await finalStatus(agentId)).toMatchObject({ status: 'completed' });
    // The agent did print it: the model saw it in the tool result.
    expect(JSON.stringify(h.fakeModel.requestsFor(taskId)[1]!.body.messages)).toContain(key);

    const all = await request('GET', `/agents/${agentId}/transcript`);
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ agentId, from: 0, total: 4 });
    expect(all.body.messages.map((m: { index: number; role: string }) => `${m.index}:${m.role}`)).toEqual(['0:user', '1:assistant', '2:user', '3:assistant']);
    const text = JSON.stringify(all.body);
    expect(text).not.toContain(key);
    expect(text).not.toContain(key.slice(20, 60));
    expect(text).toContain(redactSecrets(`ANTHROPIC_API_KEY=${key}`)); // the redacted form, where the key was
    expect(text).toContain('hello.txt'); // the rest is kept

    const page = await request('GET', `/agents/${agentId}/transcript?from=1&limit=2`);
    expect(page.body.messages.map((m: { index: number }) => m.index)).toEqual([1, 2]);
    expect(page.body.nextFrom).toBe(3);
    expect(JSON.stringify(page.body)).not.toContain(key);

    const bad = await request('GET', `/agents/${agentId}/transcript?from=-1&limit=abc`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('from:');
    expect(bad.body.error.message).toContain('limit:');
    expect((await request('GET', `/agents/${randomUUID()}/transcript`)).status).toBe(404);
  });

  it('retries a failed run as a new agent that completes, linked to the old one; refuses live runs; honours Idempotency-Key', async () => {
    const taskId = `T-obs-${randomUUID().slice(0, 8)}`;
    h.fakeModel.script(taskId, [
      { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'scripted rejection' } } },
      { tools: [{ name: 'bash', input: { command: 'echo "second try" > retry.txt' } }] },
      { text: 'Done.' },
    ]);
    const before = await metrics();
    const failedId = await spawn(taskId);
    expect(await finalStatus(failedId)).toMatchObject({ status: 'failed', errorType: 'ModelRequestRejected' });

    const retried = await request('POST', `/agents/${failedId}/retry`, { headers: { 'Idempotency-Key': `retry-${failedId}` } });
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ status: 'spawning', retryOf: failedId });
    const newId = retried.body.agentId as string;
    expect(newId).not.toBe(failedId);

    // The same key answers the same new agent; a retry while it runs is refused (409) or, on the
    // same task, answered with the live agent.
    const again = await request('POST', `/agents/${failedId}/retry`, { headers: { 'Idempotency-Key': `retry-${failedId}` } });
    expect(again.status).toBe(200);
    expect(again.body.agentId).toBe(newId);
    const ofLive = await request('POST', `/agents/${newId}/retry`);
    expect([409, 200]).toContain(ofLive.status);
    if (ofLive.status === 200) expect(ofLive.body.agentId).toBe(newId);

    const done = await finalStatus(newId);
    expect(done).toMatchObject({ status: 'completed', taskId, agentType: 'worker' });
    expect(showFile(remote.dir, done.result.branch as string, 'retry.txt')).toBe('second try');
    const description = await h.client.workflow.getHandle(`agent-${newId}`).describe();
    expect(description.typedSearchAttributes.get(SA.retryOf)).toBe(failedId);

    const after = await metrics();
    expect(sample(after, 'orchestrator_spawns_total', { agent_type: 'worker', result: 'created' }) - sample(before, 'orchestrator_spawns_total', { agent_type: 'worker', result: 'created' })).toBe(1);
    expect(sample(after, 'orchestrator_retries_total', { agent_type: 'worker', result: 'created' }) - sample(before, 'orchestrator_retries_total', { agent_type: 'worker', result: 'created' })).toBe(1);
    expect(sample(after, 'orchestrator_retries_total', { agent_type: 'worker', result: 'existing' }) - sample(before, 'orchestrator_retries_total', { agent_type: 'worker', result: 'existing' })).toBeGreaterThanOrEqual(1);
  });
});
