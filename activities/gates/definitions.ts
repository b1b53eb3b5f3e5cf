/**
 * Where gate commands come from: the repository's `.orchestrator/gates.json` when it has one
 * (it replaces detection entirely, so a repository can say exactly what its gates are),
 * otherwise the ecosystem its root files show (ecosystems.ts: package.json scripts, pyproject.toml,
 * go.mod, Cargo.toml, pom.xml, build.gradle). A gate with no command is `missing`, never passed.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { GateName } from '../../domain/gates';
import { resolveInside } from '../host/paths';
import { readFileNoFollow, UnsafePathError } from '../tools/safe-fs';
import { COVERAGE_FORMATS, type CoverageFormat } from './coverage-formats';
import { detectEcosystem, ECOSYSTEMS, type EcosystemName } from './ecosystems';
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
  /** The coverage report, relative to the workspace root. */
  summaryPath: string;
  format: CoverageFormat;
  /** The same file on the worker host, checked to be inside the workspace. */
  summaryHostPath: string;
  /** Overrides the configured threshold when the repository sets one. */
  threshold?: number;
  metric: CoverageMetric;
}

/** Plain data (no functions), so it can cross an activity boundary. */
export interface GateDefinitions {
  /** `.orchestrator/gates.json`, the detected ecosystem, or nothing recognisable. */
  source: 'gates.json' | EcosystemName | 'none';
  /** Workspace root on the worker host. */
  workspaceHostPath: string;
  commands: Partial<Record<CommandGateName, GateCommand>>;
  /** Where coverage is read; absent when nothing in the repository writes a report. */
  coverage?: CoverageSettings;
  /** Why each command gate without a command has none, and how to define it. */
  missing: Partial<Record<CommandGateName, string>>;
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
      format: z.enum(COVERAGE_FORMATS).optional(),
    })
    .optional(),
});
export type GatesFile = z.infer<typeof gatesFileSchema>;

export interface ResolveGateCommandsOptions {
  /**
   * Reads a workspace-relative file, `undefined` when it does not exist. Defaults to the working
   * tree; pass a reader of the base commit to keep an agent from rewriting its own gates.
   */
  readWorkspaceFile?: (relativePath: string) => Promise<string | undefined>;
  /** Whether a workspace-relative regular file exists (lockfiles, wrappers: looked for, never read). */
  workspaceFileExists?: (relativePath: string) => Promise<boolean>;
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
        format: parsed.coverage?.format ?? 'istanbul-summary',
        threshold: parsed.coverage?.threshold,
        metric: parsed.coverage?.metric ?? DEFAULT_COVERAGE_METRIC,
      },
      missing: Object.fromEntries(COMMAND_GATE_NAMES.filter((g) => !parsed.gates[g]).map((g) => [g, gatesFileHint(g)])),
    };
  }

  const exists =
    options.workspaceFileExists ??
    (options.readWorkspaceFile ? async (relative: string) => (await read(relative)) !== undefined : (relative: string) => fileExists(root, relative));
  const detected = await detectEcosystem({ read, exists });
  if (!detected) {
    const why = `the repository has no ${GATES_FILE} and none of ${ECOSYSTEMS.flatMap((e) => [...e.manifests, ...(e.fallbackManifests ?? [])]).join(', ')} at its root`;
    return { source: 'none', workspaceHostPath: root, commands: {}, missing: Object.fromEntries(COMMAND_GATE_NAMES.map((g) => [g, why])) };
  }
  const commands: GateDefinitions['commands'] = {};
  for (const [gate, command] of Object.entries(detected.commands)) commands[gate as CommandGateName] = { command, env: { ...detected.env } };
  const coverage = detected.coverage && {
    summaryPath: detected.coverage.path,
    summaryHostPath: summaryHostPath(root, detected.coverage.path),
    format: detected.coverage.format,
    metric: DEFAULT_COVERAGE_METRIC,
  };
  return { source: detected.ecosystem, workspaceHostPath: root, commands, coverage, missing: detected.missing };
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

/** Why a command gate has no command, phrased so the agent (or a human) knows what to add. */
export function missingGateDetail(gate: CommandGateName, definitions: GateDefinitions): string {
  const why = definitions.missing[gate] ?? `no ${gate} command`;
  return definitions.source === 'gates.json' ? why : `${why}; or define it in ${GATES_FILE}`;
}

function gatesFileHint(gate: CommandGateName): string {
  return gate === 'coverage' ? `neither a coverage nor a tests command in ${GATES_FILE}` : `no "${gate}" command in ${GATES_FILE}`;
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

/** A link counts: reading it is what refuses one that leaves the workspace. */
async function fileExists(root: string, relative: string): Promise<boolean> {
  try {
    const entry = await lstat(resolveInside(root, relative));
    return entry.isFile() || entry.isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Reads a file below the workspace without following a link anywhere on the way, regular files
 * only (a FIFO is refused, never opened for reading), up to a size cap; undefined when absent.
 * The tree was written by the agent or by commands it controls.
 */
export async function readInsideWorkspace(workspaceHostPath: string, relativePath: string): Promise<string | undefined> {
  return readFileNoFollow(workspaceHostPath, relativePath, MAX_WORKSPACE_FILE_BYTES);
}
