/**
 * What a model turn returns leaves the worker (workflow history, Valkey state, the status API),
 * so a secret the model wrote must not be in it; and what a turn is estimated to cost before it is
 * sent, against the dollar budget. Real transcript store (Valkey), stubbed model.
 */
import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import type Redis from 'ioredis';
import { CancelledFailure } from '@temporalio/common';
import { DEFAULT_PRICES } from '../../domain/pricing';
import { redactSecrets } from '../../scanner';
import { SpendLedger } from '../../state/spend-ledger';
import { TranscriptStore, type TranscriptMessage } from '../../state/transcript-store';
import { FakeModelServer } from '../../test/support/fake-model';
import { connectTestRedis } from '../../test/support/redis';
import { CancelledBeforeSendError } from './errors';
import { runModelTurn, type ModelTurnDeps } from './model-turn';

// A made-up AWS access key id; the scanner's rules recognise its shape.
const AWS_KEY = 'AKIAQ3VZL7WD5NTXKB2M';

let redis: Redis;
let transcripts: TranscriptStore;
let ledger: SpendLedger;
beforeAll(() => {
  redis = connectTestRedis();
  transcripts = new TranscriptStore(redis);
  ledger = new SpendLedger(redis);
});
afterAll(() => redis.quit());

function depsAnswering(text: string): ModelTurnDeps {
  const answer = { content: [{ type: 'text', text }], stop_reason: 'end_turn', usage: { input_tokens: 100, output_tokens: 50 } };
  const anthropic = { messages: { create: async () => answer } } as unknown as Anthropic;
  return {
    anthropic,
    requestTimeoutMs: 10_000,
    transcripts,
    ledger,
    model: 'claude-sonnet-5-5',
    maxTokensPerTurn: 4096,
    price: DEFAULT_PRICES['claude-sonnet-5-5']!,
    promptCache: 'off',
    context: { windowTokens: 200_000, compactAt: 0.5, compactTo: 0.2, keepRecentTurns: 3 },
    redact: redactSecrets,
  };
}

describe('runModelTurn for a reviewer', () => {
  async function reviewTurn(deps: ModelTurnDeps) {
    const agentId = randomUUID();
    await transcripts.put(agentId, 0, { role: 'user', content: 'Task: T-1' });
    const input = { agentId, agentType: 'reviewer' as const, messageCount: 1, workspaceDir: '/workspace' };
    return { fresh: await runModelTurn(deps, input, {}), reused: await runModelTurn(deps, input, {}) };
  }

  it('redacts secrets in the review summary, the findings and the digest, fresh or reused', async () => {
    const answer = [
      `The config now embeds ${AWS_KEY} for the upload client.`,
      'FINDINGS:',
      `- [blocker] src/config.ts:3 hard-coded AWS key ${AWS_KEY} must be removed`,
      'VERDICT: REQUEST_CHANGES',
    ].join('\n');
    const { fresh, reused } = await reviewTurn(depsAnswering(answer));
    for (const result of [fresh, reused]) {
      expect(JSON.stringify(result)).not.toContain(AWS_KEY);
      expect(result.review).toEqual({
        verdict: 'request_changes',
        findings: [{ severity: 'blocker', file: 'src/config.ts', line: 3, text: `hard-coded AWS key ${redactSecrets(AWS_KEY)} must be removed` }],
        summary: `The config now embeds ${redactSecrets(AWS_KEY)} for the upload client.`,
      });
    }
    expect(reused.reused).toBe(true);
  });

  it('redacts before it cuts: a secret across the summary or finding bound leaves no part behind', async () => {
    // The summary keeps its last 2000 characters, a finding its first 500: the key straddles both cuts.
    const answer = `${'a'.repeat(1990)} ${AWS_KEY} ${'b'.repeat(1990)}\nFINDINGS:\n- [major] a.ts:1 ${'c'.repeat(490)} ${AWS_KEY}\nVERDICT: REQUEST_CHANGES`;
    const { fresh } = await reviewTurn(depsAnswering(answer));
    expect(fresh.review?.summary).not.toContain(AWS_KEY.slice(-9));
    expect(fresh.review?.findings[0]?.text).not.toContain(AWS_KEY.slice(0, 9));
  });
});

