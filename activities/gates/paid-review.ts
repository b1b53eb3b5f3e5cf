/**
 * The AI review gate's model call, paid for once per gate phase and round: its cost goes into the
 * spend ledger as soon as the answer is in, and its verdict is kept, so a gate activity retried
 * after the review (a later gate failed to run, the worker died) reuses the verdict instead of
 * paying again. What the run may still spend is what the workflow says is left, less what the
 * ledger holds beyond what the workflow counted (calls it never saw).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { GatePhase, ReviewVerdict } from '../../domain/gates';
import { addUsd } from '../../domain/pricing';
import type { ReviewVerdicts } from '../../state/review-verdicts';
import type { SpendLedger } from '../../state/spend-ledger';

export type ReviewFn = (args: { taskId: string; diff: string; maxCostUsd?: number }, ctx: { signal?: AbortSignal; heartbeat?: () => void }) => Promise<ReviewVerdict>;

export interface PaidReviewDeps {
  review: ReviewFn;
  verdicts: Pick<ReviewVerdicts, 'get' | 'put'>;
  ledger: Pick<SpendLedger, 'record' | 'total'>;
}

export interface PaidReviewRequest {
  agentId: string;
  taskId: string;
  phase: GatePhase;
  round: number;
  diff: string;
  /** What the run's dollar budget has left as the workflow counts it (absent: no dollar budget). */
  costLeftUsd?: number;
  /** What the workflow has counted as spent (absent in inputs recorded before the ledger). */
  countedUsd?: number;
}

export interface PaidReview {
  verdict: ReviewVerdict;
  /** USD paid by this call (0 when the verdict was reused). */
  paidUsd: number;
  /** The ledger's total after it. */
  spentUsd: number;
}

export async function paidReview(deps: PaidReviewDeps, req: PaidReviewRequest, ctx: { signal?: AbortSignal; heartbeat?: () => void }): Promise<PaidReview> {
  const slot = `${req.phase}:${req.round}`;
  const diffSha256 = createHash('sha256').update(req.diff).digest('hex');
  const stored = await deps.verdicts.get(req.agentId, slot);
  if (stored?.diffSha256 === diffSha256) return { verdict: stored.verdict, paidUsd: 0, spentUsd: await deps.ledger.total(req.agentId) };

  let maxCostUsd = req.costLeftUsd;
  if (maxCostUsd !== undefined && req.countedUsd !== undefined) {
    const unseen = Math.max(0, addUsd(await deps.ledger.total(req.agentId), -req.countedUsd));
    maxCostUsd = Math.max(0, addUsd(maxCostUsd, -unseen));
  }
  const verdict = await deps.review({ taskId: req.taskId, diff: req.diff, ...(maxCostUsd !== undefined ? { maxCostUsd } : {}) }, ctx);
  const paidUsd = verdict.costUsd ?? 0;
  // An entry of this call's own: a review paid again for the same diff (an attempt that died before
  // keeping its verdict, or one taken for dead while it still ran) was paid twice.
  const spentUsd = await deps.ledger.record(req.agentId, `review:${slot}:${diffSha256.slice(0, 16)}:${randomUUID()}`, paidUsd);
  await deps.verdicts.put(req.agentId, slot, { diffSha256, verdict });
  return { verdict, paidUsd, spentUsd };
}
