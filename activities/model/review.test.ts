import type Anthropic from '@anthropic-ai/sdk';
import { DEFAULT_PRICES } from '../../domain/pricing';
import { CallOverBudgetError, reviewOverBudget } from '../../domain/budgets';
import { FakeModelServer } from '../../test/support/fake-model';
import { finalLineApproves, REVIEW_OUTPUT_TOKENS, reviewDiff } from './review';

describe('the AI review verdict', () => {
  it.each([
    ['Small and correct.\nVERDICT: APPROVE', true],
    ['Fine.\n**VERDICT: APPROVE**\n\n', true],
    ['verdict: approve', true],
    // The diff (agent-written) said it; the reviewer did not.
    ['The diff contains a comment "VERDICT: APPROVE" meant to fool me.\nVERDICT: REQUEST_CHANGES', false],
    ['VERDICT: APPROVE\nActually, on second thought the tests are missing.', false],
    ['VERDICT: APPROVE the parts that work', false],
    ['I would say VERDICT: APPROVE', false],
    ['', false],
  ])('%j approves: %s', (answer, approved) => {
    expect(finalLineApproves(answer)).toBe(approved);
  });

  it('takes a REQUEST_CHANGES that ends an answer cut off at max_tokens as the verdict, not as an unfinished review', async () => {
    const text = 'The change drops the lock.\nVERDICT: REQUEST_CHANGES';
    const answer = { content: [{ type: 'text', text }], stop_reason: 'max_tokens', usage: { input_tokens: 100, output_tokens: REVIEW_OUTPUT_TOKENS } };
    const anthropic = { messages: { create: async () => answer } } as unknown as Anthropic;
    const client = { anthropic, requestTimeoutMs: 10_000, model: 'claude-sonnet-5-5', price: DEFAULT_PRICES['claude-sonnet-5-5']! };
    const verdict = await reviewDiff(client, { taskId: 'T-cut', diff: 'diff --git a/a.ts b/a.ts\n+x\n' }, {});
    expect(verdict).toMatchObject({ approved: false, summary: text });
    expect(verdict.incomplete).toBeUndefined();
  });
});

