/**
 * Reads an istanbul json-summary (`coverage/coverage-summary.json`, what jest, vitest and nyc write
 * with the `json-summary` reporter) and judges it against a threshold.
 */
import { z } from 'zod';
import type { CoverageMetric } from './definitions';

const ISTANBUL_METRICS = ['lines', 'statements', 'functions', 'branches'] as const;
type IstanbulMetric = (typeof ISTANBUL_METRICS)[number];

/** Percent per metric; `undefined` where istanbul reports "Unknown" (nothing of that kind to cover). */
export type CoverageTotals = Record<IstanbulMetric, number | undefined>;

// istanbul writes pct as a number, or the string "Unknown" when the total is zero.
const pct = z.object({ pct: z.union([z.number(), z.string()]) });
const summarySchema = z.object({
  total: z.object({ lines: pct, statements: pct, functions: pct, branches: pct }),
});

/** Parses summary text; throws an Error with a readable reason when it is not a json-summary. */
export function parseCoverageSummary(text: string): CoverageTotals {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('the coverage summary is not valid JSON');
  }
  const parsed = summarySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`the coverage summary is not an istanbul json-summary (${issue.path.join('.')}: ${issue.message})`);
  }
  const { total } = parsed.data;
  const value = (m: IstanbulMetric) => (typeof total[m].pct === 'number' ? total[m].pct : undefined);
  return { lines: value('lines'), statements: value('statements'), functions: value('functions'), branches: value('branches') };
}

/** The percentage the gate is held to, or `undefined` when the summary measured nothing. */
export function coverageFor(totals: CoverageTotals, metric: CoverageMetric): number | undefined {
  if (metric !== 'minimum') return totals[metric];
  const known = ISTANBUL_METRICS.map((m) => totals[m]).filter((v): v is number => v !== undefined);
  return known.length > 0 ? Math.min(...known) : undefined;
}

export interface CoverageVerdict {
  passed: boolean;
  /** One line for the agent, with every metric so it knows where to look. */
  detail: string;
}

export function judgeCoverage(totals: CoverageTotals, metric: CoverageMetric, threshold: number): CoverageVerdict {
  const measured = coverageFor(totals, metric);
  const all = ISTANBUL_METRICS.map((m) => `${m} ${formatPct(totals[m])}`).join(', ');
  if (measured === undefined) {
    return { passed: false, detail: `coverage measured no code (${all})` };
  }
  const passed = measured >= threshold;
  const label = metric === 'minimum' ? 'lowest metric' : metric;
  return {
    passed,
    detail: `${label} coverage ${formatPct(measured)} ${passed ? '>=' : '<'} threshold ${threshold}% (${all})`,
  };
}

function formatPct(value: number | undefined): string {
  return value === undefined ? 'n/a' : `${Math.round(value * 100) / 100}%`;
}
