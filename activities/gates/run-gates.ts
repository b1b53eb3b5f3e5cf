/**
 * Runs a set of quality gates through a `CommandRunner` (the agent's sandbox or the confined
 * local runner) and reports one `GateResult` per gate.
 *
 * Gates run one after another and all of them run, even after a failure, so the agent sees every
 * problem in one round instead of one per round. The exception is coverage after tests timed out:
 * it would wait out the same slow suite again.
 */
import { unlinkNoFollow } from '../tools/safe-fs';
import type { GateName, GateOutcome, GateResult, ReviewVerdict } from '../../domain/gates';
import type { CommandRunner } from '../tools/runner';
import { judgeCoverage } from './coverage';
import { parseCoverageReport } from './coverage-formats';
import { missingGateDetail, readInsideWorkspace, type CommandGateName, type CoverageSettings, type GateCommand, type GateDefinitions } from './definitions';
import { PINNED_GATE_ENV } from './ecosystems';
import { outputTail } from './output-tail';
import { plainText } from '../../domain/plain-text';
import { shadowedModuleRefusal } from './python-shadowing';
import { inCanonicalOrder } from './profiles';
import { WorkspaceTooLargeError } from '../sandbox/disk-budget';

/** What the runner keeps of a gate's output; only the tail is reported, but redaction sees this much. */
export const GATE_OUTPUT_MAX_BYTES = 64 * 1024;
const REVIEW_SUMMARY_MAX_CHARS = 4000;
/**
 * What a result keeps of its command and detail: the repository writes both (a gates.json or a
 * package.json script of megabytes, a coverage path as long), and every result goes into the
 * workflow history, the status, the coordinator's report and the agent's feedback.
 */
const COMMAND_MAX_CHARS = 2000;
const DETAIL_MAX_CHARS = 8000;

/** Sent when a gate starts, periodically while it runs (for heartbeats), and with its result. */
export interface GateProgress {
  gate: GateName;
  result?: GateResult;
}

export interface RunGatesOptions {
  runner: CommandRunner;
  definitions: GateDefinitions;
  gates: readonly GateName[];
  /** Per-gate timeout. A repository may ask for less (`timeoutSeconds`), never more. */
  timeoutMs: number;
  /** Configured coverage threshold in percent; the repository's `gates.json` may override it. */
  coverageThreshold: number;
  /** Recorded on every result (post-commit gates). */
  commitSha?: string;
  /** Aborting stops the running gate and rejects with the signal's reason. */
  signal?: AbortSignal;
  onProgress?: (progress: GateProgress) => void;
  /** Decides the `review` gate; without it `review` is `missing`. */
  review?: (context: { signal?: AbortSignal }) => Promise<ReviewVerdict>;
  /** Applied to every output tail, command and detail (made plain text first) before it leaves this module. */
  redact?: (text: string) => string;
  /**
   * Root entries the checkout has as the base commit has them: a module among them that a gate's
   * `python -m` would find first is the project's own, not refused (python-shadowing.ts). Empty without it.
   */
  unchangedAtBase?: ReadonlySet<string>;
  /**
   * Runs before each gate command (not before the review, nor before a coverage judged from the
   * tests run): the project's code in an earlier gate may have rewritten the checkout. A failure
   * makes that gate an `error`, never a run of the command on what it left.
   */
  beforeEachCommand?: (gate: CommandGateName) => Promise<void>;
}

type GateReport = Omit<GateResult, 'name' | 'durationMs' | 'commitSha'>;

/** Runs `gates` in canonical order (tests before coverage) and returns one result per gate. */
export async function runGates(options: RunGatesOptions): Promise<GateResult[]> {
  const { signal, onProgress, commitSha } = options;
  // Every text of a result is made plain (no escape sequences or control characters) before it is redacted.
  const redactText = options.redact ?? ((text: string) => text);
  const redact = (text: string) => redactText(plainText(text));
  const gates = inCanonicalOrder(options.gates);
  const results: GateResult[] = [];
  const ctx: GateContext = { ...options, redact, gates, results };

  for (const gate of gates) {
    signal?.throwIfAborted();
    onProgress?.({ gate });
    const started = Date.now();
    const report = await runGate(gate, ctx);
    const result = compact({
      name: gate,
      outcome: report.outcome,
      durationMs: Date.now() - started,
      commitSha,
      command: report.command === undefined ? undefined : keepStart(redact(report.command), COMMAND_MAX_CHARS),
      exitCode: report.exitCode,
      outputTail: report.outputTail,
      detail: report.detail === undefined ? undefined : keepStart(redact(report.detail), DETAIL_MAX_CHARS),
    });
    results.push(result);
    onProgress?.({ gate, result });
  }
  return results;
}

