import type { GateName, GateOutcome, GateResult } from '../../domain/gates';
import { InvalidGateSelectionError } from './errors';
import { evaluateGates, profileGates } from './profiles';

const result = (name: GateName, outcome: GateOutcome): GateResult => ({ name, outcome, durationMs: 1 });
const allPassed = (gates: GateName[]) => gates.map((g) => result(g, 'passed'));

describe('profileGates', () => {
  it('lists the gates of each fixed profile', () => {
    expect(profileGates('strict')).toEqual(['typecheck', 'lint', 'tests', 'coverage', 'build', 'integration', 'review']);
    expect(profileGates('standard')).toEqual(['typecheck', 'lint', 'tests', 'coverage']);
    expect(profileGates('minimal')).toEqual(['tests']);
  });

  it('takes the custom list from the request, deduplicated and in run order', () => {
    expect(profileGates('custom', ['coverage', 'lint', 'tests', 'lint'])).toEqual(['lint', 'tests', 'coverage']);
  });

  it('refuses unknown gate names in a custom list, naming them', () => {
    expect(() => profileGates('custom', ['tests', 'fuzz'])).toThrow(InvalidGateSelectionError);
    expect(() => profileGates('custom', ['tests', 'fuzz'])).toThrow(/"fuzz"/);
  });

  it('refuses an empty custom list, which would pass without checking anything', () => {
    expect(() => profileGates('custom', [])).toThrow(/non-empty/);
    expect(() => profileGates('custom')).toThrow(InvalidGateSelectionError);
  });
});

describe('evaluateGates', () => {
  it('passes when every gate passed', () => {
    expect(evaluateGates('strict', allPassed(profileGates('strict')))).toEqual({ passed: true, failing: [] });
  });

  it.each(['failed', 'timeout', 'error'] as const)('fails every profile on a %s gate', (outcome) => {
    for (const profile of ['strict', 'standard', 'minimal'] as const) {
      const results = profileGates(profile).map((g) => result(g, g === 'tests' ? outcome : 'passed'));
      expect(evaluateGates(profile, results)).toEqual({ passed: false, failing: [result('tests', outcome)] });
    }
  });

  it('strict fails on any missing gate', () => {
    const results = profileGates('strict').map((g) => result(g, g === 'lint' ? 'missing' : 'passed'));
    expect(evaluateGates('strict', results).passed).toBe(false);
  });

  it('standard tolerates missing typecheck, lint and coverage but not missing tests', () => {
    const tolerated = [result('typecheck', 'missing'), result('lint', 'missing'), result('tests', 'passed'), result('coverage', 'missing')];
    expect(evaluateGates('standard', tolerated)).toEqual({ passed: true, failing: [] });
    const noTests = [result('typecheck', 'passed'), result('lint', 'passed'), result('tests', 'missing'), result('coverage', 'passed')];
    expect(evaluateGates('standard', noTests).failing).toEqual([result('tests', 'missing')]);
  });

  it('minimal fails when tests are missing', () => {
    expect(evaluateGates('minimal', [result('tests', 'missing')]).passed).toBe(false);
  });

  it('custom fails on any missing gate', () => {
    expect(evaluateGates('custom', [result('lint', 'missing'), result('tests', 'passed')]).passed).toBe(false);
  });

  it('judges only the results given, so each phase can be judged on its own gates', () => {
    const preCommit = [result('typecheck', 'passed'), result('lint', 'passed'), result('tests', 'passed'), result('coverage', 'passed')];
    expect(evaluateGates('strict', preCommit)).toEqual({ passed: true, failing: [] });
  });
});
