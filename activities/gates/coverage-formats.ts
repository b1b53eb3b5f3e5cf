/**
 * Coverage reports of the common ecosystems, each read into the same four totals the gate judges
 * (coverage.ts). A metric a format does not measure is `undefined`, never 0 or 100, so it neither
 * fails nor flatters a `minimum` threshold:
 *
 * | format             | written by                                   | lines          | statements   | functions | branches |
 * |--------------------|----------------------------------------------|----------------|--------------|-----------|----------|
 * | `istanbul-summary` | jest / vitest / nyc `json-summary` reporter  | lines          | statements   | functions | branches |
 * | `coverage-py`      | `coverage json` (coverage.py, pytest-cov)    | statements     | statements   | -         | branches (branch = true) |
 * | `go-coverprofile`  | `go test -coverprofile`                      | statements     | statements   | -         | -        |
 * | `lcov`             | cargo-llvm-cov, tarpaulin, c8, grcov         | LH/LF          | LH/LF        | FNH/FNF   | BRH/BRF  |
 * | `jacoco-csv`       | JaCoCo's CSV report (Maven, Gradle)          | LINE           | INSTRUCTION  | METHOD    | BRANCH   |
 *
 * coverage.py and Go count statements, not lines; their statement figure stands in for lines,
 * because `lines` is the metric a threshold holds by default.
 */
import { z } from 'zod';
import { redactSecrets } from '../../scanner';
import { parseCoverageSummary, type CoverageTotals } from './coverage';

export const COVERAGE_FORMATS = ['istanbul-summary', 'coverage-py', 'go-coverprofile', 'lcov', 'jacoco-csv'] as const;
export type CoverageFormat = (typeof COVERAGE_FORMATS)[number];

/** Parses a report; throws an Error whose message says what is wrong with it. */
export function parseCoverageReport(text: string, format: CoverageFormat): CoverageTotals {
  switch (format) {
    case 'istanbul-summary':
      return parseCoverageSummary(text);
    case 'coverage-py':
      return parseCoveragePy(text);
    case 'go-coverprofile':
      return parseGoCoverprofile(text);
    case 'lcov':
      return parseLcov(text);
    case 'jacoco-csv':
      return parseJacocoCsv(text);
  }
}

/** Percent, or undefined when there was nothing to cover. */
function percent(covered: number, total: number): number | undefined {
  return total > 0 ? (covered / total) * 100 : undefined;
}

const count = z.number().int().nonnegative();
const coveragePySchema = z.object({
  totals: z.object({ covered_lines: count, num_statements: count, covered_branches: count.optional(), num_branches: count.optional() }),
});

/** `coverage json`: counts under `totals` (format 2 and later). */
function parseCoveragePy(text: string): CoverageTotals {
  const { totals } = parseJson(text, coveragePySchema, 'a coverage.py JSON report');
  const statements = percent(totals.covered_lines, totals.num_statements);
  return { lines: statements, statements, functions: undefined, branches: percent(totals.covered_branches ?? 0, totals.num_branches ?? 0) };
}

/**
 * `mode: set|count|atomic`, then one `file:startLine.col,endLine.col statements hits` line per
 * block. A block can appear more than once (one test binary per package, -coverpkg); it counts
 * once, covered if any run hit it.
 */
function parseGoCoverprofile(text: string): CoverageTotals {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  if (!/^mode: (set|count|atomic)$/.test(lines[0] ?? '')) throw new Error('not a Go coverprofile (no "mode:" line first)');
  const blocks = new Map<string, { statements: number; hit: boolean }>();
  for (const line of lines.slice(1)) {
    const m = /^(.+:\d+\.\d+,\d+\.\d+) (\d+) (\d+)$/.exec(line);
    // Redacted before it is cut: a secret across the cut would no longer be recognised afterwards.
    if (!m) throw new Error(`not a Go coverprofile line: ${JSON.stringify(redactSecrets(line).slice(0, 120))}`);
    const [, block = '', statements = '0', hits = '0'] = m;
    const seen = blocks.get(block);
    blocks.set(block, { statements: Number(statements), hit: (seen?.hit ?? false) || Number(hits) > 0 });
  }
  let total = 0;
  let covered = 0;
  for (const b of blocks.values()) {
    total += b.statements;
    if (b.hit) covered += b.statements;
  }
  const statements = percent(covered, total);
  return { lines: statements, statements, functions: undefined, branches: undefined };
}

/** lcov tracefile: sums of the per-file LF/LH, FNF/FNH and BRF/BRH summary lines. */
function parseLcov(text: string): CoverageTotals {
  const sums: Record<string, number> = { LF: 0, LH: 0, FNF: 0, FNH: 0, BRF: 0, BRH: 0 };
  let records = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === 'end_of_record') records += 1;
    const m = /^(LF|LH|FNF|FNH|BRF|BRH):(\d+)$/.exec(line);
    if (m) sums[m[1]!]! += Number(m[2]);
  }
  if (records === 0) throw new Error('not an lcov tracefile (no end_of_record)');
  const lines = percent(sums.LH!, sums.LF!);
  return { lines, statements: lines, functions: percent(sums.FNH!, sums.FNF!), branches: percent(sums.BRH!, sums.BRF!) };
}

const JACOCO_COLUMNS = ['INSTRUCTION', 'BRANCH', 'LINE', 'METHOD'] as const;

/** JaCoCo CSV: one row per class with `<COUNTER>_MISSED` / `<COUNTER>_COVERED` columns. */
function parseJacocoCsv(text: string): CoverageTotals {
  const rows = text.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => l.split(','));
  const header = rows[0] ?? [];
  const column = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`not a JaCoCo CSV report (no ${name} column)`);
    return i;
  };
  const pct: Partial<Record<(typeof JACOCO_COLUMNS)[number], number | undefined>> = {};
  for (const counter of JACOCO_COLUMNS) {
    const missedAt = column(`${counter}_MISSED`);
    const coveredAt = column(`${counter}_COVERED`);
    let missed = 0;
    let covered = 0;
    for (const row of rows.slice(1)) {
      missed += Number(row[missedAt] ?? 0) || 0;
      covered += Number(row[coveredAt] ?? 0) || 0;
    }
    pct[counter] = percent(covered, missed + covered);
  }
  return { lines: pct.LINE, statements: pct.INSTRUCTION, functions: pct.METHOD, branches: pct.BRANCH };
}

function parseJson<T>(text: string, schema: z.ZodType<T>, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`not valid JSON (expected ${what})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`not ${what} (${issue.path.join('.')}: ${issue.message})`);
  }
  return parsed.data;
}
