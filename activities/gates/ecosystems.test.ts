import { detectEcosystem, type RootFiles } from './ecosystems';

/** Root files of a base commit, as the git reader would answer for them. */
function files(contents: Record<string, string>): RootFiles & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    exists: async (file) => file in contents,
    read: async (file) => {
      reads.push(file);
      return contents[file];
    },
  };
}

const PYPROJECT_ALL = `[project]
name = "calc"
dependencies = []

[project.optional-dependencies]
dev = ["pytest>=8", "ruff", "mypy>=1.10", "coverage[toml]"]
`;

describe('detecting a repository\'s gates from its root files', () => {
  it.each([
    ['package-lock.json', 'npm run --silent'],
    ['pnpm-lock.yaml', 'pnpm --silent run'],
    ['yarn.lock', 'yarn run'],
  ])('Node: runs package.json scripts with the package manager its lockfile names (%s)', async (lockfile, tool) => {
    const scripts = { typecheck: 'tsc', lint: 'eslint .', test: 'jest', 'test:coverage': 'jest --coverage', build: 'tsc -b', 'test:integration': 'jest -c it' };
    const detected = await detectEcosystem(files({ 'package.json': JSON.stringify({ scripts }), [lockfile]: '' }));
    expect(detected).toMatchObject({
      ecosystem: 'node',
      commands: {
        typecheck: `${tool} typecheck`,
        lint: `${tool} lint`,
        tests: `${tool} test`,
        coverage: `${tool} test:coverage`,
        build: `${tool} build`,
        integration: `${tool} test:integration`,
      },
      coverage: { format: 'istanbul-summary', path: 'coverage/coverage-summary.json' },
      missing: {},
    });
  });

  it('Node: never reads a lockfile, only looks for it (a package-lock.json can be larger than the reader allows)', async () => {
    const root = files({ 'package.json': JSON.stringify({ scripts: { test: 'jest' } }), 'package-lock.json': '{}', 'yarn.lock': '' });
    await detectEcosystem(root);
    expect(root.reads).toEqual(['package.json']);
  });

  it('Node: names the script to add for each gate it lacks', async () => {
    const detected = await detectEcosystem(files({ 'package.json': JSON.stringify({ scripts: { build: 'tsc' } }) }));
    expect(detected?.missing).toEqual({
      typecheck: 'no "typecheck" script in package.json',
      lint: 'no "lint" script in package.json',
      tests: 'no "test" script in package.json',
      coverage: 'no "test:coverage" or "coverage" script in package.json; the tests run would write coverage/coverage-summary.json, but there is no tests command (no "test" script in package.json)',
      integration: 'no "test:integration" script in package.json',
    });
  });

  it('Python: pytest always; mypy, ruff and coverage.py when pyproject.toml names them, with coverage written by the tests run', async () => {
    const detected = await detectEcosystem(files({ 'pyproject.toml': PYPROJECT_ALL }));
    expect(detected).toMatchObject({
      ecosystem: 'python',
      commands: {
        typecheck: 'python3 -m mypy .',
        lint: 'python3 -m ruff check .',
        tests: 'python3 -m coverage run -m pytest && python3 -m coverage json -q -o coverage.json',
      },
      coverage: { format: 'coverage-py', path: 'coverage.json' },
    });
    expect(detected?.missing.coverage).toBeUndefined();
  });

  it('Python: recognises tool tables and pytest-cov, and explains the opt-in tools a bare pyproject.toml lacks', async () => {
    const tables = await detectEcosystem(files({ 'pyproject.toml': '[tool.mypy]\nstrict = true\n\n[tool.ruff.lint]\nselect = ["E"]\n\n[tool.pytest.ini_options]\naddopts = "--cov"\n\n[dependency-groups]\ndev = ["pytest-cov"]\n' }));
    expect(Object.keys(tables?.commands ?? {})).toEqual(['typecheck', 'lint', 'tests']);
    expect(tables?.coverage?.format).toBe('coverage-py');

    const bare = await detectEcosystem(files({ 'pyproject.toml': '[project]\nname = "x"\ndescription = "a mypy-free project"\n' }));
    expect(bare?.commands).toEqual({ tests: 'python3 -m pytest' });
    expect(bare?.coverage).toBeUndefined();
    expect(bare?.missing).toEqual({
      typecheck: 'needs mypy configured in pyproject.toml ([tool.mypy] or a "mypy" dependency)',
      lint: 'needs ruff configured in pyproject.toml ([tool.ruff] or a "ruff" dependency)',
      coverage: 'needs coverage configured in pyproject.toml ([tool.coverage] or a "coverage" / "pytest-cov" dependency), so that the tests run writes coverage.json',
      build: 'Python has no standard build step',
      integration: 'Python has no standard integration-test command',
    });
  });

  it.each(['setup.py', 'setup.cfg', 'pytest.ini', 'tox.ini'])('Python without pyproject.toml: %s marks it, and pytest runs its tests', async (manifest) => {
    const detected = await detectEcosystem(files({ [manifest]: '' }));
    expect(detected).toMatchObject({ ecosystem: 'python', manifest, commands: { tests: 'python3 -m pytest' } });
    expect(Object.keys(detected?.commands ?? {})).toEqual(['tests']);
  });

  it('Go: go build, go vet and go test with a coverprofile', async () => {
    expect(await detectEcosystem(files({ 'go.mod': 'module example.com/x\n\ngo 1.22\n' }))).toEqual({
      ecosystem: 'go',
      manifest: 'go.mod',
      commands: {
        typecheck: 'go build -o /dev/null ./...',
        lint: 'go vet ./...',
        tests: 'go test -coverprofile=coverage.out ./...',
        build: 'go build -o /dev/null ./...',
      },
      coverage: { format: 'go-coverprofile', path: 'coverage.out' },
      missing: { integration: 'Go has no standard integration-test command' },
      env: { GOCACHE: '/tmp/.orchestrator-go-cache', GOTOOLCHAIN: 'local', GOFLAGS: '-buildvcs=false' },
    });
  });

  it('Rust: cargo check, clippy (warnings fail), test and build; coverage only through gates.json', async () => {
    const detected = await detectEcosystem(files({ 'Cargo.toml': '[package]\nname = "x"\n' }));
    expect(detected).toMatchObject({
      ecosystem: 'rust',
      commands: { typecheck: 'cargo check --all-targets', lint: 'cargo clippy --all-targets -- -D warnings', tests: 'cargo test', build: 'cargo build' },
    });
    expect(detected?.coverage).toBeUndefined();
    expect(detected?.missing.coverage).toContain('"format": "lcov"');
  });

  it('Maven: mvn, or the wrapper when the repository has one; checkstyle and JaCoCo when the pom uses them', async () => {
    const plain = await detectEcosystem(files({ 'pom.xml': '<project><artifactId>x</artifactId></project>' }));
    expect(plain).toMatchObject({
      ecosystem: 'maven',
      commands: {
        typecheck: 'mvn -B -ntp -q test-compile',
        tests: 'mvn -B -ntp test',
        build: 'mvn -B -ntp -q -DskipTests package',
        integration: 'mvn -B -ntp verify',
      },
      missing: { lint: 'needs the maven-checkstyle-plugin in pom.xml', coverage: 'needs the jacoco-maven-plugin in pom.xml, so that the tests run writes target/site/jacoco/jacoco.csv' },
    });
    const full = await detectEcosystem(
      files({
        'pom.xml': '<project><build><plugins><plugin><artifactId>jacoco-maven-plugin</artifactId></plugin><plugin><artifactId>maven-checkstyle-plugin</artifactId></plugin></plugins></build></project>',
        mvnw: '#!/bin/sh\n',
      }),
    );
    expect(full).toMatchObject({
      commands: { lint: './mvnw -B -ntp -q checkstyle:check', tests: './mvnw -B -ntp test jacoco:report' },
      coverage: { format: 'jacoco-csv', path: 'target/site/jacoco/jacoco.csv' },
      missing: {},
    });
  });

  it('Gradle: gradle or ./gradlew, from build.gradle or build.gradle.kts', async () => {
    expect(await detectEcosystem(files({ 'build.gradle.kts': 'plugins { java }\n', gradlew: '#!/bin/sh\n' }))).toMatchObject({
      ecosystem: 'gradle',
      manifest: 'build.gradle.kts',
      commands: {
        typecheck: './gradlew --console=plain testClasses',
        tests: './gradlew --console=plain test',
        build: './gradlew --console=plain assemble',
        integration: './gradlew --console=plain check',
      },
    });
    expect((await detectEcosystem(files({ 'build.gradle': '' })))?.commands.tests).toBe('gradle --console=plain test');
  });

  it('prefers the ecosystem that can run the tests when a repository has several manifests', async () => {
    // A Go service with a package.json for its commit hooks only.
    const go = await detectEcosystem(files({ 'package.json': JSON.stringify({ scripts: { prepare: 'husky' } }), 'go.mod': 'module x\n' }));
    expect(go?.ecosystem).toBe('go');
    // With tests on both sides, table order decides: Node first.
    const both = await detectEcosystem(files({ 'package.json': JSON.stringify({ scripts: { test: 'jest' } }), 'pyproject.toml': PYPROJECT_ALL }));
    expect(both?.ecosystem).toBe('node');
  });

  it.each(['setup.cfg', 'tox.ini', 'pytest.ini', 'setup.py'])('keeps a Go repository Go when it carries a %s too (tool settings, scripts): those mark Python only where no other manifest is', async (file) => {
    // setup.cfg and tox.ini hold codespell's or flake8's settings in repositories of any language.
    const detected = await detectEcosystem(files({ 'go.mod': 'module x\n', [file]: '[codespell]\nskip = ./vendor\n' }));
    expect(detected).toMatchObject({ ecosystem: 'go', commands: { tests: expect.stringMatching(/^go test /) } });
  });

  it('finds nothing in a repository without a known manifest', async () => {
    expect(await detectEcosystem(files({ Makefile: 'test:\n' }))).toBeUndefined();
  });
});