describe('runModelTurn: whether the prompt cache is still warm', () => {
  const ANSWERED_AT = 1_800_000_000_000;
  /** What the next turn is estimated to cost (read from the refusal a one-micro-dollar budget gives) after an answer stamped so. */
  async function estimateAfter(stamps: { sentAt?: number; answeredAt: number }, nowMs: number): Promise<number> {
    const agentId = randomUUID();
    await transcripts.put(agentId, 0, { role: 'user', content: `Task: ${'context '.repeat(20_000)}` });
    await transcripts.put(agentId, 1, { role: 'assistant', content: [{ type: 'tool_use', id: 'tu_1', name: 'bash', input: { command: 'ls' } }], ...stamps });
    await transcripts.put(agentId, 2, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: 'a.txt' }] });
    // The one-micro-dollar budget refuses the turn before any call: the answer is never asked for.
    const deps: ModelTurnDeps = {
      ...depsAnswering('unused'),
      promptCache: '5m',
      context: { windowTokens: 200_000, compactAt: 0.9, compactTo: 0.5, keepRecentTurns: 3 },
      now: () => nowMs,
    };
    const input = { agentId, agentType: 'worker' as const, messageCount: 3, workspaceDir: '/workspace', budget: { maxOutputTokens: 100_000, outputTokens: 0, maxCostUsd: 0.000001, costUsd: 0 } };
    const result = await runModelTurn(deps, input, {});
    const estimate = /could cost up to \$([0-9.]+)/.exec(result.refused?.message ?? '')?.[1];
    if (!estimate) throw new Error(`no estimate in ${JSON.stringify(result.refused)}`);
    return Number(estimate);
  }

  it("counts the cache's five minutes from when the last request was sent, not from the end of a long answer", async () => {
    const next = ANSWERED_AT + 90_000; // a minute and a half after the answer
    const quickAnswer = await estimateAfter({ sentAt: ANSWERED_AT - 1_000, answeredAt: ANSWERED_AT }, next);
    const longAnswer = await estimateAfter({ sentAt: ANSWERED_AT - 4 * 60_000, answeredAt: ANSWERED_AT }, next);
    const coldCache = await estimateAfter({ sentAt: ANSWERED_AT - 20 * 60_000, answeredAt: ANSWERED_AT - 19 * 60_000 }, next);
    // Sent 5.5 minutes before the next turn: the entry has expired, the whole prefix is written again.
    expect(longAnswer).toBe(coldCache);
    expect(quickAnswer).toBeLessThan(longAnswer / 2);
  });
});

describe('runModelTurn and the spend ledger', () => {
  const price = DEFAULT_PRICES['claude-sonnet-5-5']!;
  const turnCost = (100 * price.input + 50 * price.output) / 1_000_000;

  it('records each paid answer once: a retry that reuses the stored answer adds nothing, and both report the total', async () => {
    const agentId = randomUUID();
    await transcripts.put(agentId, 0, { role: 'user', content: 'Task: T-1' });
    const input = { agentId, agentType: 'worker' as const, messageCount: 1, workspaceDir: '/workspace' };
    const fresh = await runModelTurn(depsAnswering('Done.'), input, {});
    const reused = await runModelTurn(depsAnswering('Done.'), input, {});
    expect(fresh).toMatchObject({ reused: false, costUsd: expect.closeTo(turnCost, 6), spentUsd: expect.closeTo(turnCost, 6) });
    expect(reused).toMatchObject({ reused: true, costUsd: fresh.costUsd, spentUsd: fresh.spentUsd });
    expect(await ledger.total(agentId)).toBeCloseTo(turnCost, 6);
  });

  it('holds a turn to what the ledger says was paid, also for calls the workflow never counted', async () => {
    const agentId = randomUUID();
    await transcripts.put(agentId, 0, { role: 'user', content: 'Task: T-1' });
    // A review paid by a gate attempt that failed afterwards: the workflow counted nothing of it.
    await ledger.record(agentId, 'review:post-commit:1:0123456789abcdef', 0.5);
    let calls = 0;
    const deps = { ...depsAnswering('Done.'), anthropic: { messages: { create: async () => (calls++, {}) } } as unknown as Anthropic };
    const input = { agentId, agentType: 'worker' as const, messageCount: 1, workspaceDir: '/workspace', budget: { maxOutputTokens: 100_000, outputTokens: 0, maxCostUsd: 0.51, costUsd: 0 } };
    const result = await runModelTurn(deps, input, {});
    expect(result.refused).toMatchObject({ budget: 'maxCostUsd', message: expect.stringContaining('($0.5000 spent)') });
    expect(calls).toBe(0);
  });
});