interface GateContext extends RunGatesOptions {
  redact: (text: string) => string;
  gates: GateName[];
  /** Results so far, in run order. */
  results: GateResult[];
}

function runGate(gate: GateName, ctx: GateContext): Promise<GateReport> {
  if (gate === 'review') return runReview(ctx);
  if (gate === 'coverage') return runCoverage(ctx);
  return runCommandGate(gate, ctx);
}

async function runCommandGate(gate: Exclude<CommandGateName, 'coverage'>, ctx: GateContext): Promise<GateReport> {
  const definition = ctx.definitions.commands[gate];
  if (!definition) return { outcome: 'missing', detail: missingGateDetail(gate, ctx.definitions) };
  // Coverage may read what this tests run writes: make sure it cannot read an older summary.
  if (gate === 'tests' && ctx.gates.includes('coverage') && !ctx.definitions.commands.coverage) {
    await removeCoverageSummary(ctx);
  }
  return execute(gate, definition, ctx);
}

/**
 * Coverage comes from its own command when the repository has one; otherwise from the tests run
 * of this round (or a tests run made for it, when tests are not among the gates).
 * A summary that never appears means different things: a dedicated coverage command that wrote
 * none failed; a plain tests run that wrote none shows the repository does not measure
 * coverage, which is `missing`, and the profile's table decides what that costs.
 */
async function runCoverage(ctx: GateContext): Promise<GateReport> {
  const { commands } = ctx.definitions;
  const tests = ctx.results.find((r) => r.name === 'tests');
  if (tests && (tests.outcome === 'timeout' || tests.outcome === 'error')) {
    return {
      outcome: tests.outcome,
      detail: `not run: the tests gate ${tests.outcome === 'timeout' ? 'timed out' : 'could not run'}, so coverage cannot be measured`,
    };
  }

  const report = ctx.definitions.coverage;
  if (!report) return { outcome: 'missing', detail: missingGateDetail('coverage', ctx.definitions) };
  if (commands.coverage) {
    await removeCoverageSummary(ctx);
    const run = await execute('coverage', commands.coverage, ctx);
    return judgeAfterRun(run, 'failed', report, ctx);
  }
  if (tests && tests.outcome !== 'missing') {
    const judged = await judgeSummary(report, 'missing', ctx);
    return { ...judged, command: tests.command, detail: `${judged.detail} [measured from the tests run]` };
  }
  if (commands.tests && !tests) {
    await removeCoverageSummary(ctx);
    const run = await execute('coverage', commands.tests, ctx);
    return judgeAfterRun(run, 'missing', report, ctx);
  }
  return { outcome: 'missing', detail: missingGateDetail('coverage', ctx.definitions) };
}

async function judgeAfterRun(run: GateReport, whenAbsent: 'failed' | 'missing', coverage: CoverageSettings, ctx: GateContext): Promise<GateReport> {
  if (run.outcome === 'timeout' || run.outcome === 'error') return run;
  const judged = await judgeSummary(coverage, whenAbsent, ctx);
  if (run.outcome === 'failed') return { ...run, detail: `the command failed; ${judged.detail}` };
  return { ...run, outcome: judged.outcome, detail: judged.detail };
}

async function judgeSummary(
  coverage: CoverageSettings,
  whenAbsent: 'failed' | 'missing',
  ctx: GateContext,
): Promise<{ outcome: GateOutcome; detail: string }> {
  const { workspaceHostPath } = ctx.definitions;
  let text: string | undefined;
  try {
    text = await readInsideWorkspace(workspaceHostPath, coverage.summaryPath);
  } catch (err) {
    return { outcome: 'failed', detail: `cannot read ${coverage.summaryPath}: ${(err as Error).message}` };
  }
  if (text === undefined) {
    return {
      outcome: whenAbsent,
      detail:
        `no coverage report (${coverage.format}) at ${coverage.summaryPath}` +
        (whenAbsent === 'missing'
          ? '; make the tests write one there (or define a coverage command) to measure coverage'
          : ' after the coverage command; configure the reporter to write it there'),
    };
  }
  try {
    const verdict = judgeCoverage(parseCoverageReport(text, coverage.format), coverage.metric, coverage.threshold ?? ctx.coverageThreshold);
    return { outcome: verdict.passed ? 'passed' : 'failed', detail: verdict.detail };
  } catch (err) {
    return { outcome: 'failed', detail: `${coverage.summaryPath}: ${(err as Error).message}` };
  }
}

