import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { modulesRunBy, shadowedModuleRefusal } from './python-shadowing';
import { makeManyEntries, runWithHeapLimit, scratchDir } from '../../test/support/hostile-trees';

describe('modules a gate command runs with -m', () => {
  it.each([
    ['python3 -m mypy .', ['mypy']],
    ['python3 -m ruff check .', ['ruff']],
    ['python3 -m coverage run -m pytest && python3 -m coverage json -q -o coverage.json', ['coverage', 'pytest']],
    ['cd src && /usr/bin/python3.12 -u -mpytest -x', ['pytest']],
    ['python -m mypy.stubtest pkg', ['mypy']],
    ['npm run --silent test', []],
    ['gcc -march=native x.c && git commit -m pytest', []],
  ])('%s', (command, modules) => {
    expect(modulesRunBy(command)).toEqual(modules);
  });
});

describe('a module at the checkout root that shadows one a gate runs', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'py-shadow-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const refusal = (command: string, unchanged: string[] = []) => shadowedModuleRefusal(root, command, new Set(unchanged));

  it.each([
    ['ruff.py', 'python3 -m ruff check .'],
    ['pytest.pyc', 'python3 -m pytest'],
    ['mypy.cpython-311-x86_64-linux-gnu.so', 'python3 -m mypy .'],
  ])('refuses %s for "%s", naming the file', async (file, command) => {
    writeFileSync(path.join(root, file), 'raise SystemExit(0)\n');
    expect(await refusal(command)).toMatch(new RegExp(`^"${file.replace(/\./g, '\\.')}" at the repository root would run instead of the installed`));
  });

  it('refuses a package or a link named like the module, for the module coverage runs too', async () => {
    mkdirSync(path.join(root, 'pytest'));
    expect(await refusal('python3 -m coverage run -m pytest')).toContain('"pytest" at the repository root');
    rmSync(path.join(root, 'pytest'), { recursive: true });
    symlinkSync('/tmp', path.join(root, 'coverage'));
    expect(await refusal('python3 -m coverage run -m pytest')).toContain('"coverage" at the repository root');
  });

  it('lets through what does not shadow, and a module the base commit has unchanged', async () => {
    for (const file of ['pytest', 'coverage.json', 'ruff.toml', 'pytest.pth', 'sitecustomize.py', 'tests.py']) writeFileSync(path.join(root, file), '');
    mkdirSync(path.join(root, 'mypy_plugins'));
    expect(await refusal('python3 -m coverage run -m pytest && python3 -m mypy . && python3 -m ruff check .')).toBeUndefined();
    writeFileSync(path.join(root, 'pytest.py'), '');
    expect(await refusal('ruff check . && npm test')).toBeUndefined(); // no -m: nothing is looked up from the root
    expect(await refusal('python3 -m pytest', ['pytest.py'])).toBeUndefined();
    expect(await refusal('python3 -m pytest')).toBeDefined();
  });
});

describe('the checkout root the agent filled with names', () => {
  let root: string;
  beforeEach(() => (root = scratchDir('py-shadow-wide-')));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('is looked through one entry at a time: 150,000 long names cost the worker no more memory than a few', () => {
    // Read whole, the root's names took the worker 680 MB for 1,000,000 names (6 s), before every gate command.
    makeManyEntries(root, 150_000);
    writeFileSync(path.join(root, 'pytest.py'), '');
    const script = `require(${JSON.stringify(path.join(__dirname, 'python-shadowing'))}).shadowedModuleRefusal(${JSON.stringify(root)}, 'python3 -m pytest', new Set())
      .then((refusal) => console.log(refusal));`;
    expect(runWithHeapLimit(32, script)).toMatch(/^"pytest\.py" at the repository root would run instead/);
  });
});
