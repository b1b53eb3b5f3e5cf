/**
 * The event stream endpoints over real Valkey: events are appended through the same event log the
 * activities use, and read back over HTTP as Server-Sent Events, as a coordinator would.
 * (test/observe-run.test.ts follows a real agent run end to end.)
 */
import { randomUUID } from 'node:crypto';
import type { AgentEvent } from '../../domain/agent-events';
import { agentEventSchema } from '../../api/response-schemas';
import { AgentEventLog } from '../../state/agent-events';
import { connectSse } from '../support/sse';
import { startTestApi, TEST_API_KEY, type TestApi } from './api-harness';

const auth = { 'X-API-Key': TEST_API_KEY };

describe('event streams over SSE', () => {
  let api: TestApi;
  let log: AgentEventLog;
  beforeAll(async () => {
    api = await startTestApi();
    log = new AgentEventLog(api.redis);
  });
  afterAll(async () => {
    await api?.close();
  });

  /** An agent the API knows (its Valkey projection, whose write is the stream's first event), in `status`. */
  async function knownAgent(status: 'running' | 'completed' = 'running'): Promise<string> {
    const agentId = randomUUID();
    const at = new Date().toISOString();
    await api.store.write({ seq: 1, at, view: { agentId, taskId: `T-${agentId.slice(0, 8)}`, agentType: 'worker', status, spawnedAt: at } });
    return agentId;
  }
  const turn = (agentId: string, n: number): AgentEvent => ({ type: 'turn', agentId, turn: n, stopReason: 'tool_use', inputTokens: 100, outputTokens: 50, tools: [`bash: echo ${n}`], at: new Date().toISOString() });
  const finished = (agentId: string): AgentEvent => ({ type: 'lifecycle', agentId, taskId: 'T', from: 'running', to: 'completed', at: new Date().toISOString() });

  it('sends the backlog then live events in order, each with its stream id, and ends after the final lifecycle event', async () => {
    const agentId = await knownAgent();
    await log.append(turn(agentId, 1), { dedupKey: 'turn:1' });
    const sse = await connectSse(`${api.baseUrl}/agents/${agentId}/events`, auth);
    expect(sse.status).toBe(200);
    expect(sse.headers.get('content-type')).toContain('text/event-stream');
    await sse.waitFor(1);
    await log.append(turn(agentId, 2), { dedupKey: 'turn:2' });
    await log.append(finished(agentId), { dedupKey: 'final' });
    await sse.ended;
    expect(sse.events.map((e) => e.event)).toEqual(['lifecycle', 'turn', 'turn', 'lifecycle']);
    expect(sse.events.map((e) => (JSON.parse(e.data) as { turn?: number; to?: string }).turn ?? (JSON.parse(e.data) as { to: string }).to)).toEqual(['running', 1, 2, 'completed']);
    const stored = await log.readAfter(agentId, '0', 10);
    expect(sse.events.map((e) => e.id)).toEqual(stored.map((e) => e.id));
  });

  it("stays open through the run's cleanup and ends with its `phase: done`; a reconnect then answers 204", async () => {
    const agentId = await knownAgent();
    const sse = await connectSse(`${api.baseUrl}/agents/${agentId}/events`, auth);
    await sse.waitFor(1);
    const base = { agentId, taskId: `T-${agentId.slice(0, 8)}`, agentType: 'worker' as const, spawnedAt: new Date().toISOString() };
    // As the workflow writes them: stopped (cleanup starts), then cleaned up.
    const stoppedAt = new Date().toISOString();
    await api.store.write({ seq: 2, at: stoppedAt, view: { ...base, status: 'completed', phase: 'cleanup', completedAt: stoppedAt } });
    await new Promise((r) => setTimeout(r, 300));
    let ended = false;
    void sse.ended.then(() => (ended = true));
    expect(ended).toBe(false); // cleanup still running: containers, worktree
    await api.store.write({ seq: 3, at: new Date().toISOString(), view: { ...base, status: 'completed', phase: 'done', completedAt: stoppedAt } });
    await sse.ended;
    expect(sse.events.map((e) => [e.event, (JSON.parse(e.data) as { to?: string; phase?: string }).to ?? (JSON.parse(e.data) as { phase: string }).phase])).toEqual([
      ['lifecycle', 'running'],
      ['lifecycle', 'completed'],
      ['phase', 'done'],
    ]);
    const res = await fetch(`${api.baseUrl}/agents/${agentId}/events`, { headers: { ...auth, 'Last-Event-ID': sse.events.at(-1)!.id! } });
    expect(res.status).toBe(204);
  });

  it('resumes right after Last-Event-ID: no gap, no duplicate', async () => {
    const agentId = await knownAgent();
    for (let n = 1; n <= 3; n++) await log.append(turn(agentId, n), { dedupKey: `turn:${n}` });
    const first = await connectSse(`${api.baseUrl}/agents/${agentId}/events`, auth);
    const seen = await first.waitFor(3); // the projection's lifecycle event, turns 1 and 2
    first.close();
    await log.append(turn(agentId, 4), { dedupKey: 'turn:4' });
    const again = await connectSse(`${api.baseUrl}/agents/${agentId}/events`, { ...auth, 'Last-Event-ID': seen[2]!.id! });
    await log.append(finished(agentId), { dedupKey: 'final' });
    await again.ended;
    const turns = [...seen.slice(0, 3), ...again.events].map((e) => (JSON.parse(e.data) as { turn?: number; type: string }).turn ?? e.event);
    expect(turns).toEqual(['lifecycle', 1, 2, 3, 4, 'lifecycle']);
  });

  it('answers 204 to a reconnect after the run ended, so EventSource stops reconnecting', async () => {
    const agentId = await knownAgent('completed'); // its projection write is its final lifecycle event
    const [final] = await log.readAfter(agentId, '0', 10);
    const res = await fetch(`${api.baseUrl}/agents/${agentId}/events`, { headers: { ...auth, 'Last-Event-ID': final!.id } });
    expect(res.status).toBe(204);
    // Without Last-Event-ID a finished run is replayed whole, then the stream ends.
    const replay = await connectSse(`${api.baseUrl}/agents/${agentId}/events`, auth);
    await replay.ended;
    expect(replay.events.map((e) => e.id)).toEqual([final!.id]);
    expect(JSON.parse(replay.events[0]!.data)).toMatchObject({ type: 'lifecycle', from: null, to: 'completed' });
  });

  it('writes an event once however often its append is repeated (a retried activity)', async () => {
    const agentId = await knownAgent();
    const a = await log.append(turn(agentId, 1), { dedupKey: 'turn:1' });
    const b = await log.append(turn(agentId, 1), { dedupKey: 'turn:1' });
    expect(a.appended).toBe(true);
    expect(b).toEqual({ id: a.id, appended: false });
    expect((await log.readAfter(agentId, '0', 10)).filter((e) => e.event.type === 'turn')).toHaveLength(1);
    // The state write's own event is exact too: a retried write (same seq) adds nothing.
    const at = new Date().toISOString();
    const view = { agentId, taskId: `T-${agentId.slice(0, 8)}`, agentType: 'worker' as const, status: 'running' as const, phase: 'agent-loop' as const, spawnedAt: at };
    await api.store.write({ seq: 2, at, view });
    await api.store.write({ seq: 2, at, view });
    expect((await log.readAfter(agentId, '0', 10)).map((e) => e.event.type)).toEqual(['lifecycle', 'turn', 'phase']);
  });

  it('streams every agent on /agents/events, from Last-Event-ID', async () => {
    const [a, b] = [await knownAgent(), await knownAgent()];
    const all = await connectSse(`${api.baseUrl}/agents/events`, auth);
    await log.append(turn(a, 1), { dedupKey: 'turn:1' });
    await log.append(turn(b, 1), { dedupKey: 'turn:1' });
    await log.append(turn(a, 2), { dedupKey: 'turn:2' });
    // Other test files share this Valkey: look only at these two agents.
    const mine = () => all.events.filter((e) => [a, b].includes((JSON.parse(e.data) as { agentId: string }).agentId));
    await waitUntil(() => mine().length === 3);
    all.close();
    expect(mine().map((e) => JSON.parse(e.data) as { agentId: string; turn: number }).map((e) => `${e.agentId === a ? 'a' : 'b'}${e.turn}`)).toEqual(['a1', 'b1', 'a2']);

    const resumed = await connectSse(`${api.baseUrl}/agents/events`, { ...auth, 'Last-Event-ID': mine()[0]!.id! });
    await waitUntil(() => resumed.events.some((e) => e.id === mine()[2]!.id));
    resumed.close();
    expect(resumed.events.map((e) => e.id)).not.toContain(mine()[0]!.id);
  });

  it('sends a gates event of gates the run skipped (missingGates: skip) as the OpenAPI document describes it', async () => {
    const agentId = await knownAgent();
    const skipped: AgentEvent = { type: 'gates', agentId, phase: 'pre-commit', round: 1, passed: true, gates: [{ name: 'lint', outcome: 'skipped', durationMs: 0 }], at: new Date().toISOString() };
    await log.append(skipped, { dedupKey: 'gates:pre-commit:1' });
    const sse = await connectSse(`${api.baseUrl}/agents/${agentId}/events`, auth);
    const [, gates] = await sse.waitFor(2);
    sse.close();
    const sent: unknown = JSON.parse(gates!.data);
    expect(sent).toEqual(skipped);
    // The document's event schema is made from this one; schemathesis failed on such an event in the stream.
    expect(agentEventSchema.safeParse(sent).error?.issues).toBeUndefined();
  });

  it('refuses a malformed Last-Event-ID (400 naming it), an unknown agent (404), and a missing key (401)', async () => {
    const agentId = await knownAgent();
    const bad = await api.request('GET', `/agents/${agentId}/events`, { headers: { 'Last-Event-ID': 'yesterday' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('Last-Event-ID:');
    expect((await api.request('GET', `/agents/${randomUUID()}/events`)).status).toBe(404);
    expect((await api.request('GET', '/agents/events', { anonymous: true })).status).toBe(401);
  });
});

/**
 * Every open stream is a socket held for as long as the client likes, and is read again from
 * Valkey on each event of its stream: N streams on /agents/events make N reads per event. A client
 * that leaks streams (an EventSource per poll, never closed) must not take the API and the
 * Valkey its workers write to down with it.
 */
describe('event streams beyond ORCHESTRATOR_MAX_EVENT_STREAMS', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ env: { ORCHESTRATOR_MAX_EVENT_STREAMS: '2' } });
  });
  afterAll(async () => {
    await api?.close();
  });

  async function runningAgent(): Promise<string> {
    const agentId = randomUUID();
    const at = new Date().toISOString();
    await api.store.write({ seq: 1, at, view: { agentId, taskId: `T-${agentId.slice(0, 8)}`, agentType: 'worker', status: 'running', spawnedAt: at } });
    return agentId;
  }

  /** The answer to a stream request; a stream that opens (200) is closed at once, its body unread. */
  async function answerOrStream(path: string): Promise<{ status: number; headers: Headers; body?: { error: unknown } }> {
    const abort = new AbortController();
    const res = await fetch(`${api.baseUrl}${path}`, { headers: auth, signal: abort.signal });
    if (res.status !== 200) return { status: res.status, headers: res.headers, body: (await res.json()) as { error: unknown } };
    abort.abort();
    return { status: res.status, headers: res.headers };
  }

  /** A stream of every agent, once a place is free: a stream the client closed frees its place when the server sees the close. */
  async function streamOncePlaceFree(): Promise<Awaited<ReturnType<typeof connectSse>>> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const sse = await connectSse(`${api.baseUrl}/agents/events`, auth);
      if (sse.status === 200) return sse;
      sse.close();
      if (Date.now() > deadline) throw new Error(`no place freed: ${sse.status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('answers 503 with Retry-After to a stream over the limit, opens nothing, and serves again once a stream closed', async () => {
    const agentId = await runningAgent();
    const streams = [await connectSse(`${api.baseUrl}/agents/events`, auth), await connectSse(`${api.baseUrl}/agents/${agentId}/events`, auth)];
    const [first] = streams as [(typeof streams)[0]];
    try {
      expect(streams.map((s) => s.status)).toEqual([200, 200]);

      for (const path of ['/agents/events', `/agents/${agentId}/events`]) {
        const refused = await answerOrStream(path);
        expect(refused.status).toBe(503);
        expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(refused.body?.error).toEqual({ code: 'too_many_event_streams', message: expect.stringContaining('2 event streams are open') });
      }

      // A stream the client left frees its place.
      first.close();
      await first.ended;
      streams.push(await streamOncePlaceFree());
    } finally {
      for (const s of streams) s.close();
    }
  });

  it('frees the place of a stream that ended by itself (204 to a reconnect after the run)', async () => {
    const agentId = randomUUID();
    const at = new Date().toISOString();
    await api.store.write({ seq: 1, at, view: { agentId, taskId: `T-${agentId.slice(0, 8)}`, agentType: 'worker', status: 'completed', spawnedAt: at, completedAt: at } });
    for (let i = 0; i < 3; i++) expect((await api.request('GET', `/agents/${agentId}/events`, { headers: { 'Last-Event-ID': '99999999999999-0' } })).status).toBe(204);
    // Both places: a 204 that kept its place would leave one at most.
    const streams = [await streamOncePlaceFree()];
    try {
      streams.push(await streamOncePlaceFree());
    } finally {
      for (const s of streams) s.close();
    }
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
