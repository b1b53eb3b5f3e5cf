import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalRunner } from '../tools/local-runner';
import type { GateDefinitions } from './definitions';
import { absentPrograms, gatePrograms, programOf, withAbsentProgramsMissing, withoutAbsentPrograms } from './toolchains';

const rust: GateDefinitions = {
  source: 'rust',
  workspaceHostPath: '/w',
  commands: { typecheck: { command: 'cargo check --all-targets' }, tests: { command: 'cargo test' }, lint: { command: './lint.sh' } },
  coverage: { summaryPath: 'lcov.info', summaryHostPath: '/w/lcov.info', format: 'lcov', metric: 'lines' },
  missing: {},
};

describe('gates whose toolchain is not installed', () => {
  it('takes the program a command names bare, and nothing from paths, assignments or shell syntax', () => {
    expect(programOf('cargo test')).toBe('cargo');
    expect(programOf('  npm run --silent test')).toBe('npm');
    expect(programOf('python3 -m pytest')).toBe('python3');
    expect(programOf('./mvnw -B test')).toBeUndefined();
    expect(programOf('CI=1 npm test')).toBeUndefined();
    expect(programOf('(cd a && make)')).toBeUndefined();
    expect(programOf('$(evil) x')).toBeUndefined();
  });

  it('finds through the runner which programs are absent, in one command', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'toolchains-'));
    try {
      const runner = new LocalRunner(dir, dir);
      const defs = { ...rust, commands: { tests: { command: 'no-such-program-c3 test' }, lint: { command: 'sh -c true' }, build: { command: 'true' } } };
      expect([...(await absentPrograms(runner, gatePrograms(defs)))]).toEqual(['no-such-program-c3']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes a gate of an absent program missing, saying what to install; coverage from its tests run goes with them', () => {
    const out = withoutAbsentPrograms(rust, new Set(['cargo']));
    expect(Object.keys(out.commands)).toEqual(['lint']);
    expect(out.missing.tests).toMatch(/^cargo is not installed where the gates run \(`cargo test` would fail/);
    expect(out.missing.typecheck).toContain('`cargo check --all-targets`');
    expect(out.missing.coverage).toContain('cargo is not installed');
    expect(withoutAbsentPrograms(rust, new Set())).toBe(rust);
  });

  it('makes a result of exit 127 missing when its program is absent; another exit 127 (a script calling something absent) stays failed', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'toolchains-'));
    try {
      const runner = new LocalRunner(dir, dir);
      const defs = { ...rust, commands: { tests: { command: 'no-such-program-c3 test' }, lint: { command: 'sh lint.sh' } } };
      const results = await withAbsentProgramsMissing(
        [
          { name: 'lint', outcome: 'failed', durationMs: 5, command: 'sh lint.sh', exitCode: 127, outputTail: 'lint.sh: 1: eslint: not found' },
          { name: 'tests', outcome: 'failed', durationMs: 5, command: 'no-such-program-c3 test', exitCode: 127, outputTail: 'no-such-program-c3: command not found' },
        ],
        runner,
        defs,
      );
      expect(results[0]).toMatchObject({ outcome: 'failed', exitCode: 127 });
      expect(results[1]).toEqual({ name: 'tests', outcome: 'missing', durationMs: 5, command: 'no-such-program-c3 test', detail: expect.stringContaining('no-such-program-c3 is not installed where the gates run') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