describe('runModelTurn: two attempts of one turn at once', () => {
  const price = DEFAULT_PRICES['claude-sonnet-5-5']!;
  const turnCost = (100 * price.input + 50 * price.output) / 1_000_000;

  it('puts both paid calls on the bill: an attempt retried while the first was still waiting (a missed heartbeat, a host taken for lost) pays again', async () => {
    const agentId = randomUUID();
    await transcripts.put(agentId, 0, { role: 'user', content: 'Task: T-1' });
    // Both attempts are in the API before either answer is stored.
    let waiting = 0;
    let release!: () => void;
    const bothSent = new Promise<void>((r) => (release = r));
    const answer = { content: [{ type: 'text', text: 'Done.' }], stop_reason: 'end_turn', usage: { input_tokens: 100, output_tokens: 50 } };
    const create = async () => {
      if (++waiting === 2) release();
      await bothSent;
      return answer;
    };
    const deps = { ...depsAnswering('Done.'), anthropic: { messages: { create } } as unknown as Anthropic };
    const input = { agentId, agentType: 'worker' as const, messageCount: 1, workspaceDir: '/workspace' };
    const [first, second] = await Promise.all([runModelTurn(deps, input, {}), runModelTurn(deps, input, {})]);
    expect(await ledger.total(agentId)).toBeCloseTo(2 * turnCost, 6);
    expect(Math.max(first.spentUsd!, second.spentUsd!)).toBeCloseTo(2 * turnCost, 6);
    // A later retry reuses the stored answer and adds nothing.
    await runModelTurn(depsAnswering('Done.'), input, {});
    expect(await ledger.total(agentId)).toBeCloseTo(2 * turnCost, 6);
  });
});

