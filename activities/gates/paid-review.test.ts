/** The AI review paid once per gate phase and round, against real Valkey: a retried gate activity reuses the verdict. */
import { createHash, randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { CancelledFailure } from '@temporalio/common';
import type Redis from 'ioredis';
import { DEFAULT_PRICES } from '../../domain/pricing';
import { redactSecrets } from '../../scanner';
import { keys } from '../../state/keys';
import { ReviewVerdicts } from '../../state/review-verdicts';
import { SpendLedger } from '../../state/spend-ledger';
import { FakeModelServer } from '../../test/support/fake-model';
import { connectTestRedis } from '../../test/support/redis';
import { reviewDiff } from '../model/review';
import { paidReview, type PaidReviewDeps, type ReviewFn } from './paid-review';

let redis: Redis;
let stores: Omit<PaidReviewDeps, 'review'>;
beforeAll(() => {
  redis = connectTestRedis();
  stores = { verdicts: new ReviewVerdicts(redis), ledger: new SpendLedger(redis), redact: redactSecrets };
});
afterAll(() => redis.quit());

/** A review whose worst case is `worstUsd` (held through `reserve` first, as reviewDiff does) and whose price is `costUsd`. */
function reviewer(costUsd = 0.03, worstUsd = 0.05) {
  const asked: { diff: string }[] = [];
  const review: ReviewFn = async (args) => {
    await args.reserve?.(worstUsd);
    asked.push({ diff: args.diff });
    return { approved: true, summary: 'Looks right.\nVERDICT: APPROVE', costUsd };
  };
  return { asked, deps: { ...stores, review } };
}

describe('paidReview', () => {
  it('asks the model once per phase and round: a retry with the same diff reuses the verdict and its cost stays counted once', async () => {
    const { asked, deps } = reviewer();
    const req = { agentId: randomUUID(), taskId: 'T-1', phase: 'post-commit' as const, round: 1, diff: '+a\n' };
    const first = await paidReview(deps, req, {});
    const retry = await paidReview(deps, req, {});
    expect(asked).toHaveLength(1);
    expect(first).toMatchObject({ paidUsd: 0.03, spentUsd: 0.03, verdict: { approved: true } });
    expect(retry).toEqual({ verdict: first.verdict, paidUsd: 0, spentUsd: 0.03 });
  });

  it('reviews again for another round or another diff, and records each call', async () => {
    const { asked, deps } = reviewer();
    const req = { agentId: randomUUID(), taskId: 'T-1', phase: 'post-commit' as const, round: 1, diff: '+a\n' };
    await paidReview(deps, req, {});
    await paidReview(deps, { ...req, round: 2 }, {});
    const changed = await paidReview(deps, { ...req, round: 2, diff: '+b\n' }, {});
    expect(asked.map((a) => a.diff)).toEqual(['+a\n', '+a\n', '+b\n']);
    expect(changed.spentUsd).toBe(0.09);
  });

  it('leaves the review only what the budget has left after the calls the workflow never counted', async () => {
    const agentId = randomUUID();
    await stores.ledger.record(agentId, 'turn:1', 0.1); // counted by the workflow
    await stores.ledger.record(agentId, 'turn:3', 0.25); // answered after its attempt was given up: not counted
    const req = { agentId, taskId: 'T-1', phase: 'pre-commit' as const, diff: '+a\n', costLeftUsd: 0.9, countedUsd: 0.1 };
    // $0.65 left: a worst case of $0.66 is refused, $0.64 is held and then priced.
    await expect(paidReview(reviewer(0.03, 0.66).deps, { ...req, round: 1 }, {})).rejects.toThrow(/could cost up to \$0\.6600, more than the \$0\.6500 left/);
    expect(await paidReview(reviewer(0.03, 0.64).deps, { ...req, round: 2 }, {})).toMatchObject({ paidUsd: 0.03, spentUsd: 0.38 });
    expect((await stores.ledger.committed(agentId)).usd).toBe(0.38);
    // Inputs recorded before the ledger carry no count: the workflow's figure stands.
    expect(await paidReview(reviewer(0.03, 0.89).deps, { agentId, taskId: 'T-1', phase: 'pre-commit', round: 3, diff: '+a\n', costLeftUsd: 0.9 }, {})).toMatchObject({ paidUsd: 0.03 });
  });

  it('lets the hold go when a kill cancels the review after its hold, before its request left: nothing was sent', async () => {
    const fake = new FakeModelServer();
    const baseURL = await fake.start();
    try {
      const client = { anthropic: new Anthropic({ apiKey: 'sk-ant-test', baseURL, maxRetries: 0 }), requestTimeoutMs: 5000, model: 'claude-sonnet-5-5', price: DEFAULT_PRICES['claude-sonnet-5-5']! };
      const cancelled = new AbortController();
      // The real review call; the kill reaches the activity while its hold is being written.
      const review: ReviewFn = (args, ctx) =>
        reviewDiff(client, { ...args, reserve: async (usd) => (await args.reserve!(usd), cancelled.abort(new CancelledFailure('CANCELLED'))) }, ctx);
      const agentId = randomUUID();
      const req = { agentId, taskId: 'T-review-killed', phase: 'post-commit' as const, round: 1, diff: '+a\n', costLeftUsd: 0.5, countedUsd: 0 };
      await expect(paidReview({ ...stores, review }, req, { signal: cancelled.signal })).rejects.toBeInstanceOf(CancelledFailure);
      expect(fake.requests).toHaveLength(0);
      expect((await stores.ledger.committed(agentId)).micros).toBe(0);
    } finally {
      await fake.stop();
    }
  });

  it("counts a review still waiting on the API: another attempt's review that could pass the budget with it is refused", async () => {
    const agentId = randomUUID();
    const req = { agentId, taskId: 'T-1', phase: 'post-commit' as const, round: 1, diff: '+a\n', costLeftUsd: 0.5, countedUsd: 0 };
    let answer!: () => void;
    const answered = new Promise<void>((r) => (answer = r));
    let asked = 0;
    const slow: ReviewFn = async (args) => {
      await args.reserve?.(0.3);
      asked += 1;
      await answered;
      return { approved: true, summary: 'VERDICT: APPROVE', costUsd: 0.02 };
    };
    const first = paidReview({ ...stores, review: slow }, req, {});
    while (asked === 0) await new Promise((r) => setTimeout(r, 5));
    await expect(paidReview({ ...stores, review: slow }, req, {})).rejects.toThrow(/could cost up to \$0\.3000, more than the \$0\.2000 left/);
    answer();
    expect(await first).toMatchObject({ paidUsd: 0.02, spentUsd: 0.02 });
    expect((await stores.ledger.committed(agentId)).usd).toBe(0.02);
  });

  it('lets the hold go when the API answered with an error, keeps it when the call may have been billed', async () => {
    const req = { taskId: 'T-1', phase: 'post-commit' as const, round: 1, diff: '+a\n', costLeftUsd: 0.5, countedUsd: 0 };
    const failing = (unbilled: boolean): ReviewFn => async (args) => {
      await args.reserve?.(0.3);
      throw Object.assign(new Error(unbilled ? 'model API answered 529' : 'model API unreachable'), { unbilled });
    };
    const answeredError = randomUUID();
    await expect(paidReview({ ...stores, review: failing(true) }, { ...req, agentId: answeredError }, {})).rejects.toThrow('529');
    expect((await stores.ledger.committed(answeredError)).micros).toBe(0);
    const timedOut = randomUUID();
    await expect(paidReview({ ...stores, review: failing(false) }, { ...req, agentId: timedOut }, {})).rejects.toThrow('unreachable');
    expect((await stores.ledger.committed(timedOut)).usd).toBe(0.3);
    // Valkey failing on the release leaves the hold and hides nothing: the API's error is what fails the call.
    const brokenLedger = { ...stores.ledger, committed: stores.ledger.committed.bind(stores.ledger), hold: stores.ledger.hold.bind(stores.ledger), record: stores.ledger.record.bind(stores.ledger), total: stores.ledger.total.bind(stores.ledger), release: () => Promise.reject(new Error('Valkey unreachable')) };
    await expect(paidReview({ ...stores, ledger: brokenLedger, review: failing(true) }, { ...req, agentId: randomUUID() }, {})).rejects.toThrow('529');
  });

  it('puts a review paid again on the bill: an attempt that paid but never stored its verdict, and two attempts at once', async () => {
    const req = { agentId: randomUUID(), taskId: 'T-1', phase: 'post-commit' as const, round: 1, diff: '+a\n' };
    // The first attempt paid, then died before its verdict was kept: the retry pays again.
    const { deps } = reviewer();
    const lost = { ...deps, verdicts: { get: deps.verdicts.get.bind(deps.verdicts), put: async () => Promise.reject(new Error('worker died')) } };
    await expect(paidReview(lost, req, {})).rejects.toThrow('worker died');
    expect((await paidReview(deps, req, {})).spentUsd).toBe(0.06);

    // Two attempts at once (the first taken for dead while its review still ran): both pay.
    let waiting = 0;
    let release!: () => void;
    const bothAsked = new Promise<void>((r) => (release = r));
    const slow: ReviewFn = async () => {
      if (++waiting === 2) release();
      await bothAsked;
      return { approved: true, summary: 'VERDICT: APPROVE', costUsd: 0.03 };
    };
    const other = { ...req, agentId: randomUUID() };
    await Promise.all([paidReview({ ...stores, review: slow }, other, {}), paidReview({ ...stores, review: slow }, other, {})]);
    expect(await stores.ledger.total(other.agentId)).toBe(0.06);
  });

  it('keeps a verdict that quotes a secret of the diff redacted in Valkey, and returns it so, first and on reuse', async () => {
    const aws = 'AKIAZ3MLQ7T4XW2PNBVD';
    const github = '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';
    const [head, rest] = [github.slice(0, 10), github.slice(10)];
    // One secret quoted whole, one split by an escape sequence (the model echoing coloured output).
    const summary = `config.ts:3 hardcodes ${aws}; ci.yml:9 sets token ${head}\u001b[0m${rest}.\nVERDICT: REQUEST_CHANGES`;
    const review: ReviewFn = async () => ({ approved: false, summary, costUsd: 0.01 });
    const req = { agentId: randomUUID(), taskId: 'T-1', phase: 'post-commit' as const, round: 1, diff: '+a\n' };
    const first = await paidReview({ ...stores, review }, req, {});
    const reused = await paidReview({ ...stores, review }, req, {});
    const record = JSON.stringify(await redis.hgetall(keys.reviews(req.agentId)));
    for (const text of [record, first.verdict.summary, reused.verdict.summary]) {
      expect(text).not.toContain(aws.slice(4));
      expect(text).not.toContain(rest);
    }
    expect(first.verdict).toMatchObject({ approved: false, summary: expect.stringMatching(/hardcodes AKIA…; .*VERDICT: REQUEST_CHANGES$/s) });
    expect(reused).toMatchObject({ verdict: first.verdict, paidUsd: 0 });
  });

  it('redacts a verdict kept unredacted (before its summary was redacted on keeping) when a retry reuses it', async () => {
    const github = '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';
    const req = { agentId: randomUUID(), taskId: 'T-1', phase: 'post-commit' as const, round: 1, diff: '+b\n' };
    const diffSha256 = createHash('sha256').update(req.diff).digest('hex');
    await stores.verdicts.put(req.agentId, 'post-commit:1', { diffSha256, verdict: { approved: false, summary: `leaks ${github}\nVERDICT: REQUEST_CHANGES` } });
    const review: ReviewFn = async () => {
      throw new Error('a reused verdict is not paid for again');
    };
    const reused = await paidReview({ ...stores, review }, req, {});
    expect(reused.paidUsd).toBe(0);
    expect(reused.verdict.summary).not.toContain(github.slice(4));
    expect(reused.verdict.summary).toMatch(/^leaks ghp_…/);
  });
});
