/**
 * Gate commands for a repository without `.orchestrator/gates.json`, from the files at the root of
 * its base commit. Each ecosystem is one entry of ECOSYSTEMS: the manifest that marks it, the
 * tool that runs it (chosen by a lockfile or a wrapper script), one rule list per gate, where its
 * tests leave a coverage report, and the environment its tools need. Adding an ecosystem is
 * adding an entry; nothing below the table knows any ecosystem by name.
 *
 * Opt-in tools (ruff, mypy, checkstyle, JaCoCo) are only run when the manifest mentions them: a
 * repository that never installed mypy would otherwise fail a gate the agent cannot fix.
 */
import { InvalidGateConfigError } from './errors';
import type { CoverageFormat } from './coverage-formats';

export const ECOSYSTEM_NAMES = ['node', 'python', 'go', 'rust', 'maven', 'gradle'] as const;
export type EcosystemName = (typeof ECOSYSTEM_NAMES)[number];

/** The command gates an ecosystem can define (`review` is the reviewer's). */
export type EcosystemGate = 'typecheck' | 'lint' | 'tests' | 'coverage' | 'build' | 'integration';

/** A fact about a root file of the base commit. */
export interface FileCheck {
  file: string;
  /** Tested against the file's text; without it, the file existing is enough. */
  matches?: RegExp;
  /** The check in words, for the hint on a gate it leaves undefined. */
  means?: string;
}

/** A command, used when its check holds (or always). `{tool}` is the ecosystem's tool. */
export interface CommandRule {
  command: string;
  when?: FileCheck;
}

/** package.json scripts tried in order; the first present runs as `{tool} <script>`. */
export interface ScriptRule {
  scripts: readonly string[];
}

export interface CoverageReport {
  format: CoverageFormat;
  /** Relative to the repository root, where the tests run (or the coverage command) writes it. */
  path: string;
  /** Only when this holds (coverage.py or JaCoCo configured); always without it. */
  when?: FileCheck;
}

export interface Ecosystem {
  name: EcosystemName;
  /** Root files that mark the ecosystem; the first present is its manifest. */
  manifests: readonly string[];
  /**
   * Root files that mark it only where no other ecosystem's manifest is (then the first present is
   * its manifest): files repositories of other languages carry too (setup.cfg and tox.ini hold
   * codespell's or flake8's settings, a setup.py builds a Go module's Python bindings).
   */
  fallbackManifests?: readonly string[];
  /** The first whose check holds (or that has none) is `{tool}`. */
  tools?: ReadonlyArray<{ use: string; when?: FileCheck }>;
  /** Rules per gate: the first whose check holds defines the gate. */
  gates: Partial<Record<EcosystemGate, readonly CommandRule[] | ScriptRule>>;
  coverage?: CoverageReport;
  /** How to define a gate this ecosystem has no rule for. */
  hints?: Partial<Record<EcosystemGate, string>>;
  /** Extra environment for every command (caches outside the worktree, no colour, no prompts). */
  env?: Readonly<Record<string, string>>;
  /**
   * Files and directories that choose or configure the program a gate starts (a wrapper script,
   * the package manager's settings): the gate checkout has them as the base commit does.
   */
  runnerFiles?: readonly string[];
}

/** A tool named in pyproject.toml: its `[tool.x]` table or a quoted dependency. */
const pyproject = (tool: string, ...aliases: string[]): FileCheck => {
  const names = [tool, ...aliases].join('|');
  return {
    file: 'pyproject.toml',
    matches: new RegExp(`^\\s*\\[tool\\.(${names})\\b|["'](${names})\\b`, 'm'),
    means: `${tool} configured in pyproject.toml ([tool.${tool}] or a "${[tool, ...aliases].join('" / "')}" dependency)`,
  };
};
const pom = (plugin: string): FileCheck => ({ file: 'pom.xml', matches: new RegExp(`<artifactId>${plugin}</artifactId>`), means: `the ${plugin} in pom.xml` });

/**
 * npm writes logs and a cache under HOME, which is the worktree in the local runner: point both
 * elsewhere so a gate run never leaves files the commit would pick up.
 */
const NPM_ENV = {
  npm_config_logs_max: '0',
  npm_config_cache: '/tmp/.orchestrator-npm-cache',
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
};

/**
 * For every gate command, whatever its source: the npm settings that choose what runs a script.
 * The checkout's .npmrc is the base commit's, but an earlier gate runs the project's code, which
 * may write one (or `$HOME/.npmrc`); the environment outranks both. npm skips an empty value in
 * the environment but trims a blank one to empty, which sets node-options to nothing. A base
 * commit's own script-shell or node-options is overridden too.
 */
