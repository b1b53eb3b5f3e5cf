/**
 * Where gate commands come from: the repository's `.orchestrator/gates.json` when it has one
 * (it replaces package.json entirely, so a repository can say exactly what its gates are),
 * otherwise its `package.json` scripts. A gate with no command is `missing`, never passed.
 */
import path from 'node:path';
import { z } from 'zod';
import type { GateName } from '../../domain/gates';
import { resolveInside } from '../host/paths';
import { readFileNoFollow, UnsafePathError } from '../tools/safe-fs';
import { InvalidGateConfigError } from './errors';

/** Gates that run a command; `review` is decided by a callback instead. */
export type CommandGateName = Exclude<GateName, 'review'>;
export const COMMAND_GATE_NAMES = ['typecheck', 'lint', 'tests', 'coverage', 'build', 'integration'] as const satisfies readonly CommandGateName[];

export const COVERAGE_METRICS = ['lines', 'statements', 'functions', 'branches', 'minimum'] as const;
/** Which istanbul total the coverage gate holds to the threshold; `minimum` is the lowest of the four. */
export type CoverageMetric = (typeof COVERAGE_METRICS)[number];

/**
 * Lines, because it is the number every coverage tool leads with and what "coverage 85%" means in
 * the system we replace. The minimum of all four would fail repositories whose existing branch
 * coverage is low for reasons the agent did not cause; a repository that wants it sets `minimum`.
 */
export const DEFAULT_COVERAGE_METRIC: CoverageMetric = 'lines';
export const DEFAULT_COVERAGE_SUMMARY_PATH = 'coverage/coverage-summary.json';
export const GATES_FILE = '.orchestrator/gates.json';

export interface GateCommand {
  /** Shell command, run from the workspace root. */
  command: string;
  /** Asked for by the repository; the configured gate timeout is the ceiling. */
  timeoutSeconds?: number;
  /** Extra environment for the command (never secrets). */
  env?: Record<string, string>;
}

export interface CoverageSettings {
  /** istanbul json-summary, relative to the workspace root. */
  summaryPath: string;
  /** The same file on the worker host, checked to be inside the workspace. */
  summaryHostPath: string;
  /** Overrides the configured threshold when the repository sets one. */
  threshold?: number;
  metric: CoverageMetric;
}

/** Plain data (no functions), so it can cross an activity boundary. */
export interface GateDefinitions {
  source: 'gates.json' | 'package.json' | 'none';
  /** Workspace root on the worker host. */
  workspaceHostPath: string;
  commands: Partial<Record<CommandGateName, GateCommand>>;
  coverage: CoverageSettings;
}

const gateCommandSchema = z.strictObject({
  command: z.string().trim().min(1, 'must be a non-empty command'),
  timeoutSeconds: z.number().int().positive().max(24 * 3600).optional(),
});

/** The schema of `.orchestrator/gates.json`; unknown keys are errors so typos do not pass silently. */
export const gatesFileSchema = z.strictObject({
  gates: z.partialRecord(z.enum(COMMAND_GATE_NAMES), gateCommandSchema),
  coverage: z
    .strictObject({
      summaryPath: z.string().trim().min(1).optional(),
      threshold: z.number().min(0).max(100).optional(),
      metric: z.enum(COVERAGE_METRICS).optional(),
    })
    .optional(),
});
export type GatesFile = z.infer<typeof gatesFileSchema>;

/** package.json script per gate; coverage falls back to the tests run when neither script exists. */
const PACKAGE_SCRIPTS: Readonly<Record<CommandGateName, readonly string[]>> = {
  typecheck: ['typecheck'],
  lint: ['lint'],
  tests: ['test'],
  coverage: ['test:coverage', 'coverage'],
  build: ['build'],
  integration: ['test:integration'],
};

/**
 * npm writes logs and a cache under HOME, which is the worktree in the local runner: point both
 * elsewhere so a gate run never leaves files the commit would pick up.
 */
const NPM_ENV: Readonly<Record<string, string>> = {
  npm_config_logs_max: '0',
  npm_config_cache: '/tmp/.orchestrator-npm-cache',
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
};

export interface ResolveGateCommandsOptions {
  /**
   * Reads a workspace-relative file, `undefined` when it does not exist. Defaults to the working
   * tree; pass a reader of the base commit to keep an agent from rewriting its own gates.
   */
  readWorkspaceFile?: (relativePath: string) => Promise<string | undefined>;
}

