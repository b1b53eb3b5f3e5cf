/**
 * Tokens and dollars through the real agentRun workflow (real Temporal, Valkey, git, the real SDK)
 * against the fake Messages API, which bills like the real one (prompt cache by prefix, see
 * test/support/fake-model.ts): cache breakpoints that hold from turn to turn, usage and cost
 * stored and summed, a dollar budget that stops a run before the turn that would pass it, a long
 * run kept under its context bound by compaction, and a reviewer's verdict in the result.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import type { AgentStatusView } from '../domain/agent';
import { costUsd, type ModelPrice } from '../domain/pricing';
import { keys } from '../state/keys';
import type { TranscriptMessage } from '../state/transcript-store';
import type { FakeUsage, RecordedRequest, ScriptedReply } from './support/fake-model';
import { createRemoteRepo, git, nodeProjectFiles, remoteBranches, showFile } from './support/git-fixtures';
import { eventually, startHarness, type Harness } from './support/harness';
import { startHarnessApi, type HarnessApi } from './support/harness-api';

const bash = (command: string): ScriptedReply => ({ tools: [{ name: 'bash', input: { command } }] });
/** A command printing about `kb` kilobytes of varied text. */
const print = (kb: number, tag: string) => `for i in $(seq 1 ${Math.round((kb * 1024) / 64)}); do printf '%-63s\\n' "${tag} output line $i: some build log text"; done`;

const usageOf = (u: FakeUsage) => ({
  inputTokens: u.input_tokens,
  outputTokens: u.output_tokens,
  cacheCreationInputTokens: u.cache_creation_input_tokens,
  cacheReadInputTokens: u.cache_read_input_tokens,
});
const billed = (requests: RecordedRequest[], price: ModelPrice) => requests.reduce((sum, r) => sum + (r.usage ? costUsd(usageOf(r.usage), price) : 0), 0);

async function transcriptOf(h: Harness, agentId: string): Promise<TranscriptMessage[]> {
  const all = await h.redis.hgetall(keys.transcript(agentId));
  return Object.entries(all)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, raw]) => JSON.parse(raw) as TranscriptMessage);
}

