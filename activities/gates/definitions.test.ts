import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidGateConfigError } from './errors';
import { missingGateDetail, resolveGateCommands } from './definitions';
import { createRepo, type TempRepo } from '../../test/support/gate-fixtures';

describe('resolveGateCommands', () => {
  let repo: TempRepo | undefined;
  afterEach(() => repo?.cleanup());

  it('maps package.json scripts to gates, run through npm when there is no other lockfile', async () => {
    repo = createRepo({
      scripts: { typecheck: 'tsc', lint: 'eslint .', test: 'jest', build: 'tsc -b', 'test:integration': 'jest -c it', coverage: 'c8 jest', 'test:coverage': 'jest --coverage' },
    });
    const defs = await resolveGateCommands(repo.dir);
    expect(defs.source).toBe('node');
    expect(Object.fromEntries(Object.entries(defs.commands).map(([gate, def]) => [gate, def.command]))).toEqual({
      typecheck: 'npm run --silent typecheck',
      lint: 'npm run --silent lint',
      tests: 'npm run --silent test',
      coverage: 'npm run --silent test:coverage',
      build: 'npm run --silent build',
      integration: 'npm run --silent test:integration',
    });
    expect(defs.coverage).toEqual({
      summaryPath: 'coverage/coverage-summary.json',
      summaryHostPath: path.join(repo.dir, 'coverage/coverage-summary.json'),
      format: 'istanbul-summary',
      metric: 'lines',
    });
  });

  it('falls back to the "coverage" script, and leaves coverage to the tests run when there is neither', async () => {
    repo = createRepo({ scripts: { test: 'jest', coverage: 'c8 jest' } });
    expect((await resolveGateCommands(repo.dir)).commands.coverage?.command).toBe('npm run --silent coverage');
    repo.cleanup();
    repo = createRepo({ scripts: { test: 'jest' } });
    expect((await resolveGateCommands(repo.dir)).commands.coverage).toBeUndefined();
  });

  it('leaves gates without a script undefined, so they are reported missing', async () => {
    repo = createRepo({ scripts: { test: 'jest', lint: 42 as unknown as string } });
    expect(Object.keys((await resolveGateCommands(repo.dir)).commands)).toEqual(['tests']);
  });

  it('reports a repository without gates.json or any known manifest as having no gates, and says what would define them', async () => {
    repo = createRepo({ files: { 'Makefile': 'test:\n\ttrue\n' } });
    const defs = await resolveGateCommands(repo.dir);
    expect(defs).toMatchObject({ source: 'none', commands: {} });
    expect(missingGateDetail('tests', defs)).toBe(
      'the repository has no .orchestrator/gates.json and none of package.json, pyproject.toml, setup.py, setup.cfg, pytest.ini, tox.ini, go.mod, Cargo.toml, pom.xml, build.gradle, build.gradle.kts at its root; or define it in .orchestrator/gates.json',
    );
  });

  it('takes .orchestrator/gates.json over package.json, entirely', async () => {
    repo = createRepo({
      scripts: { test: 'jest', lint: 'eslint .' },
      files: {
        '.orchestrator/gates.json': JSON.stringify({
          gates: { tests: { command: 'make test', timeoutSeconds: 30 } },
          coverage: { summaryPath: 'out/summary.json', threshold: 70, metric: 'minimum' },
        }),
      },
    });
    const defs = await resolveGateCommands(repo.dir);
    expect(defs.source).toBe('gates.json');
    expect(defs.commands).toEqual({ tests: { command: 'make test', timeoutSeconds: 30 } });
    expect(defs.coverage).toEqual({
      summaryPath: 'out/summary.json',
      summaryHostPath: path.join(repo.dir, 'out/summary.json'),
      format: 'istanbul-summary',
      threshold: 70,
      metric: 'minimum',
    });
  });

  it.each([
    ['a command of the wrong type', { gates: { lint: { command: 7 } } }, 'gates.lint.command'],
    ['an empty command', { gates: { tests: { command: '  ' } } }, 'gates.tests.command'],
    ['a misspelt field', { gates: { tests: { command: 'x', timeout: 5 } } }, 'gates.tests.timeout'],
    ['an unknown gate', { gates: { fuzz: { command: 'x' } } }, 'gates.fuzz'],
    ['review as a command', { gates: { review: { command: 'x' } } }, 'gates.review'],
    ['a threshold above 100', { gates: {}, coverage: { threshold: 120 } }, 'coverage.threshold'],
    ['no gates object', { coverage: {} }, 'gates'],
    ['a summary path outside the repository', { gates: {}, coverage: { summaryPath: '../../etc/x.json' } }, 'coverage.summaryPath'],
  ])('refuses a gates.json with %s, naming the field', async (_case, content, field) => {
    repo = createRepo({ files: { '.orchestrator/gates.json': JSON.stringify(content) } });
    const error = await resolveGateCommands(repo.dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidGateConfigError);
    expect(error).toMatchObject({ field, type: 'InvalidGateConfig', retryable: false });
    expect((error as Error).message).toContain(`.orchestrator/gates.json: ${field}:`);
  });

  it('refuses a gates.json that is not JSON', async () => {
    repo = createRepo({ files: { '.orchestrator/gates.json': '{ gates: ' } });
    await expect(resolveGateCommands(repo.dir)).rejects.toThrow(/\.orchestrator\/gates\.json: not valid JSON/);
  });

  it('refuses a package.json that links outside the repository', async () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), 'gates-outside-'));
    try {
      writeFileSync(path.join(outside, 'package.json'), JSON.stringify({ scripts: { test: 'true' } }));
      repo = createRepo();
      symlinkSync(path.join(outside, 'package.json'), path.join(repo.dir, 'package.json'));
      await expect(resolveGateCommands(repo.dir)).rejects.toThrow(/package\.json: is a link; links are not followed/);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('reads through the given reader, so gates can come from the base commit instead of the working tree', async () => {
    repo = createRepo({ scripts: { test: 'exit 0' } });
    const read = jest.fn(async (file: string) => (file === 'package.json' ? JSON.stringify({ scripts: { test: 'jest', lint: 'eslint' } }) : undefined));
    const defs = await resolveGateCommands(repo.dir, { readWorkspaceFile: read });
    expect(Object.keys(defs.commands)).toEqual(['lint', 'tests']);
    expect(read).toHaveBeenCalledWith('.orchestrator/gates.json');
  });
});
