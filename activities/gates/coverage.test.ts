import { coverageFor, judgeCoverage, parseCoverageSummary } from './coverage';
import { outputTail } from './output-tail';
import { redactSecrets } from '../../scanner';

const summary = (pct: Record<string, number | string>) =>
  JSON.stringify({ total: Object.fromEntries(Object.entries(pct).map(([k, v]) => [k, { total: 10, covered: 5, pct: v }])) });

describe('coverage summaries', () => {
  it('reads the totals of an istanbul json-summary, treating "Unknown" as not measured', () => {
    const totals = parseCoverageSummary(summary({ lines: 91.5, statements: 90, functions: 'Unknown', branches: 70 }));
    expect(totals).toEqual({ lines: 91.5, statements: 90, functions: undefined, branches: 70 });
  });

  it('holds lines to the threshold by default, or the lowest metric when asked', () => {
    const totals = { lines: 90, statements: 88, functions: undefined, branches: 70 };
    expect(coverageFor(totals, 'lines')).toBe(90);
    expect(coverageFor(totals, 'minimum')).toBe(70);
    expect(judgeCoverage(totals, 'lines', 85).passed).toBe(true);
    expect(judgeCoverage(totals, 'minimum', 85)).toEqual({
      passed: false,
      detail: 'lowest metric coverage 70% < threshold 85% (lines 90%, statements 88%, functions n/a, branches 70%)',
    });
  });

  it('fails a summary that measured no code rather than passing it', () => {
    const none = { lines: undefined, statements: undefined, functions: undefined, branches: undefined };
    expect(judgeCoverage(none, 'lines', 0)).toMatchObject({ passed: false, detail: expect.stringContaining('measured no code') });
  });

  it('explains a file that is not a json-summary', () => {
    expect(() => parseCoverageSummary('<html>')).toThrow('not valid JSON');
    expect(() => parseCoverageSummary('{"total":{"lines":{"pct":1}}}')).toThrow(/not an istanbul json-summary \(total\.statements/);
  });
});

describe('outputTail', () => {
  it('strips colour codes and keeps short output whole', () => {
    expect(outputTail('\u001b[31mFAIL\u001b[0m src/a.test.ts\r\n')).toBe('FAIL src/a.test.ts');
  });

  it('redacts before cutting, so a secret straddling the cut is still caught', () => {
    const secret = 'SECRET'.repeat(20);
    const output = `x\n${secret}${'y'.repeat(4000)}`;
    const tail = outputTail(output, (t) => t.replaceAll(secret, '[REDACTED]'), 4096);
    expect(tail).not.toContain('SECRET');
  });

  it('leaves no escape sequence or control character, so a fake verdict or a clipboard write cannot reach a reader\'s terminal', () => {
    const output =
      'FAIL src/a.test.ts\n\u001b]52;c;ZXZpbA==\u001b\\\u001bc\u001b[2K\u001b[1A\u001bP+q\u001b\\\u009b2J\u001b(0\b\b\bPASS all\u0000\ttests\n' +
      '\u001b]8;;https://example.com\u001b\\link\u001b]8;;\u001b\\ and the failure after it\n\u001b]0;left open\nnext line\u0007\n';
    const tail = outputTail(output);
    expect(tail).toBe('FAIL src/a.test.ts\n2JPASS all\ttests\nlink and the failure after it\n\nnext line');
  });

  it('redacts a secret that control characters split, as a reader dropping them would see it whole', () => {
    const token = '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';
    for (const split of ['\u0000', '\u0008', '\u001bc', '\u001b[0m', '\u007f']) {
      const tail = outputTail(`key ${token.slice(0, 10)}${split}${token.slice(10)}\n`, redactSecrets);
      expect(tail).not.toContain(token.slice(10));
    }
  });

  it('never splits a multi-byte character', () => {
    const tail = outputTail('é'.repeat(3000), undefined, 1001);
    expect(tail).not.toContain('\uFFFD');
  });
});
