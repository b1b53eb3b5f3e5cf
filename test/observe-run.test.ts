/**
 * Watching, reading, retrying and forking real agent runs through the REST API: real Temporal dev server,
 * real worker and workflow, real Valkey, real git on a file:// remote, the scripted fake model.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { redactSecrets } from '../scanner';
import { SA } from '../domain/search-attributes';
import { createRemoteRepo, nodeProjectFiles, showFile } from './support/git-fixtures';
import { eventually, startHarness, type Harness } from './support/harness';
import { startHarnessApi, type ApiResponse, type HarnessApi } from './support/harness-api';
import { parsePrometheus, sample } from './support/prometheus';
import { connectSse, type SseEvent } from './support/sse';
import { AgentEventLog } from '../state/agent-events';
import type { AgentEvent } from '../domain/agent-events';
import { settleClosedRunStates } from '../state/closed-run-states';
import { agentsWithoutExpiry } from '../state/record-expiry';
import { workflowCloseStatus } from '../worker/closed-check';

const API_KEY = 'observe-api-key-0123456789abcdef';
/** Shaped like a live Anthropic key, made fresh per run so no scanner allowlist knows it. */
const liveLookingKey = () => `sk-ant-api03-${randomBytes(80).toString('base64url').slice(0, 93)}AA`;

type Response = ApiResponse;