describe('runModelTurn: a dollar budget and calls still waiting', () => {
  const budget = { maxOutputTokens: 100_000, outputTokens: 0, maxCostUsd: 0.08, costUsd: 0 };
  const fake = new FakeModelServer();
  let baseURL: string;
  beforeAll(async () => {
    baseURL = await fake.start();
  });
  afterAll(() => fake.stop());

  async function startTurn(task = 'T-1') {
    const agentId = randomUUID();
    await transcripts.put(agentId, 0, { role: 'user', content: `Task: ${task}` });
    return { agentId, agentType: 'worker' as const, messageCount: 1, workspaceDir: '/workspace', budget };
  }

  it('refuses a second attempt while the first one waits on the API when both could pass the budget, and counts the first at its price once answered', async () => {
    const input = await startTurn();
    let sent = 0;
    let answer!: () => void;
    const answered = new Promise<void>((r) => (answer = r));
    const create = async () => {
      sent += 1;
      await answered;
      return { content: [{ type: 'text', text: 'Done.' }], stop_reason: 'end_turn', usage: { input_tokens: 100, output_tokens: 50 } };
    };
    const deps = { ...depsAnswering('Done.'), anthropic: { messages: { create } } as unknown as Anthropic };
    // One turn's worst case (4,096 output tokens, about $0.044) fits in $0.08; two do not.
    const first = runModelTurn(deps, input, {});
    while (sent === 0) await new Promise((r) => setTimeout(r, 5));
    const held = await ledger.committed(input.agentId);
    expect(held.usd).toBeGreaterThan(0.04);
    expect(await ledger.total(input.agentId)).toBe(0);

    const second = await runModelTurn(deps, input, {});
    expect(second.refused).toMatchObject({ budget: 'maxCostUsd', message: expect.stringMatching(/\(\$0\.04\d+ spent or held for calls not priced yet, \$0\.04\d+ of it held\)$/) });
    expect(sent).toBe(1);

    answer();
    const done = await first;
    expect(done.refused).toBeUndefined();
    // The price replaces the hold.
    expect((await ledger.committed(input.agentId)).usd).toBeCloseTo(done.costUsd, 6);
    expect(await ledger.total(input.agentId)).toBeCloseTo(done.costUsd, 6);
  });

  it('lets the hold go when the API answered with an error (nothing billed), and keeps it when the request timed out (it may have been)', async () => {
    // The real SDK against the scripted Messages API: its errors as the activity sees them.
    const deps = { ...depsAnswering('Done.'), anthropic: new Anthropic({ apiKey: 'sk-ant-test', baseURL, maxRetries: 0 }), requestTimeoutMs: 300 };
    const overloadedTask = `H-${randomUUID()}`;
    const overloaded = await startTurn(overloadedTask);
    fake.script(overloadedTask, [{ status: 529, body: { type: 'error', error: { type: 'overloaded_error', message: 'busy' } } }]);
    await expect(runModelTurn(deps, overloaded, {})).rejects.toMatchObject({ type: 'ModelUnavailable', unbilled: true });
    expect((await ledger.committed(overloaded.agentId)).micros).toBe(0);

    const slowTask = `H-${randomUUID()}`;
    const timedOut = await startTurn(slowTask);
    fake.script(slowTask, [{ text: 'late', delayMs: 3000 }]);
    await expect(runModelTurn(deps, timedOut, {})).rejects.toMatchObject({ type: 'ModelUnavailable', unbilled: false });
    expect((await ledger.committed(timedOut.agentId)).usd).toBeGreaterThan(0.04);
    // Its retry counts the call that may have been billed: a second worst case does not fit.
    const retry = await runModelTurn(depsAnswering('Done.'), timedOut, {});
    expect(retry.refused).toMatchObject({ budget: 'maxCostUsd' });
  });

  it('lets the hold go when a kill cancelled the call after its hold, before its request left: nothing was sent, nothing billed', async () => {
    const task = `H-${randomUUID()}`;
    const input = await startTurn(task);
    fake.script(task, [{ text: 'Done.' }]);
    // The kill reaches the activity (a heartbeat's answer) while the hold is being written.
    const cancelled = new AbortController();
    const killedDuringHold: ModelTurnDeps['ledger'] = {
      record: (...a) => ledger.record(...a),
      committed: (...a) => ledger.committed(...a),
      release: (...a) => ledger.release(...a),
      hold: async (...a) => {
        const held = await ledger.hold(...a);
        cancelled.abort(new CancelledFailure('CANCELLED'));
        return held;
      },
    };
    const deps = { ...depsAnswering('Done.'), ledger: killedDuringHold, anthropic: new Anthropic({ apiKey: 'sk-ant-test', baseURL, maxRetries: 0 }) };
    await expect(runModelTurn(deps, input, { signal: cancelled.signal })).rejects.toBeInstanceOf(CancelledFailure);
    expect(fake.requestsFor(task)).toHaveLength(0);
    // Before: the hold stayed for good, and every later turn of the run counted a call never made.
    expect((await ledger.committed(input.agentId)).micros).toBe(0);
  });

  it('keeps the hold of a call a kill cancelled after its request left: the API may bill it', async () => {
    const task = `H-${randomUUID()}`;
    const input = await startTurn(task);
    fake.script(task, [{ text: 'late', delayMs: 3000 }]);
    const cancelled = new AbortController();
    const deps = { ...depsAnswering('Done.'), anthropic: new Anthropic({ apiKey: 'sk-ant-test', baseURL, maxRetries: 0 }) };
    const turn = runModelTurn(deps, input, { signal: cancelled.signal });
    while (fake.requestsFor(task).length === 0) await new Promise((r) => setTimeout(r, 10));
    cancelled.abort(new CancelledFailure('CANCELLED'));
    const err = await turn.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(err).not.toBeInstanceOf(CancelledBeforeSendError);
    expect((await ledger.committed(input.agentId)).usd).toBeGreaterThan(0.04);
  });
});

