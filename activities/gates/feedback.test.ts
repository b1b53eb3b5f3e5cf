import type { GateResult } from '../../domain/gates';
import { formatGateFeedback } from './feedback';

const testsFailed: GateResult = {
  name: 'tests',
  outcome: 'failed',
  durationMs: 900,
  command: 'npm run --silent test',
  exitCode: 1,
  outputTail: "AssertionError: add(2, 2) should be 4\n  at test.js:3",
};
const lintTimedOut: GateResult = {
  name: 'lint',
  outcome: 'timeout',
  durationMs: 600_000,
  command: 'npm run --silent lint',
  exitCode: null,
  detail: 'timed out after 600s; the command was stopped',
};

describe('formatGateFeedback', () => {
  it('names each failing gate with its command, exit code and output tail, and the rounds left', () => {
    const message = formatGateFeedback([lintTimedOut, testsFailed], 1, 3);
    expect(message).toContain('feedback round 1 of 3');
    expect(message).toContain('2 more rounds remain after this one');
    expect(message).toContain('## lint: timed out\nCommand: npm run --silent lint\ntimed out after 600s');
    expect(message).toContain('## tests: failed (exit code 1)\nCommand: npm run --silent test');
    expect(message).toContain('AssertionError: add(2, 2) should be 4');
    expect(message.indexOf('## lint')).toBeLessThan(message.indexOf('## tests'));
  });

  it('says so when this is the last round', () => {
    expect(formatGateFeedback([testsFailed], 3, 3)).toContain('This is the last round: if the gates fail again, the run fails.');
    expect(formatGateFeedback([testsFailed], 2, 3)).toContain('1 more round remains after this one');
  });

  it('leaves passed gates out', () => {
    const message = formatGateFeedback([{ name: 'typecheck', outcome: 'passed', durationMs: 5 }, testsFailed], 1, 2);
    expect(message).not.toContain('typecheck');
  });

  it('describes missing gates and gates that could not run', () => {
    const message = formatGateFeedback(
      [
        { name: 'lint', outcome: 'missing', durationMs: 0, detail: 'no "lint" script in package.json' },
        { name: 'build', outcome: 'error', durationMs: 3, detail: 'the command could not be started: sandbox is gone' },
      ],
      1,
      3,
    );
    expect(message).toContain('## lint: missing (the repository does not define this gate)\nno "lint" script in package.json');
    expect(message).toContain('## build: could not run\nthe command could not be started');
  });

  it('fences output so backticks in it cannot end the block early', () => {
    const message = formatGateFeedback([{ ...testsFailed, outputTail: 'expected ```ts\ncode``` here' }], 1, 1);
    expect(message).toContain('````\nexpected ```ts\ncode``` here\n````');
  });
});
