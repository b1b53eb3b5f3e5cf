/**
 * Two deployments sharing one Valkey, each with its own Temporal namespace: through the REST API,
 * each with a live worker on its namespace. Spawns for the same task id (the stand-in workflow),
 * and the global event stream of real agent runs (the real worker wiring, the scripted fake model).
 */
import { temporal } from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time';
import type { Client } from '@temporalio/client';
import type Redis from 'ioredis';
import { SEARCH_ATTRIBUTE_NAMES } from '../../domain/search-attributes';
import { readKillAudit } from '../../state/audit-log';
import { keys } from '../../state/keys';
import { createRemoteRepo, nodeProjectFiles } from '../support/git-fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';
import { startHarnessApi, type HarnessApi } from '../support/harness-api';
import { connectSse, type SseClient } from '../support/sse';
import { spawnBody, startTestApi, type TestApi } from './api-harness';
import { startStandInWorker, type StandInWorker } from './stand-in-worker';

const OTHER_NAMESPACE = 'orchestrator-test-other';

/** Registers the namespace with the agent search attributes (once per dev server), and waits until starts there work. */
async function ensureNamespace(client: Client, namespace: string): Promise<void> {
  const service = client.workflowService;
  await service.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') }).catch((err: { code?: number }) => {
    if (err.code !== 6) throw err; // ALREADY_EXISTS
  });
  const searchAttributes = Object.fromEntries(SEARCH_ATTRIBUTE_NAMES.map((name) => [name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]));
  for (const deadline = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 500))) {
    try {
      const listed = await client.connection.operatorService.listSearchAttributes({ namespace });
      const missing = SEARCH_ATTRIBUTE_NAMES.filter((n) => !(n in (listed.customAttributes ?? {})));
      if (missing.length === 0) return;
      await client.connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((n) => [n, searchAttributes[n]!])) });
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
}

describe('deployments of two Temporal namespaces sharing one Valkey', () => {
  let ours: TestApi;
  let theirs: TestApi;
  const workers: StandInWorker[] = [];

  beforeAll(async () => {
    ours = await startTestApi();
    await ensureNamespace(ours.client, OTHER_NAMESPACE);
    theirs = await startTestApi({ env: { TEMPORAL_NAMESPACE: OTHER_NAMESPACE } });
    workers.push(await startStandInWorker(ours), await startStandInWorker(theirs));
  }, 120_000);
  afterAll(async () => {
    for (const w of workers) await w.stop();
    await ours?.close();
    await theirs?.close();
  });

  it('each starts its own agent for a task id both use, at once, and each keeps answering its own live agent', async () => {
    const body = spawnBody();
    const mine = await ours.request('POST', '/agents/spawn', { body });
    expect(mine.status).toBe(202);

    const t0 = Date.now();
    const other = await theirs.request('POST', '/agents/spawn', { body });
    // Before: the other deployment found our claim, could not see our run in its namespace, waited
    // out the claim's grace (10 s) and took the claim over.
    expect(other.status).toBe(202);
    expect(other.body.agentId).not.toBe(mine.body.agentId);
    expect(Date.now() - t0).toBeLessThan(5000);

    // Our agent still runs: a spawn again answers it, never a second agent for the task.
    const again = await ours.request('POST', '/agents/spawn', { body });
    expect(again.status).toBe(200);
    expect(again.body.agentId).toBe(mine.body.agentId);
    const theirsAgain = await theirs.request('POST', '/agents/spawn', { body });
    expect(theirsAgain.status).toBe(200);
    expect(theirsAgain.body.agentId).toBe(other.body.agentId);
  }, 90_000);

  it("keeps our kill's mark while the other deployment is asked to kill our agent (it answers 404 and leaves the mark)", async () => {
    const body = spawnBody();
    const mine = await ours.request('POST', '/agents/spawn', { body });
    expect(mine.status).toBe(202);
    const agentId = mine.body.agentId as string;
    // Our kill is under way: killAgents marks the agent before any signal goes out, and a spawn
    // for its task is refused until the kill settles.
    await ours.redis.set(keys.killRequested(agentId, ours.config.TEMPORAL_NAMESPACE), '1', 'PX', 60_000);
    expect((await ours.request('POST', '/agents/spawn', { body })).status).toBe(409);

    // The other deployment knows no such agent; before, its kill marked and then unmarked it in
    // the shared Valkey: our kill's mark was gone, and our spawn answered the stopping agent.
    expect((await theirs.request('POST', `/agents/${agentId}/kill`, { body: {} })).status).toBe(404);
    const again = await ours.request('POST', '/agents/spawn', { body });
    expect([again.status, again.body.agentId === agentId]).toEqual([409, false]);
  }, 90_000);
});

