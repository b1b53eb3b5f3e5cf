/**
 * Budgets of one agent run, checked before every turn. Pure: the workflow checks what is already
 * spent; the model activity, which sees the request about to be sent, refuses a turn whose
 * estimated cost would pass the dollar budget (see `refuseTurnOverCost`).
 *
 * Each budget is set per spawn, bounded by a server-side ceiling (AGENT_MAX_TURNS,
 * AGENT_MAX_OUTPUT_TOKENS, AGENT_MAX_COST_USD, AGENT_MAX_WALL_TIME_SECONDS), which is also the
 * value when the spawn does not set it.
 */
import { formatUsd, roundUsd } from './pricing';

export const BUDGET_NAMES = ['maxTurns', 'maxOutputTokens', 'maxCostUsd', 'maxWallTimeSeconds'] as const;
export type BudgetName = (typeof BUDGET_NAMES)[number];

export interface AgentBudgets {
  maxTurns: number;
  maxOutputTokens: number;
  maxWallTimeSeconds: number;
  /** Absent in runs started before dollar budgets existed: no cost limit. */
  maxCostUsd?: number;
}

/** What the run has used so far. */
export interface BudgetUse {
  turns: number;
  outputTokens: number;
  costUsd: number;
  elapsedMs: number;
}

/** Which budget ends the run, and why, in words the coordinator can show. */
export interface BudgetBreach {
  budget: BudgetName;
  message: string;
}

/** The first budget already used up, if any. */
export function spentBudget(budgets: AgentBudgets, use: BudgetUse): BudgetBreach | undefined {
  if (use.turns >= budgets.maxTurns) return { budget: 'maxTurns', message: `turn budget (maxTurns) exhausted: max turns (${budgets.maxTurns}) reached` };
  if (use.outputTokens >= budgets.maxOutputTokens) {
    return outputBreach(budgets.maxOutputTokens, use.outputTokens);
  }
  if (budgets.maxCostUsd !== undefined && use.costUsd >= budgets.maxCostUsd) {
    return { budget: 'maxCostUsd', message: `cost budget (maxCostUsd) exhausted: ${formatUsd(use.costUsd)} spent of ${formatUsd(budgets.maxCostUsd)}` };
  }
  if (use.elapsedMs >= budgets.maxWallTimeSeconds * 1000) return wallTimeBreach(budgets);
  return undefined;
}

export function wallTimeBreach(budgets: AgentBudgets): BudgetBreach {
  return { budget: 'maxWallTimeSeconds', message: `wall time budget (maxWallTimeSeconds) of ${budgets.maxWallTimeSeconds}s exhausted` };
}

export function outputBreach(maxOutputTokens: number, used: number): BudgetBreach {
  return { budget: 'maxOutputTokens', message: `token budget (maxOutputTokens) exhausted: ${used} output tokens used of ${maxOutputTokens}` };
}

/** `max_tokens` of the next turn: the per-turn cap, but never more than the output budget has left. */
export function turnOutputCap(maxOutputTokens: number, outputTokensUsed: number, perTurnCap: number): number {
  return Math.max(0, Math.min(perTurnCap, maxOutputTokens - outputTokensUsed));
}

/**
 * Refuses a turn when what was spent plus the most the turn can cost (its estimate, output at
 * `max_tokens`) would pass `maxCostUsd`: a run stops before the turn that would pass its budget.
 */
export function refuseTurnOverCost(maxCostUsd: number | undefined, spentUsd: number, turnEstimateUsd: number, heldUsd = 0): BudgetBreach | undefined {
  if (maxCostUsd === undefined) return undefined;
  if (roundUsd(spentUsd + turnEstimateUsd) <= maxCostUsd) return undefined;
  const left = Math.max(0, roundUsd(maxCostUsd - spentUsd));
  // `spentUsd` counts `heldUsd`: say so, or a run that paid little would seem to have paid it all.
  const counted = heldUsd > 0 ? `${formatUsd(spentUsd)} spent or held for calls not priced yet, ${formatUsd(heldUsd)} of it held` : `${formatUsd(spentUsd)} spent`;
  return {
    budget: 'maxCostUsd',
    message: `cost budget (maxCostUsd) reached: the next turn could cost up to ${formatUsd(turnEstimateUsd)}, more than the ${formatUsd(left)} left of ${formatUsd(maxCostUsd)} (${counted})`,
  };
}

/** The AI review is refused: its worst case passes what the run's dollar budget has left. */
export function reviewOverBudget(worstUsd: number, leftUsd: number): CallOverBudgetError | undefined {
  if (worstUsd <= leftUsd) return undefined;
  return new CallOverBudgetError(`cost budget (maxCostUsd) reached: the AI review could cost up to ${formatUsd(worstUsd)}, more than the ${formatUsd(Math.max(0, leftUsd))} left of the run's dollar budget (maxCostUsd)`);
}

/** A model call outside the agent's turns (the AI review) was not made: it could pass the dollar budget. */
export class CallOverBudgetError extends Error {
  override readonly name = 'CallOverBudgetError';
  readonly breach: BudgetBreach;
  constructor(message: string) {
    super(message);
    this.breach = { budget: 'maxCostUsd', message };
  }
}