describe('tokens and cost of agent runs', () => {
  describe('with the default price of claude-sonnet-5-5', () => {
    let h: Harness;
    const price = { input: 2, output: 10, cacheWrite5m: 2.5, cacheWrite1h: 4, cacheRead: 0.2 };
    beforeAll(async () => {
      h = await startHarness({ CONTEXT_WINDOW_TOKENS: '100000' });
    });
    afterAll(async () => {
      await h?.close();
    });

    it('reads the previous turn from the prompt cache every turn: prefixes byte-identical up to the breakpoint, usage stored and summed', async () => {
      const remote = createRemoteRepo(nodeProjectFiles());
      const taskId = 'T-cache-1';
      h.fakeModel.script(taskId, [bash(print(8, 'a')), bash(print(6, 'b')), bash(print(10, 'c')), bash(print(4, 'd')), bash('echo done > done.txt'), { text: 'Done.' }]);
      const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
      const final = await handle.result();
      expect(final.status).toBe('completed');

      const requests = h.fakeModel.requestsFor(taskId);
      expect(requests).toHaveLength(6);
      for (const [i, r] of requests.entries()) {
        expect(r.breakpoints!.length).toBeLessThanOrEqual(4);
        if (i === 0) continue;
        // The fake model compares this request with the previous one up to its last breakpoint.
        expect([i, r.prefixCheck]).toEqual([i, { comparedBlocks: requests[i - 1]!.breakpoints!.at(-1)! + 1, identical: true }]);
        // ...and so reads all of it from the cache: the previous request was cached whole.
        expect([i, r.usage!.cache_read_input_tokens]).toEqual([i, requests[i - 1]!.requestTokens]);
        // Only what this turn added is written; nothing is billed at the full input price.
        expect([i, r.usage!.cache_creation_input_tokens]).toEqual([i, r.requestTokens! - requests[i - 1]!.requestTokens!]);
        expect(r.usage!.input_tokens).toBe(0);
      }

      // Stored per turn with the transcript, as the API reported them, with the turn's cost.
      const agentId = handle.workflowId.replace('agent-', '');
      const answers = (await transcriptOf(h, agentId)).filter((m) => m.role === 'assistant');
      expect(answers.map((m) => m.usage)).toEqual(requests.map((r) => expect.objectContaining({ ...r.usage, cache_creation: expect.anything() })));
      expect(answers.map((m) => m.costUsd)).toEqual(requests.map((r) => costUsd(usageOf(r.usage!), price)));

      // Summed into the result and the status: tokens of each kind and dollars.
      const sum = (k: keyof FakeUsage) => requests.reduce((s, r) => s + (r.usage![k] as number), 0);
      const expected = {
        inputTokens: sum('input_tokens'),
        outputTokens: sum('output_tokens'),
        cacheCreationInputTokens: sum('cache_creation_input_tokens'),
        cacheReadInputTokens: sum('cache_read_input_tokens'),
      };
      expect(expected.cacheReadInputTokens).toBeGreaterThan(20_000);
      expect(final.result).toMatchObject({ ...expected, costUsd: expect.closeTo(billed(requests, price), 5) });
      expect(final.progress).toMatchObject({ turn: 6, ...expected, lastTurn: { turn: 6, costUsd: answers.at(-1)!.costUsd } });
      const stored = JSON.parse((await h.redis.get(keys.agent(agentId)))!) as AgentStatusView;
      expect(stored.result?.costUsd).toBe(final.result?.costUsd);
    }, 300_000);

    it('keeps a 60-turn run whose tool prints 20 KB each turn under the context bound every turn, with all 60 results whole in the transcript', async () => {
      // Bound: 0.5 x 100,000 estimated tokens; the fake model refuses anything over 50,000 of its own.
      const remote = createRemoteRepo(nodeProjectFiles());
      const taskId = 'T-long-60';
      const turns = Array.from({ length: 60 }, (_, i) => bash(print(20, `turn${i + 1}`)));
      h.fakeModel.script(taskId, [...turns, bash('echo done > done.txt'), { text: 'Done.' }]);
      const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', budgets: { maxTurns: 70, maxOutputTokens: 1_000_000, maxWallTimeSeconds: 1200 } });
      const final = await handle.result();
      expect(final.status).toBe('completed');

      const requests = h.fakeModel.requestsFor(taskId);
      expect(requests).toHaveLength(62);
      const sizes = requests.map((r) => r.requestTokens!);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(50_000);
      // Without compaction the last request would carry all 60 outputs (about 300,000 tokens).
      expect(sizes.at(-1)).toBeLessThan(50_000);
      // Compaction in steps: most turns still repeat the previous request's prefix.
      const identical = requests.slice(1).filter((r) => r.prefixCheck?.identical).length;
      expect(identical).toBeGreaterThan(40);
      // A step reads back from the cache what it did not change, all but at most the answer just
      // before the first change (no request ends on an answer, so no entry ends there); only the rest is written.
      const steps = requests.filter((r) => r.prefixCheck && !r.prefixCheck.identical);
      expect(steps.length).toBeGreaterThanOrEqual(5);
      const unread = steps.map((r) => r.prefixCheck!.unchangedTokens! - r.usage!.cache_read_input_tokens);
      expect({ fewest: Math.min(...unread) >= 0, most: Math.max(...unread) }).toEqual({ fewest: true, most: expect.any(Number) });
      expect(Math.max(...unread)).toBeLessThan(100);

      const agentId = handle.workflowId.replace('agent-', '');
      const results = (await transcriptOf(h, agentId)).flatMap((m) => (typeof m.content === 'string' ? [] : m.content.filter((b) => b.type === 'tool_result')));
      expect(results).toHaveLength(61);
      for (const [i, r] of results.slice(0, 60).entries()) {
        const text = (r as { content: string }).content;
        expect([i, text.length > 20_000, text.includes(`turn${i + 1} output line 1:`), text.includes(`turn${i + 1} output line 320:`)]).toEqual([i, true, true, true]);
      }
    }, 600_000); // 62 turns through the real workflow: about a minute, several on a loaded machine
  });

  describe('with a model whose context window is the one the service plans for (100,000 tokens)', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ CONTEXT_WINDOW_TOKENS: '100000' }, { fakeModel: { contextWindowTokens: 100_000 } });
    });
    afterAll(async () => {
      await h?.close();
    });

    // One answer asking for 16 commands at once, each printing more than TOOL_OUTPUT_MAX_BYTES
    // (30,000): the newest turn alone is about 120,000 tokens, which no compaction of older turns
    // can bring under the window.
    it('sends the turn after 16 parallel tool calls of 30 KB each within the window: their middles cut with a note, the same bytes in the next request', async () => {
      const remote = createRemoteRepo(nodeProjectFiles());
      const taskId = 'T-wide-turn';
      const wide: ScriptedReply = { tools: Array.from({ length: 16 }, (_, i) => ({ name: 'bash' as const, input: { command: print(30, `call${i + 1}`) } })), thinking: 'Gather every log at once.' };
      h.fakeModel.script(taskId, [wide, { ...bash('echo done > done.txt'), thinking: 'Now write the file.' }, { text: 'Done.' }]);
      const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', budgets: { maxTurns: 10, maxOutputTokens: 1_000_000, maxWallTimeSeconds: 600 } });
      const final = await handle.result();
      expect(final.status).toBe('completed');

      const requests = h.fakeModel.requestsFor(taskId);
      expect(requests.map((r) => r.usage !== undefined)).toEqual([true, true, true]);
      for (const r of requests) expect(r.requestTokens! + r.body.max_tokens).toBeLessThanOrEqual(100_000);
      // Every result of the wide turn is there, its head and tail kept around a note saying what was cut.
      const results = (requests[1]!.body.messages.at(-1)!.content as { type: string; tool_use_id: string; content: string }[]).filter((b) => b.type === 'tool_result');
      expect(results).toHaveLength(16);
      for (const [i, r] of results.entries()) {
        expect([i, r.content]).toEqual([i, expect.stringContaining(`call${i + 1} output line 1:`)]);
        expect(r.content).toMatch(/\[\.\.\. \d+ characters of this tool output were cut to fit the context window/);
      }
      // The next request sends those results with the same bytes (the prompt cache holds), and the
      // wide turn's answer with its thinking (bound to them).
      expect(requests[2]!.prefixCheck).toEqual({ comparedBlocks: requests[1]!.breakpoints!.at(-1)! + 1, identical: true });
      expect(JSON.stringify(requests[2]!.body.messages[1])).toContain('"type":"thinking"');
      // The transcript keeps every output as the tool returned it.
      const agentId = handle.workflowId.replace('agent-', '');
      const stored = (await transcriptOf(h, agentId))[2]!.content as { type: string; content: string }[];
      expect(stored.map((b) => b.content.length > 29_000)).toEqual(stored.map(() => true));
    }, 300_000);
  });

  describe('with a model that sends its thinking back (claude-sonnet-5-5)', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ CONTEXT_WINDOW_TOKENS: '100000' });
    });
    afterAll(async () => {
      await h?.close();
    });

    // Sonnet 5.5 answers with thinking blocks bound to the conversation before them: one sent back
    // after that part changed is refused (400), and every compaction step changes it.
    it('goes on past its compaction steps: no thinking block goes back after what it was bound to changed', async () => {
      const remote = createRemoteRepo(nodeProjectFiles());
      const taskId = 'T-thinking-compacted';
      const turns = Array.from({ length: 16 }, (_, i) => ({ ...bash(print(20, `turn${i + 1}`)), thinking: `Step ${i + 1}: look at the log.` }));
      h.fakeModel.script(taskId, [...turns, { ...bash('echo done > done.txt'), thinking: '' }, { text: 'Done.', thinking: 'All done.' }]);
      const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', budgets: { maxTurns: 30, maxOutputTokens: 1_000_000, maxWallTimeSeconds: 600 } });
      const final = await handle.result();
      expect(final.status).toBe('completed');
      const requests = h.fakeModel.requestsFor(taskId);
      expect(requests.map((r) => r.usage !== undefined)).toEqual(requests.map(() => true));
      expect(requests).toHaveLength(18);
      // It did compact (a request that changed the previous one's prefix), more than once.
      expect(requests.filter((r) => r.prefixCheck && !r.prefixCheck.identical).length).toBeGreaterThanOrEqual(2);
      // Thinking still goes back between steps: the newest answers keep theirs.
      const last = requests.at(-1)!.body.messages;
      expect(JSON.stringify(last.at(-2))).toContain('"type":"thinking"');
    }, 300_000);
  });

  describe('with a price table and a budget in dollars', () => {
    let h: Harness;
    let api: HarnessApi;
    // Output-heavy turns: 1,024 output tokens at $15 per million is about $0.015 a turn.
    const price = { input: 3, output: 15, cacheWrite5m: 3.75, cacheWrite1h: 6, cacheRead: 0.3 };
    beforeAll(async () => {
      h = await startHarness({ MODEL_PRICES: JSON.stringify({ 'claude-sonnet-5-5': { input: 3, output: 15 } }), AGENT_MAX_TOKENS_PER_TURN: '1024', ORCHESTRATOR_API_KEY: 'tokens-test-api-key-0001' });
      api = await startHarnessApi(h, 'tokens-test-api-key-0001');
    });
    afterAll(async () => {
      await api?.close();
      await h?.close();
    });

    const script = (): ScriptedReply[] => Array.from({ length: 10 }, (_, i) => ({ ...bash(`echo step ${i}`), outputTokens: 1024 }));

    it('stops a run with a $0.05 budget before the turn that would pass it: BudgetExceeded naming maxCostUsd', async () => {
      const remote = createRemoteRepo(nodeProjectFiles());
      const budgeted = 'T-cost-budget';
      h.fakeModel.script(budgeted, script());
      const handle = await h.spawn({ taskId: budgeted, repository: remote.url, budgets: { maxTurns: 20, maxOutputTokens: 100_000, maxWallTimeSeconds: 600, maxCostUsd: 0.05 } });
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as { type?: string; message: string; details?: unknown[] };
      expect(cause.type).toBe('BudgetExceeded');
      expect(cause.message).toMatch(/^cost budget \(maxCostUsd\) reached: the next turn could cost up to \$0\.\d{4}, more than the \$0\.\d{4} left of \$0\.0500/);
      const view = cause.details?.[0] as AgentStatusView;
      expect(view).toMatchObject({ status: 'failed', errorType: 'BudgetExceeded', exceededBudget: 'maxCostUsd' });

      const made = h.fakeModel.requestsFor(budgeted);
      const spent = billed(made, price);
      expect(spent).toBeLessThanOrEqual(0.05);
      expect(view.result?.costUsd).toBeCloseTo(spent, 5);
      expect(made.length).toBeGreaterThanOrEqual(2);

      // The same session without a dollar budget: the turn that was refused is the one that passes $0.05.
      const free = 'T-cost-free';
      h.fakeModel.script(free, script());
      await h.spawn({ taskId: free, repository: remote.url, budgets: { maxTurns: made.length + 1, maxOutputTokens: 100_000, maxWallTimeSeconds: 600 } }).then((x) => x.result().catch(() => undefined));
      const unbounded = h.fakeModel.requestsFor(free);
      expect(unbounded).toHaveLength(made.length + 1);
      // Turns after the first cost the same in both runs; the first may differ, since the earlier
      // run left the shared system prompt and tools in the prompt cache.
      const turnCost = (r: RecordedRequest) => costUsd(usageOf(r.usage!), price);
      expect(unbounded.slice(1, made.length).map(turnCost)).toEqual(made.slice(1).map(turnCost).map((c) => expect.closeTo(c, 6)));
      expect(spent + turnCost(unbounded[made.length]!)).toBeGreaterThan(0.05);
    }, 300_000);

    it('counts the AI review gate\'s model call in the run\'s cost', async () => {
      const remote = createRemoteRepo(nodeProjectFiles());
      const taskId = 'T-cost-review';
      h.fakeModel.script(taskId, [bash('echo reviewed > notes.txt'), { text: 'Wrote notes.txt.' }, { text: 'Fine.\nVERDICT: APPROVE', outputTokens: 1024 }]);
      const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'custom', context: { repository: remote.url, branch: 'main', workItems: ['US-001'], skills: [], gates: ['review'] } });
      const final = await handle.result();
      expect(final.status).toBe('completed');
      const requests = h.fakeModel.requestsFor(taskId);
      expect(requests).toHaveLength(3);
      const review = costUsd(usageOf(requests[2]!.usage!), price);
      expect(review).toBeGreaterThan(0.015);
      // The agent's two turns plus the review: the review is not left out of the bill.
      expect(final.result?.costUsd).toBeCloseTo(billed(requests, price), 5);
      expect(final.result?.costUsd).toBeGreaterThan(billed(requests.slice(0, 2), price) + 0.015);
    }, 300_000);

    it('reports the AI review as not completed, not as a veto, when the reviewer\'s thinking uses up max_tokens, and reviews again next round', async () => {
      const remote = createRemoteRepo(nodeProjectFiles());
      const taskId = 'T-review-thinking';
      // Claude Sonnet 5.5 thinks by default (adaptive), and its thinking counts toward max_tokens: 17,000 tokens of it leave none for the verdict.
      const overthought: ScriptedReply = { text: 'Fine.\nVERDICT: APPROVE', thinking: 'Weigh every hunk again. '.repeat(2900) };
      h.fakeModel.script(taskId, [bash('echo reviewed > notes.txt'), { text: 'Wrote notes.txt.' }, overthought, { text: 'Nothing to change.' }, { text: 'Fine.\nVERDICT: APPROVE', thinking: 'Short.' }]);
      const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'custom', context: { repository: remote.url, branch: 'main', workItems: ['US-001'], skills: [], gates: ['review'] } });
      const final = await handle.result();
      expect(final.status).toBe('completed');
      const requests = h.fakeModel.requestsFor(taskId);
      expect(requests).toHaveLength(5);
      expect(requests[2]!.body.max_tokens).toBe(16_000);
      expect(requests[2]!.usage!.output_tokens).toBe(16_000);
      // The agent is told the review could not run, and why; not that it has findings to fix.
      const feedback = JSON.stringify(requests[3]!.body.messages.at(-1));
      expect(feedback).toContain("## review: could not run");
      expect(feedback).toContain("the reviewer's answer was cut off at max_tokens (16000 output tokens, its thinking included) before its verdict line: it wrote no text at all");
      // The cut-off review is on the bill.
      expect(final.result?.costUsd).toBeCloseTo(billed(requests, price), 5);
    }, 300_000);

    it('ends BudgetExceeded, without a feedback round, when the AI review could pass what the dollar budget has left', async () => {
      const remote = createRemoteRepo(nodeProjectFiles());
      const taskId = 'T-cost-review-refused';
      // Two turns of 1,024 output tokens fit in $0.06 (each is checked at ~$0.022 at most); the review's worst case
      // (16,000 output tokens, thinking included, ~$0.24) does not fit in what they leave (~$0.023, or ~$0.028 with the prompt cache warm).
      h.fakeModel.script(taskId, [{ ...bash('echo reviewed > notes.txt'), outputTokens: 1024 }, { text: 'Wrote notes.txt.', outputTokens: 1024 }, { text: 'VERDICT: APPROVE' }]);
      const handle = await h.spawn({
        taskId,
        repository: remote.url,
        gateProfile: 'custom',
        context: { repository: remote.url, branch: 'main', workItems: ['US-001'], skills: [], gates: ['review'] },
        budgets: { maxTurns: 20, maxOutputTokens: 100_000, maxWallTimeSeconds: 600, maxCostUsd: 0.06 },
      });
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as { type?: string; message: string; details?: unknown[] };
      expect(cause.type).toBe('BudgetExceeded');
      expect(cause.message).toMatch(/^cost budget \(maxCostUsd\) reached: the AI review could cost up to \$0\.2\d+, more than the \$0\.0\d+ left/);
      expect(cause.details?.[0]).toMatchObject({ status: 'failed', exceededBudget: 'maxCostUsd' });
      // No review call, and no round sent back to the agent: two requests, the agent's two turns.
      expect(h.fakeModel.requestsFor(taskId)).toHaveLength(2);
    }, 300_000);

    it('bills a killed run for the model call it abandoned when that call is answered after the kill', async () => {
      const remote = createRemoteRepo(nodeProjectFiles());
      const taskId = 'T-cost-killed';
      h.fakeModel.script(taskId, [{ ...bash('echo late'), outputTokens: 1024, delayMs: 5000 }]);
      const handle = await h.spawn({ taskId, repository: remote.url });
      const agentId = handle.workflowId.replace('agent-', '');
      await eventually(async () => h.fakeModel.requestsFor(taskId).length === 1, 60_000, 'the model call');
      // Past the call's first heartbeat (a second in): the next one, which would carry the cancellation, is 30 s away.
      await new Promise((r) => setTimeout(r, 1500));
      await handle.signal('kill', { reason: 'operator stop' });
      const final = await handle.result();
      expect(final.status).toBe('killed');
      // The workflow gave the call up and never saw its answer...
      expect(final.result?.costUsd ?? 0).toBe(0);
      await eventually(async () => h.fakeModel.requestsFor(taskId)[0]?.usage !== undefined, 30_000, 'the abandoned call answered');
      const paid = billed(h.fakeModel.requestsFor(taskId), price);
      expect(paid).toBeGreaterThan(0.015);
      // ...but the bill does: the status the API serves carries what the call cost.
      await eventually(async () => (await api.request('GET', `/agents/${agentId}/status`)).body?.result?.costUsd === Math.round(paid * 1e6) / 1e6, 10_000, 'the late call on the bill');
      const { body } = await api.request('GET', `/agents/${agentId}/status`);
      expect(body).toMatchObject({ status: 'killed', progress: { costUsd: body.result.costUsd } });
    }, 300_000);
  });

  describe('a reviewer', () => {
    let h: Harness;
    let work: string;
    beforeAll(async () => {
      h = await startHarness();
      work = mkdtempSync(path.join(os.tmpdir(), 'review-'));
    });
    afterAll(async () => {
      await h?.close();
      rmSync(work, { recursive: true, force: true });
    });

    it('is told the branch under review and its base, with the diff, and returns its verdict and findings in the result', async () => {
      const remote = createRemoteRepo(nodeProjectFiles({ 'src/cache.js': 'module.exports = new Map();\n' }));
      // The branch under review: one commit on top of main.
      git(work, 'clone', '-q', remote.dir, 'clone');
      const clone = path.join(work, 'clone');
      git(clone, 'checkout', '-q', '-b', 'feature/cache');
      git(clone, 'config', 'user.email', 'dev@example.com');
      git(clone, 'config', 'user.name', 'Dev');
      git(clone, 'rm', '-q', 'src/cache.js');
      git(clone, 'commit', '-q', '-m', 'drop the cache');
      git(clone, 'push', '-q', 'origin', 'feature/cache');

      const taskId = 'T-review-1';
      h.fakeModel.script(taskId, [
        bash('cat package.json'),
        { text: 'The cache module is removed but still required.\n\nFINDINGS:\n- [major] src/index.js:3 requires ./cache, which this branch deletes\n- [nit] README.md:1 no changelog entry\nVERDICT: REQUEST_CHANGES' },
      ]);
      const handle = await h.spawn({
        taskId,
        repository: remote.url,
        agentType: 'reviewer',
        gateProfile: 'minimal',
        context: { repository: remote.url, branch: 'feature/cache', baseBranch: 'main', workItems: ['US-3'], skills: [] },
      });
      const final = await handle.result();
      expect(final.status).toBe('completed');
      expect(final.result?.review).toEqual({
        verdict: 'request_changes',
        findings: [
          { severity: 'major', file: 'src/index.js', line: 3, text: 'requires ./cache, which this branch deletes' },
          { severity: 'nit', file: 'README.md', line: 1, text: 'no changelog entry' },
        ],
        summary: 'The cache module is removed but still required.',
      });

      const first = h.fakeModel.requestsFor(taskId)[0]!.body.messages[0]!.content as { text: string }[];
      const text = first.map((b) => b.text).join('\n');
      expect(text).toContain('Branch under review: feature/cache');
      expect(text).toContain('Compared with base: main');
      expect(text).toMatch(/```diff\n[\s\S]*deleted file mode[\s\S]*-module\.exports = new Map\(\);/);
      expect(JSON.stringify(h.fakeModel.requestsFor(taskId)[0]!.body.system)).toContain('VERDICT: APPROVE or VERDICT: REQUEST_CHANGES');
    });
  });

  // Claude Sonnet 5.5 thinks adaptively, and its thinking counts toward max_tokens: a turn can end
  // at AGENT_MAX_TOKENS_PER_TURN before the agent said or did what it meant to.
  describe('answers cut off at max_tokens (AGENT_MAX_TOKENS_PER_TURN 1024)', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ AGENT_MAX_TOKENS_PER_TURN: '1024' });
    });
    afterAll(async () => {
      await h?.close();
    });

    /** About 1,650 tokens of thinking: all of the turn's 1,024 go to it, and the answer never starts. */
    const overthinking = (then: ScriptedReply): ScriptedReply => ({ ...then, thinking: 'Weigh the next step again. '.repeat(250) });
    /** About 1,500 tokens of text: cut in the middle. */
    const longText: ScriptedReply = { text: 'Here is my plan, in detail. '.repeat(220) };

    it('are not taken as the last word: the agent is told it was cut off and goes on, in requests the API accepts, and all its work is pushed', async () => {
      const remote = createRemoteRepo(nodeProjectFiles());
      const taskId = 'T-cut-off-continue';
      h.fakeModel.script(taskId, [
        bash('echo one > part1.txt'),
        overthinking(bash('echo two > part2.txt')),
        longText,
        bash('echo two > part2.txt'),
        longText,
        { text: 'Done.' },
      ]);
      const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
      const final = await handle.result();
      const requests = h.fakeModel.requestsFor(taskId);
      // Before: the answer cut while thinking went to the gates, which passed, and part1.txt alone was pushed.
      expect(requests).toHaveLength(6);
      expect(final.status).toBe('completed');
      expect(requests.map((r) => r.usage !== undefined)).toEqual(requests.map(() => true));
      expect(requests.map((r) => r.usage!.output_tokens).slice(1, 3)).toEqual([1024, 1024]);
      // The answer that was only thinking goes back with its thinking (bound to what preceded it) and
      // the view's note after it (an assistant message may not end in thinking), then the note.
      const afterThinking = requests[2]!.body.messages;
      expect((afterThinking.at(-2)!.content as { type: string }[]).map((b) => b.type)).toEqual(['thinking', 'text']);
      const note = JSON.stringify(afterThinking.at(-1));
      expect(note).toContain('Your last answer was cut off at max_tokens: it reached 1024 output tokens, your thinking included, before you finished it');
      expect(note).toContain('Continue from where you were, more briefly');
      // A text cut in the middle goes back as far as it got, then the note again.
      const afterText = requests[3]!.body.messages;
      expect(JSON.stringify(afterText.at(-2))).toContain('Here is my plan, in detail.');
      expect(JSON.stringify(afterText.at(-1))).toContain('Your last answer was cut off at max_tokens');
      // Cut-offs count in a row only: the fifth answer, after the agent acted again, is asked to go on too.
      expect(JSON.stringify(requests[5]!.body.messages.at(-1))).toContain('Your last answer was cut off at max_tokens');
      const branch = final.result!.branch!;
      expect(showFile(remote.dir, branch, 'part1.txt')).toBe('one');
      expect(showFile(remote.dir, branch, 'part2.txt')).toBe('two');
    }, 300_000);

    it('fail the run AnswerCutOff, naming AGENT_MAX_TOKENS_PER_TURN, after three in a row; nothing is committed or pushed', async () => {
      const remote = createRemoteRepo(nodeProjectFiles());
      const taskId = 'T-cut-off-limit';
      h.fakeModel.script(taskId, [
        bash('echo one > part1.txt'),
        // Cut while writing a tool call: the call never runs, and the request after it goes without it.
        { tools: [{ name: 'bash', input: { command: 'echo two > part2.txt' } }], outputTokens: 100_000 },
        overthinking({ text: 'Done.' }),
        longText,
        { text: 'Done.' },
      ]);
      const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as { type?: string; message: string; nonRetryable?: boolean };
      expect({ type: cause.type, nonRetryable: cause.nonRetryable }).toEqual({ type: 'AnswerCutOff', nonRetryable: true });
      expect(cause.message).toBe(
        "the agent's answer was cut off at max_tokens (1024 output tokens a turn, its thinking included) 3 turns in a row, each before it finished: raise AGENT_MAX_TOKENS_PER_TURN or give the agent a smaller task",
      );
      const requests = h.fakeModel.requestsFor(taskId);
      expect(requests).toHaveLength(4);
      expect(requests.map((r) => r.usage !== undefined)).toEqual([true, true, true, true]);
      const afterToolCut = requests[2]!.body.messages;
      expect(JSON.stringify(afterToolCut.at(-2))).not.toContain('tool_use');
      expect(JSON.stringify(afterToolCut.at(-2))).toContain('unfinished tool call(s) of this answer were cut off at the output limit and not run');
      expect(JSON.stringify(afterToolCut.at(-1))).toContain('Your last answer was cut off at max_tokens');
      expect(remoteBranches(remote.dir)).toEqual(['refs/heads/main']);
    }, 300_000);
  });
});