describe('watching, reading, retrying and forking agent runs', () => {
  let h: Harness;
  let api: HarnessApi;
  let baseUrl: string;
  let remote: { dir: string; url: string };

  beforeAll(async () => {
    h = await startHarness({ ORCHESTRATOR_API_KEY: API_KEY });
    api = await startHarnessApi(h, API_KEY);
    baseUrl = api.baseUrl;
    remote = createRemoteRepo(nodeProjectFiles());
  });
  afterAll(async () => {
    await api?.close();
    await h?.close();
  });

  const request = (method: string, urlPath: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Response> => api.request(method, urlPath, options);
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
  /** Waits until an event matching `match` arrived on `sse`. */
  const waitForEvent = async (sse: Awaited<ReturnType<typeof connectSse>>, match: (e: AgentEvent) => boolean): Promise<SseEvent> =>
    eventually(async () => sse.events.find((e) => match(JSON.parse(e.data) as AgentEvent)), 30_000, 'an event');
  /** The user-metadata summary of every scheduled activity, in order (what the Web UI lists). */
  const activitySummaries = async (history: Awaited<ReturnType<ReturnType<Harness['client']['workflow']['getHandle']>['fetchHistory']>>): Promise<string[]> => {
    const converter = h.client.options.loadedDataConverter.payloadConverter;
    return (history.events ?? []).flatMap((e) => {
      const summary = e.activityTaskScheduledEventAttributes ? e.userMetadata?.summary : undefined;
      return summary ? [converter.fromPayload<string>(summary)] : [];
    });
  };

  it('streams a whole run in order over SSE; a reconnect with Last-Event-ID mid-run misses nothing and repeats nothing; metrics follow', async () => {
    const taskId = `T-obs-${randomUUID().slice(0, 8)}`;
    h.fakeModel.script(taskId, [
      { tools: [{ name: 'bash', input: { command: 'echo one > one.txt' } }] },
      // The client disconnects while the run waits here.
      { tools: [{ name: 'str_replace_based_edit_tool', input: { command: 'create', path: 'two.txt', file_text: 'two\n' } }], delayMs: 1500 },
      { text: 'Done: two files.' },
    ]);
    const tester = { agent_type: 'tester' };
    const before = await metrics();
    const agentId = await spawn(taskId, 'tester');
    const auth = { 'X-API-Key': API_KEY };

    const first = await connectSse(`${baseUrl}/agents/${agentId}/events`, auth);
    expect(first.status).toBe(200);
    await waitForEvent(first, (e) => e.type === 'tools' && e.turn === 1);
    first.close();
    const seen = first.events;
    // Mid-run, the counters have moved by the first turn and the run is active, not finished.
    const mid = await eventually(async () => {
      const m = await metrics();
      return sample(m, 'orchestrator_turns_total', tester) > sample(before, 'orchestrator_turns_total', tester) ? m : undefined;
    }, 10_000, 'the first turn in /metrics');
    expect(sample(mid, 'orchestrator_runs_total', { ...tester, outcome: 'completed' })).toBe(sample(before, 'orchestrator_runs_total', { ...tester, outcome: 'completed' }));
    await eventually(async () => sample(await metrics(), 'orchestrator_active_agents', tester) === 1, 15_000, 'the run to count as active');

    const second = await connectSse(`${baseUrl}/agents/${agentId}/events`, { ...auth, 'Last-Event-ID': seen.at(-1)!.id! });
    await second.ended; // the stream ends once the run is cleaned up (`phase: done`)
    const received = [...seen, ...second.events];
    const stored = await new AgentEventLog(h.redis).readAfter(agentId, '0', 1000);
    expect(received.map((e) => e.id)).toEqual(stored.map((e) => e.id)); // no gap, no duplicate
    expect(new Set(received.map((e) => e.id)).size).toBe(received.length);

    const events = received.map((e) => JSON.parse(e.data) as AgentEvent);
    const story = events.map((e) => {
      if (e.type === 'lifecycle') return `${e.from}->${e.to}`;
      if (e.type === 'phase') return e.phase;
      if (e.type === 'turn') return `turn ${e.turn}: ${e.tools.join('; ') || e.stopReason}`;
      if (e.type === 'tools') return `tools ${e.turn}: ${e.tools.join('; ')}`;
      if (e.type === 'gates') return `${e.phase} gates: ${e.gates.map((g) => `${g.name} ${g.outcome}`).join(', ')}`;
      return e.type;
    });
    expect(story).toEqual([
      'null->spawning',
      // Worktree, gates and sandbox are one step (setUpAgent): the run goes from spawning to running.
      'spawning->running',
      'turn 1: bash: echo one > one.txt',
      'tools 1: bash: echo one > one.txt → exit 0',
      'turn 2: edit: create two.txt',
      'tools 2: edit: create two.txt → ok',
      'turn 3: end_turn',
      'pre-commit-gates',
      'pre-commit gates: tests passed',
      // Gates, scan, commit, merge check and push are one activity (this profile has no post-commit gate).
      'running->completed',
      // Its container, worktree and branch are gone: the stream's last event.
      'done',
    ]);
    expect(events.every((e) => e.agentId === agentId)).toBe(true);
    expect(received.map((e) => e.event)).toEqual(events.map((e) => e.type));

    // Counters moved by exactly this run (tester runs are this test's own); tokens as the turns reported them.
    const after = await eventually(async () => {
      const m = await metrics();
      return sample(m, 'orchestrator_runs_total', { ...tester, outcome: 'completed' }) > sample(before, 'orchestrator_runs_total', { ...tester, outcome: 'completed' }) ? m : undefined;
    }, 10_000, 'the finished run in /metrics');
    const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    const turns = events.filter((e): e is Extract<AgentEvent, { type: 'turn' }> => e.type === 'turn');
    expect(delta('orchestrator_runs_total', { ...tester, outcome: 'completed' })).toBe(1);
    expect(delta('orchestrator_turns_total', tester)).toBe(3);
    expect(delta('orchestrator_tokens_total', { ...tester, direction: 'output' })).toBe(turns.reduce((n, e) => n + e.outputTokens, 0));
    expect(delta('orchestrator_tokens_total', { ...tester, direction: 'input' })).toBe(turns.reduce((n, e) => n + e.inputTokens, 0));
    expect(delta('orchestrator_spawns_total', { ...tester, result: 'created' })).toBe(1);
    expect(delta('orchestrator_gate_duration_seconds_count', { gate: 'tests', outcome: 'passed' })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'orchestrator_http_request_duration_seconds_count', { method: 'POST', route: '/agents/spawn', status: '202' })).toBeGreaterThanOrEqual(1);
    await eventually(async () => sample(await metrics(), 'orchestrator_active_agents', tester) === 0, 15_000, 'the run to leave the active count');

    // The Web UI's event history: each model turn and tool batch says what it was.
    const history = await h.client.workflow.getHandle(`agent-${agentId}`).fetchHistory();
    const summaries = await activitySummaries(history);
    // A turn after the first is one activity: the last answer's tools, then the next model call.
    expect(summaries).toEqual([
      'turn 1: model call (1 messages)',
      'turn 1: bash: echo one > one.txt; turn 2: model call (3 messages)',
      'turn 2: edit: create two.txt; turn 3: model call (5 messages)',
      'pre-commit gates, round 1; scan and commit; push',
    ]);
  });

  it("ends a run terminated from Temporal's Web UI: after the reaper's pass the status is killed and its event stream ends", async () => {
    const taskId = `T-obs-${randomUUID().slice(0, 8)}`;
    h.fakeModel.script(taskId, [{ text: 'thinking for a long time', delayMs: 600_000 }]);
    const agentId = await spawn(taskId);
    await eventually(async () => h.fakeModel.requestsFor(taskId).length === 1, 60_000, 'the model call');
    const sse = await connectSse(`${baseUrl}/agents/${agentId}/events`, { 'X-API-Key': API_KEY });
    // What an operator's Terminate in the Web UI does: the workflow closes without its final state write.
    await h.client.workflow.getHandle(`agent-${agentId}`).terminate('stuck, terminated by an operator');
    expect((await request('GET', `/agents/${agentId}/status`)).body.status).toBe('running');

    // The worker's reaper target, with the worker's own Temporal lookup (this agent only: other
    // suites' agents share this Valkey, some with no workflow behind them).
    expect(await agentsWithoutExpiry(h.redis)).toContain(agentId);
    await settleClosedRunStates(api.store, [agentId], workflowCloseStatus(h.client));

    expect((await request('GET', `/agents/${agentId}/status`)).body).toMatchObject({ status: 'killed', error: 'killed: terminated through Temporal' });
    await sse.ended;
    expect(JSON.parse(sse.events.at(-1)!.data)).toMatchObject({ type: 'lifecycle', to: 'killed' });
  });

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

  it('returns no part of a secret that a long tool output or file view was cut across', async () => {
    const taskId = `T-obs-${randomUUID().slice(0, 8)}`;
    const token = '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'; // valid checksum
    const keptHalf = Math.floor(h.config.TOOL_OUTPUT_MAX_BYTES / 2);
    // The output keeps its first and last `keptHalf` characters: the token starts 20 characters
    // before the head's cut, and another ends 20 characters after the tail's start.
    const before = keptHalf - 20 - ' token='.length;
    const after = keptHalf - 20 - 2; // a space after the token, and the last line's newline
    const filler = (n: number, c: string) => `head -c ${n} /dev/zero | tr '\\0' ${c}`;
    const command = `{ ${filler(before, 'a')}; echo ' token=${token}'; ${filler(50_000, 'b')}; echo; printf '%s ' '${token}'; ${filler(after, 'c')}; echo; }`;
    // A file viewed whole is cut at the same size: its token 20 characters before the cut.
    const viewed = `${'d'.repeat(h.config.TOOL_OUTPUT_MAX_BYTES - 20 - '     1\t'.length - 'k='.length)}k=${token}\n`;
    h.fakeModel.script(taskId, [
      {
        tools: [
          { name: 'bash', input: { command: `${command} && echo hi > hello.txt` } },
          { name: 'str_replace_based_edit_tool', input: { command: 'create', path: 'long.txt', file_text: viewed } },
        ],
      },
      { tools: [{ name: 'str_replace_based_edit_tool', input: { command: 'view', path: 'long.txt' } }, { name: 'bash', input: { command: 'rm long.txt' } }] },
      { text: 'Done.' },
    ]);
    const agentId = await spawn(taskId);
    expect(await finalStatus(agentId)).toMatchObject({ status: 'completed' });
    // The cuts were where this test put them: the model's own view holds what was kept, pieces included.
    const sent = JSON.stringify(h.fakeModel.requestsFor(taskId).at(-1)!.body.messages);
    expect(sent).toContain('bytes of output truncated');
    expect(sent).toContain('[... truncated; use view_range ...]');

    const text = JSON.stringify((await request('GET', `/agents/${agentId}/transcript`)).body);
    expect(text).toContain('hello.txt');
    // Pieces of the token: ghp_ and 8 of its characters; its last 12 (compared as booleans: the text is 100 KB).
    expect({ start: text.includes(token.slice(0, 12)), end: text.includes(token.slice(-12)) }).toEqual({ start: false, end: false });
  });

  it('returns no secret that coloured output split with terminal escapes (grep --color=always highlighting its match)', async () => {
    const taskId = `T-obs-${randomUUID().slice(0, 8)}`;
    // Written in two halves, so whole they are only in what grep prints: `ghp_` and `PASSWORD`, its match, coloured apart from the rest.
    const write = `printf 'GITHUB_TOKEN=%s%s\\nDB_PASSWORD="%s%s"\\n' ghp_aCreHz2wDL4k eqaDIEZf8DRPIMNAyg1IjYW0 'Xk9#mQ2v' Lp8zR4tW > .env`;
    h.fakeModel.script(taskId, [
      { tools: [{ name: 'bash', input: { command: `${write} && grep --color=always -n 'ghp_\\|PASSWORD' .env; rm .env; echo hi > hello.txt` } }] },
      { text: 'Done.' },
    ]);
    const agentId = await spawn(taskId);
    expect(await finalStatus(agentId)).toMatchObject({ status: 'completed' });
    // The model saw them coloured (the highlight's escape is right after the token's prefix).
    const sent = JSON.stringify(h.fakeModel.requestsFor(taskId)[1]!.body.messages);
    expect(sent).toContain('ghp_\\u001b[m\\u001b[KaCreHz2wDL4keqaDIEZ');

    const text = JSON.stringify((await request('GET', `/agents/${agentId}/transcript`)).body);
    expect(text).toContain('hello.txt');
    expect(text).not.toContain('aCreHz2wDL4keqaDIEZ');
    expect(text).not.toContain('mQ2vLp8z');
    expect(text).not.toContain('\\u001b'); // what a client shows is plain text
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
    expect(done.retryOf).toBe(failedId);
    const description = await h.client.workflow.getHandle(`agent-${newId}`).describe();
    expect(description.typedSearchAttributes.get(SA.retryOf)).toBe(failedId);
    // Linked in the events too: the old stream says what it was retried as, the new one what it retries.
    const log = new AgentEventLog(h.redis);
    expect((await log.readAfter(failedId, '0', 100)).map((e) => e.event)).toContainEqual(expect.objectContaining({ type: 'retried', retriedAs: newId }));
    expect((await log.readAfter(newId, '0', 1))[0]?.event).toMatchObject({ type: 'lifecycle', to: 'spawning', retryOf: failedId });

    const after = await metrics();
    expect(sample(after, 'orchestrator_spawns_total', { agent_type: 'worker', result: 'created' }) - sample(before, 'orchestrator_spawns_total', { agent_type: 'worker', result: 'created' })).toBe(1);
    expect(sample(after, 'orchestrator_retries_total', { agent_type: 'worker', result: 'created' }) - sample(before, 'orchestrator_retries_total', { agent_type: 'worker', result: 'created' })).toBe(1);
    expect(sample(after, 'orchestrator_retries_total', { agent_type: 'worker', result: 'existing' }) - sample(before, 'orchestrator_retries_total', { agent_type: 'worker', result: 'existing' })).toBeGreaterThanOrEqual(1);
  });

  it('forks a run at turn 2: the new agent sees the files of turn 2 and not those of turn 3, and the model gets exactly the first two turns', async () => {
    const taskId = `T-obs-${randomUUID().slice(0, 8)}`;
    // The fake model keys its script by task id, which the fork shares: replies 5 and 6 are the fork's.
    h.fakeModel.script(taskId, [
      { tools: [{ name: 'bash', input: { command: 'echo one > a.txt' } }] },
      { tools: [{ name: 'bash', input: { command: 'echo two > b.txt' } }] },
      { tools: [{ name: 'bash', input: { command: 'echo three > c.txt' } }] },
      { text: 'Done: three files.' },
      { tools: [{ name: 'bash', input: { command: 'ls *.txt; cat b.txt' } }], delayMs: 1000 },
      { text: 'Done after the fork.' },
    ]);
    const oldId = await spawn(taskId);
    expect(await finalStatus(oldId)).toMatchObject({ status: 'completed', result: { turns: 4 } });
    const fork = (agentId: string, body: unknown, headers: Record<string, string> = {}) => request('POST', `/agents/${agentId}/fork`, { body, headers });

    // Turn 4 is the final answer (nothing follows it); only turns 1-3 end with stored tool results.
    for (const body of [{ turn: 0 }, { turn: 1.5 }, { turn: '2' }, {}, { turn: 4 }, { turn: 99 }]) {
      const bad = await fork(oldId, body);
      expect({ body, status: bad.status }).toEqual({ body, status: 400 });
      expect(bad.body.error.message).toMatch(/^turn: /);
    }
    expect((await fork(randomUUID(), { turn: 1 })).status).toBe(404);

    const key = { 'Idempotency-Key': `fork-${oldId}` };
    const before = await metrics();
    const forked = await fork(oldId, { turn: 2 }, key);
    expect(forked.status).toBe(202);
    expect(forked.body).toMatchObject({ status: 'spawning', forkOf: oldId, turn: 2 });
    const newId = forked.body.agentId as string;
    expect(newId).not.toBe(oldId);
    const again = await fork(oldId, { turn: 2 }, key);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ agentId: newId, forkOf: oldId, turn: 2 });
    const after = await metrics();
    const forks = (m: typeof after, result: string) => sample(m, 'orchestrator_forks_total', { agent_type: 'worker', result });
    expect(forks(after, 'created') - forks(before, 'created')).toBe(1);
    expect(forks(after, 'existing') - forks(before, 'existing')).toBe(1);
    // The fork is live (preparing, then a delayed model call): forking or retrying it is refused.
    const ofLive = await fork(newId, { turn: 1 });
    expect(ofLive.status).toBe(409);
    expect(ofLive.body.error.code).toBe('agent_live');

    const done = await finalStatus(newId);
    expect(done).toMatchObject({ status: 'completed', taskId, forkOf: oldId, forkedAtTurn: 2, result: { turns: 4 } });

    // The model: the fork's first request is the old run's first two turns, exactly what the old
    // run sent for its third turn (cache markers aside, which depend on timing).
    const requests = h.fakeModel.requestsFor(taskId);
    expect(requests).toHaveLength(6);
    const messages = (i: number) => withoutCacheMarkers(requests[i]!.body.messages);
    expect(messages(4)).toHaveLength(5);
    expect(messages(4)).toEqual(messages(2));
    expect(JSON.stringify(messages(4))).not.toContain('c.txt');
    // The worktree: the fork's own tool call sees a.txt and b.txt, not c.txt.
    const toolResult = JSON.stringify(requests[5]!.body.messages[6]);
    expect(toolResult).toContain('a.txt');
    expect(toolResult).toContain('b.txt');
    expect(toolResult).toContain('two');
    expect(toolResult).not.toContain('c.txt');
    const branch = done.result.branch as string;
    expect(showFile(remote.dir, branch, 'a.txt')).toBe('one');
    expect(showFile(remote.dir, branch, 'b.txt')).toBe('two');
    expect(() => showFile(remote.dir, branch, 'c.txt')).toThrow();

    // Linked in search attributes and both event streams.
    const description = await h.client.workflow.getHandle(`agent-${newId}`).describe();
    expect(description.typedSearchAttributes.get(SA.forkOf)).toBe(oldId);
    const log = new AgentEventLog(h.redis);
    expect((await log.readAfter(oldId, '0', 100)).map((e) => e.event)).toContainEqual(expect.objectContaining({ type: 'forked', forkedAs: newId, turn: 2 }));
    const newEvents = (await log.readAfter(newId, '0', 100)).map((e) => e.event);
    expect(newEvents[0]).toMatchObject({ type: 'lifecycle', to: 'spawning', forkOf: oldId, forkedAtTurn: 2 });
    expect(newEvents.filter((e) => e.type === 'turn').map((e) => (e as { turn: number }).turn)).toEqual([3, 4]);

    // Once the old conversation is gone (it expires with the old agent's state), a fork is refused.
    await h.redis.del(`orchestrator:transcript:${oldId}`);
    const gone = await fork(oldId, { turn: 1 });
    expect(gone.status).toBe(410);
    expect(gone.body.error.code).toBe('fork_source_gone');
  });
});

/** Messages as the model received them, without `cache_control` (where the breakpoints fall depends on timing). */
function withoutCacheMarkers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutCacheMarkers);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'cache_control').map(([k, v]) => [k, withoutCacheMarkers(v)]));
  return value;
}