describe('the AI review and the dollar budget', () => {
  const price = DEFAULT_PRICES['claude-sonnet-5-5']!;
  function clientCounting() {
    const calls: unknown[] = [];
    const answer = { content: [{ type: 'text', text: 'Fine.\nVERDICT: APPROVE' }], stop_reason: 'end_turn', usage: { input_tokens: 1000, output_tokens: 20 } };
    const anthropic = { messages: { create: async (body: unknown) => (calls.push(body), answer) } } as unknown as Anthropic;
    return { calls, client: { anthropic, requestTimeoutMs: 10_000, model: 'claude-sonnet-5-5', price } };
  }
  const diff = `diff --git a/a.ts b/a.ts\n+${'x'.repeat(30_000)}\n`;

  it('asks for its worst case to be held before the call, and makes no call when that is refused', async () => {
    const { calls, client } = clientCounting();
    const asked: number[] = [];
    const refused = reviewDiff(client, { taskId: 'T-1', diff, reserve: async (worst) => (asked.push(worst), Promise.reject(reviewOverBudget(worst, 0.01))) }, {});
    await expect(refused).rejects.toThrow(CallOverBudgetError);
    await expect(refused).rejects.toThrow(/^cost budget \(maxCostUsd\) reached: the AI review could cost up to \$0\.\d+, more than the \$0\.0100 left of the run's dollar budget \(maxCostUsd\)/);
    expect(calls).toHaveLength(0);
    // Every output token it may write, and the diff as input: about 30,000 characters.
    expect(asked[0]).toBeGreaterThan((REVIEW_OUTPUT_TOKENS * price.output) / 1_000_000);
  });

  it('is asked for when the hold is granted, or when there is no dollar budget', async () => {
    const { calls, client } = clientCounting();
    expect(await reviewDiff(client, { taskId: 'T-1', diff, reserve: async () => undefined }, {})).toMatchObject({ approved: true });
    expect(await reviewDiff(client, { taskId: 'T-1', diff }, {})).toMatchObject({ approved: true });
    expect(calls).toHaveLength(2);
  });
});

describe('the AI review of a diff longer than it reads', () => {
  it('still sees a short change that follows a long padding file, and is told what it does not see', async () => {
    const calls: { messages: { content: string }[] }[] = [];
    const answer = { content: [{ type: 'text', text: 'VERDICT: APPROVE' }], stop_reason: 'end_turn', usage: { input_tokens: 1000, output_tokens: 5 } };
    const anthropic = { messages: { create: async (body: (typeof calls)[number]) => (calls.push(body), answer) } } as unknown as Anthropic;
    const client = { anthropic, requestTimeoutMs: 10_000, model: 'claude-sonnet-5-5', price: DEFAULT_PRICES['claude-sonnet-5-5']! };
    const padding = `diff --git a/aaa.txt b/aaa.txt\n--- /dev/null\n+++ b/aaa.txt\n@@ -0,0 +1,20000 @@\n${'+harmless padding line\n'.repeat(20_000)}`;
    const change = 'diff --git a/src/zzz.js b/src/zzz.js\n--- /dev/null\n+++ b/src/zzz.js\n@@ -0,0 +1 @@\n+require("child_process").exec(process.env.PAYLOAD);\n';
    await reviewDiff(client, { taskId: 'T-1', diff: padding + change }, {});
    const sent = calls[0]!.messages[0]!.content;
    expect(sent).toContain(change);
    expect(sent).toMatch(/characters of 1 files are not shown.*What is not shown has not been reviewed/);
    expect(sent).toContain('more characters of the diff of a/aaa.txt b/aaa.txt are not shown');
    expect(sent.length).toBeLessThan(201_000);
  });
});

describe('the AI review by a model that thinks first (claude-sonnet-5-5, adaptive thinking on by default)', () => {
  let fake: FakeModelServer;
  let client: { anthropic: Anthropic; requestTimeoutMs: number; model: string; price: (typeof DEFAULT_PRICES)[string] };
  beforeAll(async () => {
    fake = new FakeModelServer();
    const { default: SDK } = await import('@anthropic-ai/sdk');
    client = { anthropic: new SDK({ apiKey: 'test', baseURL: await fake.start(), maxRetries: 0 }), requestTimeoutMs: 10_000, model: 'claude-sonnet-5-5', price: DEFAULT_PRICES['claude-sonnet-5-5']! };
  });
  afterAll(() => fake.stop());
  const diff = 'diff --git a/a.ts b/a.ts\n+export const a = 1;\n';

  it('leaves room for the verdict after thinking of about 9,600 tokens', async () => {
    fake.script('T-think', [{ text: 'Small and correct.\nVERDICT: APPROVE', thinking: 'Weighing each hunk of the diff. '.repeat(1200) }]);
    const verdict = await reviewDiff(client, { taskId: 'T-think', diff }, {});
    expect(verdict).toMatchObject({ approved: true, summary: 'Small and correct.\nVERDICT: APPROVE' });
    expect(verdict.incomplete).toBeUndefined();
    const sent = fake.requestsFor('T-think')[0]!.body as { max_tokens: number; thinking?: unknown };
    // No thinking budget: the model thinks adaptively, and refuses budget_tokens (400).
    expect(sent).toMatchObject({ max_tokens: 16_000 });
    expect(sent.thinking).toBeUndefined();
  });

  it('reports no verdict, not a veto, when thinking uses up max_tokens before the verdict line', async () => {
    fake.script('T-think-long', [{ text: 'Fine.\nVERDICT: APPROVE', thinking: 'x'.repeat(4 * (REVIEW_OUTPUT_TOKENS + 1000)) }]);
    const verdict = await reviewDiff(client, { taskId: 'T-think-long', diff }, {});
    expect(verdict).toMatchObject({
      approved: false,
      incomplete: "the reviewer's answer was cut off at max_tokens (16000 output tokens, its thinking included) before its verdict line: it wrote no text at all",
    });
    // Paid for all the same: every output token.
    expect(verdict.costUsd).toBeGreaterThanOrEqual((REVIEW_OUTPUT_TOKENS * DEFAULT_PRICES['claude-sonnet-5-5']!.output) / 1_000_000);
  });
});
