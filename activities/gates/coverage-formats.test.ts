import { judgeCoverage } from './coverage';
import { parseCoverageReport } from './coverage-formats';

// What the tools wrote for a small project (trimmed to the fields that matter).
const COVERAGE_PY = JSON.stringify({
  meta: { format: 3, version: '7.17.5', branch_coverage: true },
  files: {},
  totals: { covered_lines: 3, num_statements: 4, percent_covered: 75.0, missing_lines: 1, num_branches: 4, covered_branches: 1, missing_branches: 3 },
});
const GO_PROFILE = 'mode: set\nexample.com/calc/calc.go:3.24,3.40 1 1\nexample.com/calc/calc.go:5.24,5.40 1 0\nexample.com/calc/calc.go:7.30,9.2 2 0\n';
const LCOV = ['TN:', 'SF:src/lib.rs', 'FNF:4', 'FNH:3', 'BRF:0', 'BRH:0', 'LF:40', 'LH:30', 'end_of_record', 'SF:src/util.rs', 'FNF:1', 'FNH:1', 'LF:10', 'LH:10', 'end_of_record', ''].join('\n');
const JACOCO = [
  'GROUP,PACKAGE,CLASS,INSTRUCTION_MISSED,INSTRUCTION_COVERED,BRANCH_MISSED,BRANCH_COVERED,LINE_MISSED,LINE_COVERED,COMPLEXITY_MISSED,COMPLEXITY_COVERED,METHOD_MISSED,METHOD_COVERED',
  'demo,demo,Calc,4,12,1,3,1,4,1,3,1,2',
  'demo,demo,Main,0,8,0,0,0,3,0,1,0,1',
  '',
].join('\n');

describe('coverage reports of each ecosystem', () => {
  it('reads coverage.py JSON: statements stand for lines, branches when measured', () => {
    expect(parseCoverageReport(COVERAGE_PY, 'coverage-py')).toEqual({ lines: 75, statements: 75, functions: undefined, branches: 25 });
    const noBranches = JSON.stringify({ totals: { covered_lines: 3, num_statements: 4, num_branches: 0, covered_branches: 0 } });
    expect(parseCoverageReport(noBranches, 'coverage-py').branches).toBeUndefined();
  });

  it('reads a Go coverprofile: the share of statements in blocks that ran, a block counted once across test binaries', () => {
    expect(parseCoverageReport(GO_PROFILE, 'go-coverprofile')).toEqual({ lines: 25, statements: 25, functions: undefined, branches: undefined });
    const twice = `${GO_PROFILE}example.com/calc/calc.go:5.24,5.40 1 3\n`;
    expect(parseCoverageReport(twice, 'go-coverprofile').statements).toBe(50);
  });

  it('reads lcov totals summed over files', () => {
    expect(parseCoverageReport(LCOV, 'lcov')).toEqual({ lines: 80, statements: 80, functions: 80, branches: undefined });
  });

  it('reads a JaCoCo CSV report summed over classes', () => {
    expect(parseCoverageReport(JACOCO, 'jacoco-csv')).toEqual({ lines: 87.5, statements: 83.33333333333334, functions: 75, branches: 75 });
  });

  it('judges any format against the threshold by the same rules', () => {
    expect(judgeCoverage(parseCoverageReport(GO_PROFILE, 'go-coverprofile'), 'lines', 80)).toEqual({
      passed: false,
      detail: 'lines coverage 25% < threshold 80% (lines 25%, statements 25%, functions n/a, branches n/a)',
    });
  });

  it.each([
    ['coverage-py', '{"meta": {}}', /not a coverage.py JSON report \(totals/],
    ['coverage-py', 'mode: set', /not valid JSON/],
    ['go-coverprofile', '{"totals": {}}', /no "mode:" line/],
    ['go-coverprofile', 'mode: set\nnonsense here\n', /not a Go coverprofile line/],
    ['lcov', 'mode: set\n', /no end_of_record/],
    ['jacoco-csv', 'a,b,c\n1,2,3\n', /no INSTRUCTION_MISSED column/],
  ] as const)('says what is wrong with a report that is not %s', (format, text, message) => {
    expect(() => parseCoverageReport(text, format)).toThrow(message);
  });

  it('quotes no part of a secret in a bad line it cuts short', () => {
    // A token whose end falls past the quoted 120 characters: cut first, its start would no longer read as a secret.
    const line = `${'x'.repeat(100)} 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 tail`;
    expect(() => parseCoverageReport(`mode: set\n${line}\n`, 'go-coverprofile')).toThrow(/not a Go coverprofile line/);
    try {
      parseCoverageReport(`mode: set\n${line}\n`, 'go-coverprofile');
    } catch (err) {
      expect((err as Error).message).not.toContain('ghp_aCre');
    }
  });
});
