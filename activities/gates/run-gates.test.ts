import { chmodSync } from 'node:fs';
import path from 'node:path';
import type { GateName } from '../../domain/gates';
import { LocalRunner } from '../tools/local-runner';
import type { CommandRunner } from '../tools/runner';
import { resolveGateCommands } from './definitions';
import { evaluateGates, profileGates } from './profiles';
import { runGates, type GateProgress, type RunGatesOptions } from './run-gates';
import { redactSecrets } from '../../scanner';
import { coverageWriterScript, createRepo, type TempRepo } from '../../test/support/gate-fixtures';

const ASSERTING_TEST = [
  "const assert = require('node:assert');",
  "const { add } = require('./add');",
  "assert.strictEqual(add(2, 2), 4, 'add(2, 2) should be 4');",
  "console.log('all tests passed');",
].join('\n');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('runGates', () => {
  let repo: TempRepo | undefined;
  afterEach(() => repo?.cleanup());

  async function run(gates: GateName[], extra: Partial<RunGatesOptions> = {}) {
    const dir = repo!.dir;
    return runGates({
      runner: new LocalRunner(dir, path.join(dir, '.home')),
      definitions: await resolveGateCommands(dir),
      gates,
      timeoutMs: 30_000,
      coverageThreshold: 85,
      ...extra,
    });
  }

  it('fails the tests gate with the assertion in the output tail, and passes it once the code is fixed', async () => {
    repo = createRepo({
      scripts: { test: 'node test.js' },
      files: { 'test.js': ASSERTING_TEST, 'add.js': 'exports.add = (a, b) => a - b;' },
    });

    const [failed] = await run(['tests'], { commitSha: 'abc123' });
    expect(failed).toMatchObject({ name: 'tests', outcome: 'failed', command: 'npm run --silent test', exitCode: 1, commitSha: 'abc123' });
    expect(failed?.outputTail).toContain('add(2, 2) should be 4');
    expect(failed?.durationMs).toBeGreaterThan(0);

    repo.write('add.js', 'exports.add = (a, b) => a + b;');
    const [passed] = await run(['tests']);
    expect(passed).toMatchObject({ name: 'tests', outcome: 'passed', exitCode: 0 });
    expect(passed?.outputTail).toContain('all tests passed');
  });

  it('fails standard when coverage is under the threshold, while the same repository passes minimal', async () => {
    repo = createRepo({ scripts: { test: 'node test.js' }, files: { 'test.js': coverageWriterScript({ lines: 60, branches: 40 }) } });

    const standard = await run(profileGates('standard'));
    expect(standard.map((r) => [r.name, r.outcome])).toEqual([
      ['typecheck', 'missing'],
      ['lint', 'missing'],
      ['tests', 'passed'],
      ['coverage', 'failed'],
    ]);
    const coverage = standard.find((r) => r.name === 'coverage');
    expect(coverage?.detail).toMatch(/lines coverage 60% < threshold 85%.*branches 40%/);
    expect(coverage?.command).toBe('npm run --silent test');
    expect(evaluateGates('standard', standard)).toEqual({ passed: false, failing: [coverage] });

    const minimal = await run(profileGates('minimal'));
    expect(evaluateGates('minimal', minimal)).toEqual({ passed: true, failing: [] });
  });

  it('passes coverage at the threshold, using the dedicated coverage script when there is one', async () => {
    repo = createRepo({
      scripts: { test: 'node -e "process.exit(0)"', 'test:coverage': 'node cov.js' },
      files: { 'cov.js': coverageWriterScript({ lines: 85 }) },
    });
    const results = await run(['tests', 'coverage']);
    expect(results[1]).toMatchObject({ name: 'coverage', outcome: 'passed', command: 'npm run --silent test:coverage', exitCode: 0 });
  });

  it('never passes coverage on a summary left over from an earlier run', async () => {
    repo = createRepo({
      scripts: { test: 'node -e "console.log(1)"' },
      files: { 'coverage/coverage-summary.json': '{"total":{"lines":{"pct":100},"statements":{"pct":100},"functions":{"pct":100},"branches":{"pct":100}}}' },
    });
    const results = await run(['tests', 'coverage']);
    expect(results[1]).toMatchObject({ name: 'coverage', outcome: 'missing' });
    expect(results[1]?.detail).toContain('no coverage report (istanbul-summary) at coverage/coverage-summary.json');
  });

  it('runs the tests command for coverage when tests are not among the gates', async () => {
    repo = createRepo({ scripts: { test: 'node test.js' }, files: { 'test.js': coverageWriterScript({ lines: 90 }) } });
    const results = await run(profileGates('custom', ['coverage']));
    expect(results).toEqual([expect.objectContaining({ name: 'coverage', outcome: 'passed', command: 'npm run --silent test' })]);
  });

  it('reports a profile gate the repository lacks as missing, and the profile decides what that costs', async () => {
    repo = createRepo({ scripts: { test: 'node test.js', typecheck: 'node -e ""' }, files: { 'test.js': coverageWriterScript({ lines: 95 }) } });

    const standard = await run(profileGates('standard'));
    const lint = standard.find((r) => r.name === 'lint');
    expect(lint).toMatchObject({ outcome: 'missing', detail: 'no "lint" script in package.json; or define it in .orchestrator/gates.json' });
    expect(lint?.command).toBeUndefined();
    expect(evaluateGates('standard', standard).passed).toBe(true);

    const strict = await run(profileGates('strict'));
    expect(evaluateGates('strict', strict).failing.map((r) => [r.name, r.outcome])).toEqual([
      ['lint', 'missing'],
      ['build', 'missing'],
      ['integration', 'missing'],
      ['review', 'missing'],
    ]);
  });

  it('runs the gates of .orchestrator/gates.json instead of package.json scripts, with its coverage threshold', async () => {
    repo = createRepo({
      scripts: { test: 'node -e "process.exit(1)"', lint: 'node -e ""' },
      files: {
        'ok.js': coverageWriterScript({ lines: 60 }),
        '.orchestrator/gates.json': JSON.stringify({ gates: { tests: { command: 'node ok.js' } }, coverage: { threshold: 50 } }),
      },
    });
    const results = await run(['lint', 'tests', 'coverage']);
    expect(results.map((r) => [r.name, r.outcome, r.command])).toEqual([
      ['lint', 'missing', undefined],
      ['tests', 'passed', 'node ok.js'],
      ['coverage', 'passed', 'node ok.js'],
    ]);
    expect(results[2]?.detail).toContain('threshold 50%');
  });

  it('an .npmrc an earlier gate wrote chooses neither the shell nor the node options of a later one', async () => {
    repo = createRepo({
      scripts: { typecheck: 'node write-npmrc.js', test: 'node test.js' },
      files: {
        // The project's code run by one gate (a lint config, a plugin) plants the settings for the next.
        'write-npmrc.js': "require('node:fs').writeFileSync('.npmrc', 'script-shell=./sh.sh\\nnode-options=--require ./evil.js\\n');",
        'sh.sh': '#!/bin/sh\necho FORGED\nexit 0\n',
        'evil.js': "console.log('EVIL'); process.on('exit', () => process.exit(0));",
        'test.js': "console.log('real test'); process.exitCode = 1;",
      },
    });
    chmodSync(path.join(repo.dir, 'sh.sh'), 0o755);
    const [typecheck, tests] = await run(['typecheck', 'tests']);
    expect(typecheck).toMatchObject({ outcome: 'passed' });
    expect(repo.exists('.npmrc')).toBe(true);
    expect(tests).toMatchObject({ name: 'tests', outcome: 'failed', exitCode: 1, outputTail: 'real test' });
  });

  it('refuses a python gate when the root has a module that shadows its tool, also one an earlier gate wrote; not one the base commit has', async () => {
    repo = createRepo({
      files: {
        '.orchestrator/gates.json': JSON.stringify({
          gates: { typecheck: { command: `printf 'open("shadow-ran", "w")\\n' > pytest.py` }, tests: { command: 'python3 -m pytest -q' } },
        }),
      },
    });
    const [, refused] = await run(['typecheck', 'tests']);
    expect(refused).toMatchObject({ name: 'tests', outcome: 'error', command: 'python3 -m pytest -q' });
    expect(refused?.detail).toMatch(/^"pytest\.py" at the repository root would run instead of the installed pytest/);
    expect(repo.exists('shadow-ran')).toBe(false);

    // The project's own pytest.py (at the base commit, unchanged) is what python -m pytest runs there.
    const [, own] = await run(['typecheck', 'tests'], { unchangedAtBase: new Set(['pytest.py']) });
    expect(own).toMatchObject({ name: 'tests', outcome: 'passed' });
    expect(repo.exists('shadow-ran')).toBe(true);
  });

  it('stops a gate that exceeds its timeout, reports it, skips coverage and still runs the remaining gates', async () => {
    repo = createRepo({
      scripts: { test: 'node slow.js', build: 'node -e "console.log(\'built\')"' },
      files: {
        'slow.js': "console.log('starting slow suite'); setTimeout(() => require('node:fs').writeFileSync('late-marker', 'x'), 8000);",
        // The repository asks for an hour; the configured timeout is the ceiling. The build is a
        // plain shell command so it finishes within the short timeout even on a loaded machine.
        '.orchestrator/gates.json': JSON.stringify({ gates: { tests: { command: 'node slow.js', timeoutSeconds: 3600 }, build: { command: 'echo built' } } }),
      },
    });
    const started = Date.now();
    const results = await run(['tests', 'coverage', 'build'], { timeoutMs: 2000 });
    expect(Date.now() - started).toBeLessThan(7000);
    expect(results.map((r) => [r.name, r.outcome])).toEqual([
      ['tests', 'timeout'],
      ['coverage', 'timeout'],
      ['build', 'passed'],
    ]);
    expect(results[0]?.detail).toBe('timed out after 2s; the command was stopped');
    expect(results[0]?.outputTail).toContain('starting slow suite');
    expect(results[1]?.detail).toMatch(/not run: the tests gate timed out/);

    await sleep(7000);
    expect(repo.exists('late-marker')).toBe(false);
  });

  it('stops the running gate on cancellation and rejects with the abort reason, running no further gate', async () => {
    repo = createRepo({
      scripts: { test: 'node slow.js', build: 'node -e "require(\'node:fs\').writeFileSync(\'built\', \'\')"' },
      files: { 'slow.js': "setTimeout(() => require('node:fs').writeFileSync('late-marker', 'x'), 1500);" },
    });
    const controller = new AbortController();
    const reason = new Error('agent killed');
    const progress: GateProgress[] = [];
    setTimeout(() => controller.abort(reason), 500);
    await expect(run(['tests', 'build'], { signal: controller.signal, onProgress: (p) => progress.push(p) })).rejects.toBe(reason);
    expect(progress.every((p) => p.gate === 'tests' && !p.result)).toBe(true);

    await sleep(1500);
    expect(repo.exists('late-marker')).toBe(false);
    expect(repo.exists('built')).toBe(false);
  });

  it('passes every output tail, command and detail through the redaction hook', async () => {
    repo = createRepo({
      scripts: { test: 'node -e "console.log(\'token=sk-live-1234567890\'); process.exitCode = 1"' },
    });
    const redact = (text: string) => text.replace(/sk-live-\w+/g, '[REDACTED]');
    const results = await run(['tests', 'review'], {
      redact,
      review: async () => ({ approved: false, summary: 'hard-coded key sk-live-1234567890 in config.ts' }),
    });
    expect(results[0]?.outputTail).toContain('token=[REDACTED]');
    expect(results[1]?.detail).toBe('hard-coded key [REDACTED] in config.ts');
    expect(JSON.stringify(results)).not.toContain('sk-live-1234567890');
  });

  it('keeps only the end of long output: at most 60 lines and 4 KB', async () => {
    repo = createRepo({ scripts: { test: 'node -e "for (let i = 1; i <= 5000; i++) console.log(\'line \' + i + \' \' + \'x\'.repeat(40)); process.exitCode = 2"' } });
    const [result] = await run(['tests']);
    const tail = result?.outputTail ?? '';
    expect(tail.split('\n').length).toBeLessThanOrEqual(61);
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(4096 + 40);
    expect(tail.startsWith('[... earlier output omitted ...]')).toBe(true);
    expect(tail.trimEnd().split('\n').pop()).toMatch(/^line 5000 x+$/);
  });

  it('decides review with the callback: approval passes, a veto fails, a crash is an error, no reviewer is missing', async () => {
    repo = createRepo();
    const verdict = (approved: boolean) => async () => ({ approved, summary: approved ? 'looks good' : 'missing tests for edge cases' });
    expect((await run(['review'], { review: verdict(true) }))[0]).toMatchObject({ outcome: 'passed', detail: 'looks good' });
    expect((await run(['review'], { review: verdict(false) }))[0]).toMatchObject({ outcome: 'failed', detail: 'missing tests for edge cases' });
    const crash = async () => {
      throw new Error('model overloaded');
    };
    expect((await run(['review'], { review: crash }))[0]).toMatchObject({ outcome: 'error', detail: expect.stringContaining('model overloaded') });
    // An answer cut off before its verdict is no veto: nothing for the agent to fix.
    const cut = async () => ({ approved: false, summary: '', incomplete: "the reviewer's answer was cut off at max_tokens" });
    expect((await run(['review'], { review: cut }))[0]).toMatchObject({ outcome: 'error', detail: "the review could not be completed: the reviewer's answer was cut off at max_tokens" });
    expect((await run(['review']))[0]).toMatchObject({ outcome: 'missing' });
  });

  it('redacts a long review before cutting it, keeping its end (the verdict): a key across the cut leaves no part behind', async () => {
    repo = createRepo();
    // A made-up AWS access key id the scanner recognises, across the 4000-character cut from either end.
    const key = 'AKIAQ3VZL7WD5NTXKB2M';
    const summary = `${'a'.repeat(3990)} ${key} ${'b'.repeat(3962)}\nVERDICT: REQUEST_CHANGES`;
    const [result] = await run(['review'], { redact: redactSecrets, review: async () => ({ approved: false, summary }) });
    expect(result?.detail).not.toContain(key.slice(0, 9));
    expect(result?.detail).not.toContain(key.slice(-9));
    expect(result?.detail).toMatch(/^\[\.\.\. truncated\] a+ AKIA… b+\nVERDICT: REQUEST_CHANGES$/);
  });

  it('bounds what a result carries of a command and a coverage path however long the repository makes them', async () => {
    const command = `true # ${'x'.repeat(1_000_000)}`;
    const summaryPath = `coverage/${'y'.repeat(1_000_000)}.json`;
    repo = createRepo({ files: { '.orchestrator/gates.json': JSON.stringify({ gates: { lint: { command }, tests: { command: 'true' } }, coverage: { summaryPath } }) } });
    const results = await run(['lint', 'tests', 'coverage']);
    expect(results.map((r) => [r.name, r.outcome])).toEqual([
      ['lint', 'error'],
      ['tests', 'passed'],
      ['coverage', 'missing'],
    ]);
    expect(results[0]!.command!.startsWith('true # xxx')).toBe(true);
    expect(results[2]!.detail).toMatch(/^no coverage report \(istanbul-summary\) at coverage\/yyy/);
    for (const r of results) {
      expect(r.command?.length ?? 0).toBeLessThanOrEqual(2100);
      expect(r.detail?.length ?? 0).toBeLessThanOrEqual(8200);
    }
    expect(JSON.stringify(results).length).toBeLessThan(25_000);
  });

  it('reports a gate whose command cannot be started as an error, not a failure of the agent', async () => {
    repo = createRepo({ scripts: { test: 'node test.js' } });
    const broken: CommandRunner = {
      workspaceDir: '/workspace',
      run: () => Promise.reject(new Error('sandbox container is gone')),
    };
    const results = await runGates({
      runner: broken,
      definitions: await resolveGateCommands(repo.dir),
      gates: ['tests', 'coverage'],
      timeoutMs: 1000,
      coverageThreshold: 85,
    });
    expect(results.map((r) => [r.name, r.outcome])).toEqual([
      ['tests', 'error'],
      ['coverage', 'error'],
    ]);
    expect(results[0]?.detail).toContain('sandbox container is gone');
  });

  it('reports progress when each gate starts and finishes', async () => {
    repo = createRepo({ scripts: { test: 'node -e ""' } });
    const progress: GateProgress[] = [];
    await run(['lint', 'tests'], { onProgress: (p) => progress.push(p) });
    const milestones = progress.map((p) => `${p.gate}:${p.result?.outcome ?? 'start'}`);
    expect(milestones.filter((m, i) => m !== milestones[i - 1])).toEqual(['lint:start', 'lint:missing', 'tests:start', 'tests:passed']);
  });

  it('runs beforeEachCommand before each command, after what an earlier gate wrote; a failing one makes that gate an error without running it', async () => {
    repo = createRepo({
      scripts: { lint: 'node -e "require(\'fs\').writeFileSync(\'marker\', \'lint\')"', test: 'node test.js' },
      files: { 'test.js': coverageWriterScript({ lines: 90, branches: 90 }) },
    });
    const seen: string[] = [];
    const before = async (gate: string) => void seen.push(`${gate}:${repo!.exists('marker') ? 'after-lint' : 'clean'}`);
    const results = await run(['lint', 'tests', 'coverage', 'review'], { beforeEachCommand: before, review: async () => ({ approved: true, summary: 'ok' }) });
    expect(results.map((r) => [r.name, r.outcome])).toEqual([['lint', 'passed'], ['tests', 'passed'], ['coverage', 'passed'], ['review', 'passed']]);
    // Coverage was judged from the tests run (no command), the review runs none: no reset before either.
    expect(seen).toEqual(['lint:clean', 'tests:after-lint']);

    const failing = await run(['lint', 'tests'], { beforeEachCommand: async (gate) => { if (gate === 'tests') throw new Error('cannot restore'); } });
    expect(failing[1]).toMatchObject({ name: 'tests', outcome: 'error', detail: expect.stringContaining('cannot restore') });
    expect(failing[1]?.exitCode).toBeUndefined();
  });
});
