import { refuseTurnOverCost, spentBudget, turnOutputCap, type AgentBudgets } from './budgets';

const budgets: AgentBudgets = { maxTurns: 10, maxOutputTokens: 50_000, maxWallTimeSeconds: 600, maxCostUsd: 0.05 };
const fresh = { turns: 0, outputTokens: 0, costUsd: 0, elapsedMs: 0 };

describe('budgets', () => {
  it('lets a fresh run start', () => {
    expect(spentBudget(budgets, fresh)).toBeUndefined();
  });

  it.each([
    ['maxTurns', { turns: 10 }, 'turn budget (maxTurns) exhausted: max turns (10) reached'],
    ['maxOutputTokens', { outputTokens: 50_000 }, 'token budget (maxOutputTokens) exhausted: 50000 output tokens used of 50000'],
    ['maxCostUsd', { costUsd: 0.0500001 }, 'cost budget (maxCostUsd) exhausted: $0.0500 spent of $0.0500'],
    ['maxWallTimeSeconds', { elapsedMs: 600_000 }, 'wall time budget (maxWallTimeSeconds) of 600s exhausted'],
  ] as const)('names %s when it is used up', (budget, use, message) => {
    expect(spentBudget(budgets, { ...fresh, ...use })).toEqual({ budget, message: expect.stringContaining(message) });
  });

  it('has no cost limit in runs started before dollar budgets existed', () => {
    const { maxCostUsd: _, ...old } = budgets;
    expect(spentBudget(old, { ...fresh, costUsd: 1000 })).toBeUndefined();
    expect(refuseTurnOverCost(undefined, 1000, 1000)).toBeUndefined();
  });

  it('caps the next turn so it cannot pass the output budget', () => {
    expect(turnOutputCap(budgets.maxOutputTokens, 0, 8192)).toBe(8192);
    expect(turnOutputCap(budgets.maxOutputTokens, 48_000, 8192)).toBe(2000);
    expect(turnOutputCap(budgets.maxOutputTokens, 60_000, 8192)).toBe(0);
  });

  it('refuses a turn whose estimate would pass the cost budget, and allows one that lands exactly on it', () => {
    expect(refuseTurnOverCost(budgets.maxCostUsd, 0.03, 0.02)).toBeUndefined();
    const refused = refuseTurnOverCost(budgets.maxCostUsd, 0.03, 0.020001);
    expect(refused).toEqual({ budget: 'maxCostUsd', message: expect.stringContaining('could cost up to $0.0200, more than the $0.0200 left of $0.0500') });
  });
});