describe('the global event streams of two namespaces sharing one Valkey, with real agent runs', () => {
  const API_KEY = 'namespaces-api-key-0123456789';
  const deployments: { h: Harness; api: HarnessApi }[] = [];
  const subscribers: Redis[] = [];
  const streams: SseClient[] = [];

  beforeAll(async () => {
    for (const namespace of [undefined, OTHER_NAMESPACE]) {
      // The other namespace exists before its worker polls it.
      if (namespace) await ensureNamespace(deployments[0]!.h.client, namespace);
      const h = await startHarness({ ORCHESTRATOR_API_KEY: API_KEY, ...(namespace ? { TEMPORAL_NAMESPACE: namespace } : {}) });
      deployments.push({ h, api: await startHarnessApi(h, API_KEY) });
    }
  }, 300_000);
  afterAll(async () => {
    for (const sse of streams) sse.close();
    for (const sub of subscribers) sub.disconnect();
    for (const { h, api } of deployments) {
      await api.close();
      await h.close();
    }
  });

  /** The lifecycle transitions published on `channel` (the seed's pub/sub), as `agentId` of each. */
  async function published(redis: Redis, channel: string): Promise<string[]> {
    const sub = redis.duplicate();
    subscribers.push(sub);
    const seen: string[] = [];
    sub.on('message', (_channel: string, message: string) => seen.push((JSON.parse(message) as { agentId: string }).agentId));
    await sub.subscribe(channel);
    return seen;
  }

  it("each deployment's /agents/events and lifecycle channel carry only its own agents; the default namespace keeps the seed's names", async () => {
    const [ours, theirs] = deployments as [(typeof deployments)[0], (typeof deployments)[0]];
    const remote = createRemoteRepo(nodeProjectFiles());
    const allOf = async (d: typeof ours) => {
      const sse = await connectSse(`${d.api.baseUrl}/agents/events`, { 'X-API-Key': API_KEY });
      streams.push(sse);
      expect(sse.status).toBe(200);
      return sse;
    };
    const [ourStream, theirStream] = [await allOf(ours), await allOf(theirs)];
    // The default namespace keeps the seed's channel; the other has one of its own.
    const [ourChannel, theirChannel] = [await published(ours.h.redis, 'orchestrator:events'), await published(ours.h.redis, keys.events(OTHER_NAMESPACE))];

    // The same task id in both: each deployment runs its own agent for it.
    const taskId = `T-ns-events-${Date.now()}`;
    const spawnIn = async (d: typeof ours) => {
      d.h.fakeModel.script(taskId, [{ tools: [{ name: 'bash', input: { command: 'echo hello > hello.txt' } }] }, { text: 'Done.' }]);
      const res = await d.api.request('POST', '/agents/spawn', {
        body: { taskId, agentType: 'worker', gateProfile: 'minimal', context: { repository: remote.url, branch: 'main', workItems: ['US-001 say hello'], skills: [] } },
      });
      expect(res.status).toBe(202);
      return res.body.agentId as string;
    };
    const [ourAgent, theirAgent] = [await spawnIn(ours), await spawnIn(theirs)];

    // Each stream reaches the end of its own agent's run (its cleanup's `phase: done`).
    const agentsIn = (sse: SseClient) => sse.events.map((e) => JSON.parse(e.data) as { agentId: string; type: string; phase?: string });
    const doneIn = (sse: SseClient, agentId: string) => agentsIn(sse).some((e) => e.agentId === agentId && e.type === 'phase' && e.phase === 'done');
    await eventually(async () => doneIn(ourStream, ourAgent) && doneIn(theirStream, theirAgent), 120_000, 'both runs to finish on their streams');
    expect((await ours.api.request('GET', `/agents/${ourAgent}/status`)).body.status).toBe('completed');
    expect((await theirs.api.request('GET', `/agents/${theirAgent}/status`)).body.status).toBe('completed');
    // Agent ids are known everywhere, their records are not anyone's: neither deployment shows,
    // streams, pages, kills or re-runs the other's agent (its projection, transcript and events
    // sit in the shared Valkey under its id alone).
    for (const [d, foreign] of [[ours, theirAgent], [theirs, ourAgent]] as const) {
      for (const [method, route] of [['GET', 'status'], ['GET', 'transcript'], ['GET', 'events'], ['POST', 'kill'], ['POST', 'retry']] as const) {
        const res = await d.api.request(method, `/agents/${foreign}/${route}`, method === 'POST' ? { body: {}, headers: { 'Idempotency-Key': `ns-${route}` } } : {});
        expect([route, res.status]).toEqual([route, 404]);
      }
    }
    expect((await theirs.api.request('GET', `/agents/${theirAgent}/transcript`)).body.total).toBeGreaterThan(0);
    // A kill is audited in its own namespace's trail; the default one keeps the seed's key.
    const reason = `ns-audit-${taskId}`;
    expect((await theirs.api.request('POST', `/agents/${theirAgent}/kill`, { body: { reason } })).status).toBe(200);
    const reasonsIn = async (namespace?: string) => (await readKillAudit(ours.h.redis, 1000, namespace)).filter((r) => r.reason === reason).map((r) => r.agentId);
    expect(await reasonsIn(OTHER_NAMESPACE)).toEqual([theirAgent]);
    expect(await reasonsIn()).toEqual([]);
    expect(keys.audit()).toBe('orchestrator:audit');
    // Another deployment's events arrive within moments when they are on the stream: let them.
    await new Promise((r) => setTimeout(r, 1000));

    const ourIds = new Set(agentsIn(ourStream).map((e) => e.agentId));
    const theirIds = new Set(agentsIn(theirStream).map((e) => e.agentId));
    expect({ ours: ourIds.has(ourAgent), theirs: ourIds.has(theirAgent) }).toEqual({ ours: true, theirs: false });
    expect({ ours: theirIds.has(ourAgent), theirs: theirIds.has(theirAgent) }).toEqual({ ours: false, theirs: true });
    // The turn, tool and gate events (appended by activities) go where the lifecycle events do.
    expect(new Set(agentsIn(theirStream).filter((e) => e.agentId === theirAgent).map((e) => e.type))).toEqual(new Set(['lifecycle', 'phase', 'turn', 'tools', 'gates']));
    expect(ourChannel).toContain(ourAgent);
    expect(ourChannel).not.toContain(theirAgent);
    expect(theirChannel).toContain(theirAgent);
    expect(theirChannel).not.toContain(ourAgent);

    // The default namespace's stream is still the seed's key, which other readers tail.
    const seedStream = await ours.h.redis.xrevrange('orchestrator:agent-events', '+', '-', 'COUNT', 2000);
    const seedAgents = seedStream.map(([, fields]) => (JSON.parse(fields[fields.indexOf('data') + 1]!) as { agentId: string }).agentId);
    expect(seedAgents).toContain(ourAgent);
    expect(seedAgents).not.toContain(theirAgent);
  }, 240_000);
});
