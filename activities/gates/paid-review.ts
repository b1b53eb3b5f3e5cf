/**
 * The AI review gate's model call, paid for once per gate phase and round: its cost goes into the
 * spend ledger as soon as the answer is in, and its verdict is kept, so a gate activity retried
 * after the review (a later gate failed to run, the worker died) reuses the verdict instead of
 * paying again. What the run may still spend is what the workflow says is left, less what the
 * ledger holds beyond what the workflow counted (calls it never saw, and calls still waiting); the
 * review's worst case is held on the ledger before the call (state/spend-ledger.ts).
 */
import { createHash, randomUUID } from 'node:crypto';
import { reviewOverBudget } from '../../domain/budgets';
import type { GatePhase, ReviewVerdict } from '../../domain/gates';
import { plainText } from '../../domain/plain-text';
import { addUsd } from '../../domain/pricing';
import type { ReviewVerdicts } from '../../state/review-verdicts';
import type { SpendLedger } from '../../state/spend-ledger';
import type { ReviewArgs } from '../model/review';

export type ReviewFn = (args: ReviewArgs, ctx: { signal?: AbortSignal; heartbeat?: () => void }) => Promise<ReviewVerdict>;

export interface PaidReviewDeps {
  review: ReviewFn;
  verdicts: Pick<ReviewVerdicts, 'get' | 'put'>;
  ledger: Pick<SpendLedger, 'record' | 'total' | 'committed' | 'hold' | 'release'>;
  /** Secret redaction for the verdict's summary before it is kept or returned. */
  redact: (text: string) => string;
}

/** Budget checks that keep losing to another attempt's hold before the activity gives up (and retries). */
const HOLD_TRIES = 10;

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
  // Redacted again on reuse: a record kept before its summary was redacted (or with fewer rules) holds what it quoted.
  if (stored?.diffSha256 === diffSha256) {
    const verdict = { ...stored.verdict, summary: deps.redact(plainText(stored.verdict.summary)) };
    return { verdict, paidUsd: 0, spentUsd: await deps.ledger.total(req.agentId) };
  }

  // An entry of this call's own: a review paid again for the same diff (an attempt that died before
  // keeping its verdict, or one taken for dead while it still ran) was paid twice.
  const callId = `review:${slot}:${diffSha256.slice(0, 16)}:${randomUUID()}`;
  const { costLeftUsd } = req;
  let held = false;
  const reserve =
    costLeftUsd === undefined
      ? undefined
      : async (worstUsd: number) => {
          for (let i = 0; i < HOLD_TRIES; i++) {
            const seen = await deps.ledger.committed(req.agentId);
            // Paid or held beyond what the workflow counted (inputs recorded before the ledger carry no count).
            const unseen = req.countedUsd === undefined ? 0 : Math.max(0, addUsd(seen.usd, -req.countedUsd));
            const refused = reviewOverBudget(worstUsd, addUsd(costLeftUsd, -unseen));
            if (refused) throw refused;
            if (await deps.ledger.hold(req.agentId, callId, worstUsd, seen)) {
              held = true;
              return;
            }
          }
          throw new Error(`the spend ledger of ${req.agentId} changed under ${HOLD_TRIES} budget checks in a row`);
        };
  const verdict = await deps.review({ taskId: req.taskId, diff: req.diff, ...(reserve ? { reserve } : {}) }, ctx).catch(async (err: unknown) => {
    // Kept when the call may have been billed (a timeout, a cancellation): the budget keeps counting it.
    // A release that fails leaves the hold (the budget stays safe) and must not hide the call's own error.
    if (held && (err as { unbilled?: boolean }).unbilled) await deps.ledger.release(req.agentId, callId).catch(() => undefined);
    throw err;
  });
  const paidUsd = verdict.costUsd ?? 0;
  const spentUsd = await deps.ledger.record(req.agentId, callId, paidUsd);
  // The summary is the model's answer over a diff the agent wrote and may quote a secret of it: the
  // Valkey record keeps it redacted (made plain first, as gate output is: an escape inside a secret
  // hides it from redaction), whole (the gate cuts it after its own redaction).
  const kept = { ...verdict, summary: deps.redact(plainText(verdict.summary)) };
  await deps.verdicts.put(req.agentId, slot, { diffSha256, verdict: kept });
  return { verdict: kept, paidUsd, spentUsd };
}