describe('runModelTurn: the cache read the estimate counts on', () => {
  // Estimated at more than 4,096 tokens, but the estimate errs high: the API may count fewer, below a model's minimum.
  const task = `Task: T-1 ${'x'.repeat(15_000)}`;

  async function secondTurn(
    previousUsage: { input_tokens: number; output_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number },
    previousRequest?: TranscriptMessage['request'],
  ) {
    const agentId = randomUUID();
    await transcripts.put(agentId, 0, { role: 'user', content: task });
    await transcripts.put(agentId, 1, { role: 'assistant', content: [{ type: 'text', text: 'Done.' }], stop_reason: 'end_turn', usage: previousUsage, sentAt: Date.now() - 60_000, ...(previousRequest ? { request: previousRequest } : {}) });
    await transcripts.put(agentId, 2, { role: 'user', content: 'The gates failed: fix the tests.' });
    let calls = 0;
    const answer = { content: [{ type: 'text', text: 'Fixed.' }], stop_reason: 'end_turn', usage: { input_tokens: 100, output_tokens: 50 } };
    const deps = { ...depsAnswering('Fixed.'), promptCache: '5m' as const, anthropic: { messages: { create: async () => (calls++, answer) } } as unknown as Anthropic };
    // Enough when the task is read from the cache (about $0.045), not when it is written again ($0.0575).
    const budget = { maxOutputTokens: 100_000, outputTokens: 0, maxCostUsd: 0.05, costUsd: 0 };
    const result = await runModelTurn(deps, { agentId, agentType: 'worker', messageCount: 3, workspaceDir: '/workspace', budget }, {});
    return { calls, result };
  }

  it('is not counted on when the previous request cached nothing (its prefix was below the minimum): the turn is priced as a write and refused', async () => {
    const { calls, result } = await secondTurn({ input_tokens: 4000, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    expect(result.refused).toMatchObject({ budget: 'maxCostUsd' });
    expect(calls).toBe(0);
  });

  it('is counted on when the previous request wrote it', async () => {
    const { calls, result } = await secondTurn({ input_tokens: 20, output_tokens: 5, cache_creation_input_tokens: 5600, cache_read_input_tokens: 0 });
    expect(result.refused).toBeUndefined();
    expect(calls).toBe(1);
  });

  it('is not counted on when the previous request had other tools or another system prompt (a release changed them, a move to a host with another workspace path): nothing cached starts as this request does', async () => {
    const { calls, result } = await secondTurn(
      { input_tokens: 20, output_tokens: 5, cache_creation_input_tokens: 5600, cache_read_input_tokens: 0 },
      { estimatedTokens: 6000, maxTokens: 4096, clearedBefore: 1, dropped: 0, fixed: 'key-of-another-system-prompt' },
    );
    expect(result.refused).toMatchObject({ budget: 'maxCostUsd' });
    expect(calls).toBe(0);
  });
});

describe('runModelTurn: thinking and a system prompt that changed', () => {
  const fake = new FakeModelServer();
  let baseURL: string;
  beforeAll(async () => {
    baseURL = await fake.start();
  });
  afterAll(() => fake.stop());

  it('sends an answer produced under another system prompt back without its thinking, which the API would refuse (400)', async () => {
    // Without a sandbox the system prompt names the worktree's path, which a move to another host changes.
    const task = `TH-${randomUUID()}`;
    const agentId = randomUUID();
    await transcripts.put(agentId, 0, { role: 'user', content: `Task: ${task}` });
    fake.script(task, [{ thinking: 'List the files first.', tools: [{ name: 'bash', input: { command: 'ls' } }] }, { text: 'Done.' }]);
    const deps = { ...depsAnswering('Done.'), anthropic: new Anthropic({ apiKey: 'sk-ant-test', baseURL, maxRetries: 0 }) };
    const turn = (messageCount: number, workspaceDir: string) => runModelTurn(deps, { agentId, agentType: 'worker', messageCount, workspaceDir }, {});
    expect((await turn(1, '/srv/host-a/worktrees/x')).toolUseCount).toBe(1);
    const call = ((await transcripts.get(agentId, 1))!.content as Anthropic.ContentBlockParam[]).find((b) => b.type === 'tool_use') as Anthropic.ToolUseBlockParam;
    await transcripts.put(agentId, 2, { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'a.txt' }] });

    const moved = await turn(3, '/srv/host-b/worktrees/x');
    expect(moved.stopReason).toBe('end_turn');
    const sent = fake.requestsFor(task)[1]!.body.messages[1]!.content as Anthropic.ContentBlockParam[];
    expect(sent.map((b) => b.type)).toEqual(['tool_use']);
  });
});

describe('runModelTurn: a conversation that cannot fit the context window', () => {
  it('sends nothing and fails ContextOverflow, non-retryable, naming the sizes and the settings', async () => {
    const agentId = randomUUID();
    // A task alone longer than the window leaves: no shortening or cut can bring it under.
    await transcripts.put(agentId, 0, { role: 'user', content: `Task: T-1\n\n${'spec '.repeat(120_000)}` });
    let calls = 0;
    const deps: ModelTurnDeps = { ...depsAnswering('unused'), anthropic: { messages: { create: async () => (calls++, {}) } } as unknown as Anthropic };
    const turn = runModelTurn(deps, { agentId, agentType: 'worker', messageCount: 1, workspaceDir: '/workspace' }, {});
    await expect(turn).rejects.toMatchObject({ type: 'ContextOverflow', retryable: false });
    await expect(turn).rejects.toThrow(/^the conversation does not fit the model's context window: its smallest request is \d+ estimated tokens \(tools and system prompt \d+, task 2000\d\d, .*more than the 195904 a request may carry \(CONTEXT_WINDOW_TOKENS 200000 less AGENT_MAX_TOKENS_PER_TURN 4096\)$/);
    expect(calls).toBe(0);
  });
});