export const PINNED_GATE_ENV: Readonly<Record<string, string>> = {
  npm_config_script_shell: '/bin/sh',
  npm_config_node_options: ' ',
};

const PYTHON_COVERAGE = pyproject('coverage', 'pytest-cov');
const JACOCO = pom('jacoco-maven-plugin');

/** In order of precedence (see detectEcosystem). */
export const ECOSYSTEMS: readonly Ecosystem[] = [
  {
    name: 'node',
    manifests: ['package.json'],
    tools: [
      { use: 'pnpm --silent run', when: { file: 'pnpm-lock.yaml' } },
      { use: 'yarn run', when: { file: 'yarn.lock' } },
      { use: 'npm run --silent' },
    ],
    gates: {
      typecheck: { scripts: ['typecheck'] },
      lint: { scripts: ['lint'] },
      tests: { scripts: ['test'] },
      coverage: { scripts: ['test:coverage', 'coverage'] },
      build: { scripts: ['build'] },
      integration: { scripts: ['test:integration'] },
    },
    coverage: { format: 'istanbul-summary', path: 'coverage/coverage-summary.json' },
    env: NPM_ENV,
    // script-shell and node-options (.npmrc), yarnPath and plugins (.yarnrc.yml, run from .yarn/),
    // yarn 1's yarn-path (.yarnrc), pnpm's hooks (.pnpmfile.cjs).
    runnerFiles: ['.npmrc', '.yarnrc', '.yarnrc.yml', '.yarn/releases', '.yarn/plugins', '.pnpmfile.cjs'],
  },
  {
    name: 'python',
    manifests: ['pyproject.toml'],
    // pytest runs a project that never adopted pyproject.toml as well (setup.py or setup.cfg,
    // pytest's or tox's own configuration); the opt-in tools are still read from pyproject.toml.
    fallbackManifests: ['setup.py', 'setup.cfg', 'pytest.ini', 'tox.ini'],
    gates: {
      typecheck: [{ command: 'python3 -m mypy .', when: pyproject('mypy') }],
      lint: [{ command: 'python3 -m ruff check .', when: pyproject('ruff') }],
      tests: [
        { command: 'python3 -m coverage run -m pytest && python3 -m coverage json -q -o coverage.json', when: PYTHON_COVERAGE },
        { command: 'python3 -m pytest' },
      ],
    },
    coverage: { format: 'coverage-py', path: 'coverage.json', when: PYTHON_COVERAGE },
    hints: { build: 'Python has no standard build step', integration: 'Python has no standard integration-test command' },
    env: { PYTHONDONTWRITEBYTECODE: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' },
  },
  {
    name: 'go',
    manifests: ['go.mod'],
    gates: {
      typecheck: [{ command: 'go build -o /dev/null ./...' }],
      lint: [{ command: 'go vet ./...' }],
      tests: [{ command: 'go test -coverprofile=coverage.out ./...' }],
      build: [{ command: 'go build -o /dev/null ./...' }],
    },
    coverage: { format: 'go-coverprofile', path: 'coverage.out' },
    hints: { integration: 'Go has no standard integration-test command' },
    // A build cache shared across runs (a cold one compiles the standard library: minutes), no
    // toolchain download, no VCS stamping (the worktree's .git is not the gate's business).
    env: { GOCACHE: '/tmp/.orchestrator-go-cache', GOTOOLCHAIN: 'local', GOFLAGS: '-buildvcs=false' },
  },
  {
    name: 'rust',
    manifests: ['Cargo.toml'],
    gates: {
      typecheck: [{ command: 'cargo check --all-targets' }],
      lint: [{ command: 'cargo clippy --all-targets -- -D warnings' }],
      tests: [{ command: 'cargo test' }],
      build: [{ command: 'cargo build' }],
    },
    hints: {
      coverage:
        'cargo has no built-in coverage report: add a coverage command that writes lcov (e.g. "cargo llvm-cov --lcov --output-path lcov.info") with "coverage": { "format": "lcov", "summaryPath": "lcov.info" }',
      integration: 'cargo has no separate integration-test command (cargo test runs tests/)',
    },
    env: { CARGO_TERM_COLOR: 'never' },
  },
  {
    name: 'maven',
    manifests: ['pom.xml'],
    tools: [{ use: './mvnw', when: { file: 'mvnw' } }, { use: 'mvn' }],
    gates: {
      typecheck: [{ command: '{tool} -B -ntp -q test-compile' }],
      lint: [{ command: '{tool} -B -ntp -q checkstyle:check', when: pom('maven-checkstyle-plugin') }],
      tests: [{ command: '{tool} -B -ntp test jacoco:report', when: JACOCO }, { command: '{tool} -B -ntp test' }],
      build: [{ command: '{tool} -B -ntp -q -DskipTests package' }],
      integration: [{ command: '{tool} -B -ntp verify' }],
    },
    coverage: { format: 'jacoco-csv', path: 'target/site/jacoco/jacoco.csv', when: JACOCO },
    // Downloaded plugins are shared across runs instead of fetched again into each run's HOME.
    env: { MAVEN_OPTS: '-Dmaven.repo.local=/tmp/.orchestrator-maven-repository' },
    // The wrapper, the distribution it fetches, and .mvn's jvm.config, maven.config and extensions.
    runnerFiles: ['mvnw', '.mvn'],
  },
  {
    name: 'gradle',
    manifests: ['build.gradle', 'build.gradle.kts'],
    tools: [{ use: './gradlew', when: { file: 'gradlew' } }, { use: 'gradle' }],
    gates: {
      typecheck: [{ command: '{tool} --console=plain testClasses' }],
      tests: [{ command: '{tool} --console=plain test' }],
      build: [{ command: '{tool} --console=plain assemble' }],
      integration: [{ command: '{tool} --console=plain check' }],
    },
    hints: {
      lint: 'Gradle has no standard lint task',
      coverage: 'enable JaCoCo\'s CSV report and name it in .orchestrator/gates.json ("coverage": { "format": "jacoco-csv", "summaryPath": "build/reports/jacoco/test/jacocoTestReport.csv" })',
    },
    env: { GRADLE_USER_HOME: '/tmp/.orchestrator-gradle' },
    runnerFiles: ['gradlew', 'gradle/wrapper'],
  },
];

/** Every ecosystem's runner files: a gates.json command may call any of these runners. */
export const RUNNER_FILES: readonly string[] = ECOSYSTEMS.flatMap((e) => e.runnerFiles ?? []);

/** Root files of the base commit; `read` answers `undefined` for a file that is not there. */
export interface RootFiles {
  exists(file: string): Promise<boolean>;
  read(file: string): Promise<string | undefined>;
}

export interface DetectedGates {
  ecosystem: EcosystemName;
  manifest: string;
  commands: Partial<Record<EcosystemGate, string>>;
  coverage?: { format: CoverageFormat; path: string };
  /** Why each undefined gate is undefined, and how to define it. */
  missing: Partial<Record<EcosystemGate, string>>;
  env: Record<string, string>;
}

const GATES: readonly EcosystemGate[] = ['typecheck', 'lint', 'tests', 'coverage', 'build', 'integration'];

/**
 * The ecosystem whose gates the repository gets: the first entry (in table order) whose manifest
 * is at the root and that defines `tests`; failing that, the first that defines any gate; failing
 * that, the first present (so its hints explain what to add). An ecosystem's fallback manifests
 * count only where no ecosystem's own manifest is. `undefined` when no manifest is there.
 */
export async function detectEcosystem(files: RootFiles, table: readonly Ecosystem[] = ECOSYSTEMS): Promise<DetectedGates | undefined> {
  const cached = cachedFiles(files);
  const present: DetectedGates[] = [];
  for (const ecosystem of table) {
    const detected = await resolveEcosystem(ecosystem, ecosystem.manifests, cached);
    if (detected) present.push(detected);
  }
  if (present.length === 0) {
    for (const ecosystem of table) {
      const detected = await resolveEcosystem(ecosystem, ecosystem.fallbackManifests ?? [], cached);
      if (detected) present.push(detected);
    }
  }
  return (
    present.find((d) => d.commands.tests !== undefined) ?? present.find((d) => Object.keys(d.commands).length > 0) ?? present[0]
  );
}

async function resolveEcosystem(ecosystem: Ecosystem, manifests: readonly string[], files: RootFiles): Promise<DetectedGates | undefined> {
  let manifest: string | undefined;
  for (const candidate of manifests) {
    if (await files.exists(candidate)) {
      manifest = candidate;
      break;
    }
  }
  if (!manifest) return undefined;
  const tool = await firstThatHolds(ecosystem.tools ?? [], files);
  const commands: DetectedGates['commands'] = {};
  const missing: DetectedGates['missing'] = {};
  for (const gate of GATES) {
    const rules = ecosystem.gates[gate];
    const command = rules ? await commandFor(rules, tool?.use ?? '', manifest, files) : undefined;
    if (command) commands[gate] = command;
    else if (gate !== 'coverage') missing[gate] = hintFor(ecosystem, gate, rules, manifest);
  }
  const report = ecosystem.coverage;
  const coverage = report && (await holds(report.when, files)) ? { format: report.format, path: report.path } : undefined;
  // Without a coverage command, coverage is read from what the tests run wrote.
  if (!commands.coverage && !(coverage && commands.tests)) {
    missing.coverage = coverageHint(ecosystem, manifest, coverage !== undefined, missing.tests);
  }
  return { ecosystem: ecosystem.name, manifest, commands, coverage, missing, env: { ...ecosystem.env } };
}

async function commandFor(rules: readonly CommandRule[] | ScriptRule, tool: string, manifest: string, files: RootFiles): Promise<string | undefined> {
  if ('scripts' in rules) {
    const scripts = packageScripts(await files.read(manifest));
    const script = rules.scripts.find((name) => scripts.has(name));
    return script && `${tool} ${script}`;
  }
  const rule = await firstThatHolds(rules, files);
  return rule?.command.replaceAll('{tool}', tool);
}

function hintFor(ecosystem: Ecosystem, gate: EcosystemGate, rules: readonly CommandRule[] | ScriptRule | undefined, manifest: string): string {
  if (rules && 'scripts' in rules) return `no ${rules.scripts.map((s) => `"${s}"`).join(' or ')} script in ${manifest}`;
  const conditions = (rules ?? []).flatMap((r) => (r.when?.means ? [r.when.means] : []));
  if (conditions.length > 0) return `needs ${conditions.join(' or ')}`;
  return ecosystem.hints?.[gate] ?? `${ecosystem.name} has no standard ${gate} command`;
}

/** Coverage has its own command, or comes from a tests run that writes a report; says which part is absent. */
function coverageHint(ecosystem: Ecosystem, manifest: string, reportConfigured: boolean, testsMissing: string | undefined): string {
  const parts: string[] = [];
  const own = ecosystem.gates.coverage;
  if (own) parts.push(hintFor(ecosystem, 'coverage', own, manifest));
  const report = ecosystem.coverage;
  if (!report) parts.push(ecosystem.hints?.coverage ?? `${ecosystem.name} has no standard coverage report`);
  else if (!reportConfigured) parts.push(`needs ${report.when?.means ?? 'a coverage report'}, so that the tests run writes ${report.path}`);
  else parts.push(`the tests run would write ${report.path}, but there is no tests command (${testsMissing ?? 'none defined'})`);
  return parts.join('; ');
}

async function firstThatHolds<T extends { when?: FileCheck }>(rules: readonly T[], files: RootFiles): Promise<T | undefined> {
  for (const rule of rules) if (await holds(rule.when, files)) return rule;
  return undefined;
}

async function holds(check: FileCheck | undefined, files: RootFiles): Promise<boolean> {
  if (!check) return true;
  if (!check.matches) return files.exists(check.file);
  const text = await files.read(check.file);
  return text !== undefined && check.matches.test(text);
}

/** Each file is looked up and read at most once per detection. */
function cachedFiles(files: RootFiles): RootFiles {
  const exists = new Map<string, Promise<boolean>>();
  const reads = new Map<string, Promise<string | undefined>>();
  const once = <T>(cache: Map<string, Promise<T>>, file: string, load: () => Promise<T>) => {
    let hit = cache.get(file);
    if (!hit) cache.set(file, (hit = load()));
    return hit;
  };
  return {
    exists: (file) => once(exists, file, () => files.exists(file)),
    read: (file) => once(reads, file, () => files.read(file)),
  };
}

/** Names of the runnable scripts in a package.json (a non-string or empty script cannot run). */
function packageScripts(text: string | undefined): Set<string> {
  if (text === undefined) return new Set();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InvalidGateConfigError('package.json', undefined, `not valid JSON (${(err as Error).message})`);
  }
  const scripts = (json as { scripts?: unknown } | null)?.scripts;
  if (scripts === undefined) return new Set();
  if (typeof scripts !== 'object' || scripts === null || Array.isArray(scripts)) {
    throw new InvalidGateConfigError('package.json', 'scripts', 'must be an object');
  }
  return new Set(Object.entries(scripts).flatMap(([name, body]) => (typeof body === 'string' && body.trim() ? [name] : [])));
}
