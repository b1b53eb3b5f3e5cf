/** The AI review paid once per gate phase and round, against real Valkey: a retried gate activity reuses the verdict. */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { ReviewVerdicts } from '../../state/review-verdicts';
import { SpendLedger } from '../../state/spend-ledger';
import { connectTestRedis } from '../../test/support/redis';
import { paidReview, type PaidReviewDeps, type ReviewFn } from './paid-review';

let redis: Redis;
let stores: Omit<PaidReviewDeps, 'review'>;
beforeAll(() => {
  redis = connectTestRedis();
  stores = { verdicts: new ReviewVerdicts(redis), ledger: new SpendLedger(redis) };
});
afterAll(() => redis.quit());

function reviewer(costUsd = 0.03) {
  const asked: { diff: string; maxCostUsd?: number }[] = [];
  const review: ReviewFn = async (args) => {
    asked.push({ diff: args.diff, maxCostUsd: args.maxCostUsd });
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
    const { asked, deps } = reviewer();
    const agentId = randomUUID();
    await stores.ledger.record(agentId, 'turn:1', 0.1); // counted by the workflow
    await stores.ledger.record(agentId, 'turn:3', 0.25); // answered after its attempt was given up: not counted
    await paidReview(deps, { agentId, taskId: 'T-1', phase: 'pre-commit', round: 1, diff: '+a\n', costLeftUsd: 0.9, countedUsd: 0.1 }, {});
    expect(asked[0]?.maxCostUsd).toBe(0.65);
    // Inputs recorded before the ledger carry no count: the workflow's figure stands.
    await paidReview(deps, { agentId, taskId: 'T-1', phase: 'pre-commit', round: 2, diff: '+a\n', costLeftUsd: 0.9 }, {});
    expect(asked[1]?.maxCostUsd).toBe(0.9);
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
});