async function removeCoverageSummary(ctx: GateContext): Promise<void> {
  // Without following links (a link is removed, never its target); anything odd is left for the read to report.
  if (ctx.definitions.coverage) await unlinkNoFollow(ctx.definitions.workspaceHostPath, ctx.definitions.coverage.summaryPath).catch(() => undefined);
}

async function runReview(ctx: GateContext): Promise<GateReport> {
  if (!ctx.review) return { outcome: 'missing', detail: 'no reviewer is configured for this run' };
  try {
    const verdict = await ctx.review({ signal: ctx.signal });
    ctx.signal?.throwIfAborted();
    // No verdict is not a veto: the agent has nothing to fix, and a feedback round would say it has.
    if (verdict.incomplete) return { outcome: 'error', detail: `the review could not be completed: ${verdict.incomplete}` };
    // Redacted before the cut: a secret cut in two is no longer recognised. The end holds the verdict.
    return { outcome: verdict.approved ? 'passed' : 'failed', detail: keepEnd(ctx.redact(verdict.summary), REVIEW_SUMMARY_MAX_CHARS) };
  } catch (err) {
    ctx.signal?.throwIfAborted();
    return { outcome: 'error', detail: `the review could not be completed: ${(err as Error).message}` };
  }
}

async function execute(gate: CommandGateName, definition: GateCommand, ctx: GateContext): Promise<GateReport> {
  const timeoutMs = Math.min(ctx.timeoutMs, (definition.timeoutSeconds ?? Infinity) * 1000);
  const { command } = definition;
  try {
    await ctx.beforeEachCommand?.(gate);
  } catch (err) {
    ctx.signal?.throwIfAborted();
    return { outcome: 'error', command, detail: `the gate checkout could not be reset before the command: ${(err as Error).message}` };
  }
  const refused = await shadowedModuleRefusal(ctx.definitions.workspaceHostPath, command, ctx.unchangedAtBase ?? new Set());
  if (refused) return { outcome: 'error', command, detail: refused };
  let res;
  try {
    res = await ctx.runner.run(command, {
      timeoutMs,
      maxOutputBytes: GATE_OUTPUT_MAX_BYTES,
      signal: ctx.signal,
      onProgress: ctx.onProgress && (() => ctx.onProgress?.({ gate })),
      env: { ...definition.env, ...PINNED_GATE_ENV },
    });
  } catch (err) {
    ctx.signal?.throwIfAborted();
    if (err instanceof WorkspaceTooLargeError) throw err; // the repository's scripts filled the disk: the run ends
    return { outcome: 'error', command, detail: `the command could not be started: ${(err as Error).message}` };
  }
  if (res.aborted) {
    ctx.signal?.throwIfAborted();
    throw new DOMException('the gate run was aborted', 'AbortError');
  }
  const tail = outputTail(res.output, ctx.redact);
  if (res.timedOut) {
    return {
      outcome: 'timeout',
      command,
      exitCode: res.exitCode,
      outputTail: tail,
      detail: `timed out after ${formatSeconds(timeoutMs)}; the command was stopped`,
    };
  }
  if (res.exitCode === 0) return { outcome: 'passed', command, exitCode: 0, outputTail: tail };
  return {
    outcome: 'failed',
    command,
    exitCode: res.exitCode,
    outputTail: tail,
    detail: res.oomKilled ? 'killed: out of memory' : res.exitCode === null ? 'killed by a signal' : undefined,
  };
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

/** The start of `text` (where a command names its program, a detail its reason), cut after redaction. */
function keepStart(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)} [... ${text.length - max} characters left out]`;
}

function keepEnd(text: string, max: number): string {
  return text.length <= max ? text : `[... truncated] ${text.slice(-max)}`;
}

/** Drops undefined fields, so results serialise the same way however they were built. */
function compact(result: GateResult): GateResult {
  return Object.fromEntries(Object.entries(result).filter(([, v]) => v !== undefined)) as unknown as GateResult;
}
