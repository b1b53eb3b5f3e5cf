/**
 * Detected gates on small real projects of each ecosystem, run by the real gate runner with the
 * real toolchains (go, cargo + clippy, Maven with JUnit from Maven Central, pytest / ruff / mypy /
 * coverage.py from PyPI in a project-local virtualenv): a passing version passes, a failing one
 * (a failing test and a lint finding) fails with the gate that caught it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { GateName, GateResult } from '../domain/gates';
import { evaluateGates, profileGates, resolveGateCommands, runGates } from '../activities/gates';
import {
  goProject,
  mavenProject,
  pythonGateTools,
  pythonProject,
  runnerWithEnv,
  rustProject,
  rustToolchainEnv,
  writeProject,
  type ProjectFiles,
} from './support/ecosystem-projects';

/** Cold caches (Go's standard library, Maven's plugins) take minutes on a loaded machine. */
const SLOW = 600_000;

describe('gates detected for each ecosystem, on real projects', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ecosystem-gates-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  let n = 0;
  async function gatesOn(files: ProjectFiles, gates: GateName[], env: Record<string, string> = {}): Promise<GateResult[]> {
    const dir = writeProject(tmp, `project-${++n}`, files);
    const results = await runGates({
      runner: runnerWithEnv(dir, env),
      definitions: await resolveGateCommands(dir),
      gates,
      timeoutMs: SLOW,
      coverageThreshold: 80,
    });
    process.stdout.write(`${path.basename(dir)}:\n${results.map((g) => `  ${g.name.padEnd(10)} ${g.outcome.padEnd(8)} ${String(g.durationMs).padStart(7)} ms  ${g.command ?? ''}  ${g.detail ?? ''}`).join('\n')}\n`);
    return results;
  }
  const outcomes = (results: GateResult[]) => Object.fromEntries(results.map((r) => [r.name, r.outcome]));
  const standard = profileGates('standard');

  it(
    'Python: mypy, ruff, pytest under coverage.py pass on a clean project and catch a failing test and an unused import',
    async () => {
      const env = { PATH: `${pythonGateTools()}:${process.env.PATH ?? '/usr/bin:/bin'}` };
      const passing = await gatesOn(pythonProject('passing'), standard, env);
      expect(outcomes(passing)).toEqual({ typecheck: 'passed', lint: 'passed', tests: 'passed', coverage: 'passed' });
      expect(passing.find((g) => g.name === 'coverage')?.detail).toMatch(/^lines coverage 100% >= threshold 80% .*branches n\/a/);

      const failing = await gatesOn(pythonProject('failing'), standard, env);
      expect(outcomes(failing)).toMatchObject({ lint: 'failed', tests: 'failed' });
      expect(failing.find((g) => g.name === 'lint')?.outputTail).toContain('F401');
      expect(failing.find((g) => g.name === 'tests')?.outputTail).toContain('assert 4 == 5');
      expect(evaluateGates('standard', failing).passed).toBe(false);
    },
    SLOW,
  );

  it(
    'Go: go build, go vet and go test with coverage from the coverprofile; a vet finding and a failing test fail',
    async () => {
      const passing = await gatesOn(goProject('passing'), standard);
      expect(outcomes(passing)).toEqual({ typecheck: 'passed', lint: 'passed', tests: 'passed', coverage: 'passed' });
      expect(passing.find((g) => g.name === 'coverage')?.detail).toMatch(/^lines coverage 100% >= threshold 80%/);

      const failing = await gatesOn(goProject('failing'), standard);
      expect(outcomes(failing)).toMatchObject({ typecheck: 'passed', lint: 'failed', tests: 'failed' });
      expect(failing.find((g) => g.name === 'lint')?.outputTail).toContain('self-assignment of a');
      expect(failing.find((g) => g.name === 'tests')?.outputTail).toContain('Add(2, 2) = 4');
    },
    SLOW,
  );

  it(
    'Rust: cargo check, clippy and test pass on a clean crate; a clippy warning and a failing test fail; coverage is missing, which standard tolerates',
    async () => {
      const env = rustToolchainEnv();
      const passing = await gatesOn(rustProject('passing'), standard, env);
      expect(outcomes(passing)).toEqual({ typecheck: 'passed', lint: 'passed', tests: 'passed', coverage: 'missing' });
      expect(passing.find((g) => g.name === 'coverage')?.detail).toContain('cargo llvm-cov');
      expect(evaluateGates('standard', passing).passed).toBe(true);

      const failing = await gatesOn(rustProject('failing'), standard, env);
      expect(outcomes(failing)).toMatchObject({ typecheck: 'passed', lint: 'failed', tests: 'failed' });
      expect(failing.find((g) => g.name === 'lint')?.outputTail).toContain('clippy::ptr_arg');
      expect(failing.find((g) => g.name === 'tests')?.outputTail).toMatch(/assertion .*left == right/);
    },
    SLOW,
  );

  it(
    'Java (Maven): mvn test passes a JUnit suite and fails on a failing assertion',
    async () => {
      const passing = await gatesOn(mavenProject('passing'), ['tests']);
      expect(passing[0]).toMatchObject({ name: 'tests', outcome: 'passed', command: 'mvn -B -ntp test' });
      expect(passing[0]?.outputTail).toContain('Tests run: 1, Failures: 0');

      const failing = await gatesOn(mavenProject('failing'), ['tests']);
      expect(failing[0]).toMatchObject({ name: 'tests', outcome: 'failed' });
      expect(failing[0]?.outputTail).toContain('Tests run: 1, Failures: 1');
    },
    SLOW,
  );
});