/** Reads the repository's gate definitions; throws `InvalidGateConfigError` naming the bad field. */
export async function resolveGateCommands(
  workspaceHostPath: string,
  options: ResolveGateCommandsOptions = {},
): Promise<GateDefinitions> {
  const root = path.resolve(workspaceHostPath);
  const read = options.readWorkspaceFile ?? ((relative: string) => readConfigFile(root, relative));

  const gatesFile = await read(GATES_FILE);
  if (gatesFile !== undefined) {
    const parsed = parseGatesFile(gatesFile);
    const summaryPath = parsed.coverage?.summaryPath ?? DEFAULT_COVERAGE_SUMMARY_PATH;
    return {
      source: 'gates.json',
      workspaceHostPath: root,
      commands: { ...parsed.gates },
      coverage: {
        summaryPath,
        summaryHostPath: summaryHostPath(root, summaryPath),
        threshold: parsed.coverage?.threshold,
        metric: parsed.coverage?.metric ?? DEFAULT_COVERAGE_METRIC,
      },
    };
  }

  const defaultCoverage: CoverageSettings = {
    summaryPath: DEFAULT_COVERAGE_SUMMARY_PATH,
    summaryHostPath: summaryHostPath(root, DEFAULT_COVERAGE_SUMMARY_PATH),
    metric: DEFAULT_COVERAGE_METRIC,
  };
  const packageJson = await read('package.json');
  if (packageJson === undefined) {
    return { source: 'none', workspaceHostPath: root, commands: {}, coverage: defaultCoverage };
  }
  const scripts = parsePackageScripts(packageJson);
  const commands: Partial<Record<CommandGateName, GateCommand>> = {};
  for (const gate of COMMAND_GATE_NAMES) {
    const script = PACKAGE_SCRIPTS[gate].find((name) => scripts.has(name));
    if (script) commands[gate] = { command: `npm run --silent ${script}`, env: { ...NPM_ENV } };
  }
  return { source: 'package.json', workspaceHostPath: root, commands, coverage: defaultCoverage };
}

/** Parses and validates the text of `.orchestrator/gates.json`. */
export function parseGatesFile(text: string): GatesFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InvalidGateConfigError(GATES_FILE, undefined, `not valid JSON (${(err as Error).message})`);
  }
  const parsed = gatesFileSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const at = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '?';
    const field = [...at, key].join('.');
    const reason =
      at.join('.') === 'gates' && key === 'review'
        ? 'review is not a command gate; it is decided by the reviewer'
        : `unknown field${at.join('.') === 'gates' ? ` (gates are ${COMMAND_GATE_NAMES.join(', ')})` : ''}`;
    throw new InvalidGateConfigError(GATES_FILE, field, reason);
  }
  throw new InvalidGateConfigError(GATES_FILE, at.length > 0 ? at.join('.') : undefined, issue.message);
}

function parsePackageScripts(text: string): Set<string> {
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
  // A non-string script cannot run; leaving it out reports the gate as missing.
  return new Set(Object.entries(scripts).flatMap(([name, body]) => (typeof body === 'string' && body.trim() ? [name] : [])));
}

/** Why a command gate has no command, phrased so the agent (or a human) knows what to add. */
export function missingGateDetail(gate: CommandGateName, definitions: GateDefinitions): string {
  switch (definitions.source) {
    case 'gates.json':
      return gate === 'coverage'
        ? `neither a coverage nor a tests command in ${GATES_FILE}`
        : `no "${gate}" command in ${GATES_FILE}`;
    case 'package.json': {
      const scripts = gate === 'coverage' ? [...PACKAGE_SCRIPTS.coverage, ...PACKAGE_SCRIPTS.tests] : PACKAGE_SCRIPTS[gate];
      return `no ${scripts.map((s) => `"${s}"`).join(' or ')} script in package.json`;
    }
    case 'none':
      return `the repository has neither ${GATES_FILE} nor package.json`;
  }
}

function summaryHostPath(root: string, summaryPath: string): string {
  try {
    return resolveInside(root, summaryPath);
  } catch {
    throw new InvalidGateConfigError(GATES_FILE, 'coverage.summaryPath', 'must stay inside the repository');
  }
}

async function readConfigFile(root: string, relative: string): Promise<string | undefined> {
  try {
    return await readInsideWorkspace(root, relative);
  } catch (err) {
    if (err instanceof UnsafePathError && err.reason === 'symlink') {
      throw new InvalidGateConfigError(relative, undefined, 'is a link; links are not followed');
    }
    throw err;
  }
}

/** Largest file the gates read from a workspace (a coverage summary, a configuration file). */
const MAX_WORKSPACE_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Reads a file below the workspace without following a link anywhere on the way, regular files
 * only (a FIFO is refused, never opened for reading), up to a size cap; undefined when absent.
 * The tree was written by the agent or by commands it controls.
 */
export async function readInsideWorkspace(workspaceHostPath: string, relativePath: string): Promise<string | undefined> {
  return readFileNoFollow(workspaceHostPath, relativePath, MAX_WORKSPACE_FILE_BYTES);
}
