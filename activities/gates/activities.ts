/**
 * Gate activities: the quality gates of one phase, and the report to the coordinator.
 *
 * An agent must not be able to weaken its own gates, so they run on a clean checkout of its work
 * (the staged tree before the commit, the commit after), never on its worktree, in a sandbox of
 * their own; gate definitions, the package.json scripts they call, the coverage settings and the
 * files that choose the program a gate starts (.npmrc, mvnw, ...: RUNNER_FILES) come from the base
 * commit (written over the agent's in the checkout, and again before each gate command, as the
 * project's code may rewrite them in an earlier gate); a coverage summary the agent committed is
 * dropped, so only the gate run itself can write one; and a module at the root that a gate's
 * `python -m` would run instead of the tool refuses that gate (python-shadowing.ts).
 */
import type { AgentType, GateProfile, SandboxInfo, WorkspaceInfo } from '../../domain/agent';
import { CallOverBudgetError, type BudgetBreach } from '../../domain/budgets';
import {
  PRE_COMMIT_GATES,
  type GateName,
  type GatePhase,
  type GateResult,
  type MissingGatesPolicy,
  type UnavailableGate,
} from '../../domain/gates';
import type { AgentEventLog } from '../../state/agent-events';
import type { GitWorkspaces, OperationOptions } from '../git';
import path from 'node:path';
import { isAgentBranch } from '../git/empty-base';
import { isRegularFile } from '../git/read-blob';
import { currentOperation } from '../operation';
import type { CoordinatorPort, SandboxRuntime } from '../ports';
import { giveToSandboxUser } from '../tools/ownership';
import { unavailableGates } from './availability';
import { DEFAULT_COVERAGE_SUMMARY_PATH, GATES_FILE, parseGatesFile, resolveGateCommands, type GateDefinitions } from './definitions';
import { NoReviewBaseError } from './errors';
import { formatGateFeedback } from './feedback';
import { RUNNER_FILES } from './ecosystems';
import { withNameResolutionMissing, withoutNetworkBuilds } from './gate-network';
import { evaluateGates, missingFails, profileGates } from './profiles';
import { paidReview, type PaidReviewDeps, type ReviewFn } from './paid-review';
import { runGates } from './run-gates';
import { FoundPrograms } from './found-programs';
import { absentPrograms, gatePrograms, withAbsentProgramsMissing, withoutAbsentPrograms } from './toolchains';
import { guardDisk, type DiskBudget } from '../sandbox/disk-budget';

export type { ReviewFn } from './paid-review';

export interface GateActivityDeps {
  workspaces: Pick<
    GitWorkspaces,
    'readAtBase' | 'existsAtBase' | 'rootEntriesAtBase' | 'rootEntriesAt' | 'readAt' | 'diffAgainstBase' | 'diffBetween' | 'defaultBranch' | 'reviewBase' | 'stagedTree' | 'checkoutForGates' | 'removeGateCheckout'
  >;
  runtime: SandboxRuntime;
  /** The AI review (a model call); the `review` gate is `missing` without it. */
  review?: ReviewFn;
  /** Where a paid review's cost and verdict are kept, so a retry does not pay again. */
  paidReviews: Omit<PaidReviewDeps, 'review' | 'redact'>;
  /** Absent when COORDINATOR_URL is not set. */
  coordinator?: CoordinatorPort;
  events: AgentEventLog;
  gateTimeoutMs: number;
  coverageThreshold: number;
  /** WORKSPACE_MAX_MB and WORKSPACE_MAX_FILES, held by the gate checkout while its commands run. */
  diskBudget: DiskBudget;
  /** Applied to gate output and the AI review's answer before they leave the worker (secrets out). */
  redact: (text: string) => string;
  /** Gate commands run with no network (a sandbox with SANDBOX_NETWORK=none): Maven and Gradle cannot fetch. */
  networkOff: boolean;
  /** Gate programs the sandbox was seen to have (tests pass their own clock); one per worker by default. */
  foundPrograms?: FoundPrograms;
}

export interface RunGatesInput {
  agentId: string;
  taskId: string;
  agentType: AgentType;
  workspace: WorkspaceInfo;
  sandbox?: SandboxInfo;
  profile: GateProfile;
  customGates?: GateName[];
  phase: GatePhase;
  commitSha?: string;
  round: number;
  maxRounds: number;
  /** `skip`: a gate the repository does not define is reported `skipped` and does not count. */
  missingGates?: MissingGatesPolicy;
  /** Reviewers: the branch the one under review is compared with; see GateBase. */
  reviewBase?: string;
  /** Reviewers spawned without `context.baseBranch`, before the run knows its review base: see GateBase. */
  findReviewBase?: boolean;
  /** What the run's dollar budget has left (absent: no dollar budget); the AI review is refused past it. */
  costLeftUsd?: number;
  /** What the workflow has counted as spent, against which the spend ledger shows calls it never saw. */
  countedUsd?: number;
}

export interface ResolveGatesInput {
  workspace: WorkspaceInfo;
  profile: GateProfile;
  customGates?: GateName[];
  /** Reviewers: the branch the one under review is compared with; see GateBase. */
  reviewBase?: string;
  /** Reviewers spawned without `context.baseBranch`: the review base is the remote's default branch, found here; see GateBase. */
  findReviewBase?: boolean;
  /** Whose gates these are: the runner asking for their programs is the gate runner of this agent. */
  agentId?: string;
  taskId?: string;
}

/**
 * What the gates' own files (gates.json, package.json scripts, RUNNER_FILES) are read from: the
 * workspace's base commit, which the agent cannot change. A reviewer's base commit is the tip of the
 * branch under review, written by another agent: they come from where that branch forked from the
 * review base instead, `reviewBase` or, with `findReviewBase`, the remote's default branch (none, or
 * the branch under review itself, fails the run: NoReviewBaseError). The AI review diffs the branch
 * from the same commit.
 */
type GateBase = Pick<WorkspaceInfo, 'mirrorPath' | 'baseSha'> & { reviewBase?: string };

export interface GateResolution {
  /** Where the commands come from: `gates.json`, the detected ecosystem, or `none`. */
  source: GateDefinitions['source'];
  /** The profile's gates the base commit does not define, each with how to define it. */
  unavailable: UnavailableGate[];
  /** The review base found for `findReviewBase` (the remote's default branch): the run's from now on. */
  reviewBase?: string;
}

export interface RunGatesResult {
  results: GateResult[];
  passed: boolean;
  /** What the agent is told when the gates failed; empty when they passed. */
  feedback: string;
  /** A coordinator is configured: the workflow reports these results to it (reportToCoordinator). */
  reportRequired: boolean;
  /** USD of the model calls the gates made (the AI review); counted in the run's cost. */
  costUsd?: number;
  /** The spend ledger's total after the review (absent when none was asked for). */
  spentUsd?: number;
  /** The AI review was not asked for: it could pass the dollar budget, which ends the run. */
  refused?: BudgetBreach;
  /**
   * Gates found `missing` only when they ran (their program absent, the network they need off):
   * nothing the agent does brings them back; the required ones end the run (GatesUnavailable).
   */
  unavailable?: UnavailableGate[];
  /**
   * The staged tree the pre-commit gates checked. The commit must be exactly this tree: staging
   * the worktree again would take in whatever a process the agent left running wrote meanwhile.
   */
  tree?: string;
}

export type CoordinatorReport = Parameters<CoordinatorPort['reportGates']>[0];

export function createGateActivities(deps: GateActivityDeps) {
  /** The repository's gate commands as its base commit defines them, for a checkout at `root`. */
  const baseDefinitions = async (workspace: GateBase, root: string) => {
    // Detection asks about many files at the root: one listing answers for those (absent: no git call).
    const atRoot = await deps.workspaces.rootEntriesAtBase(workspace);
    const isRoot = (rel: string) => !rel.includes('/');
    return resolveGateCommands(root, {
      readWorkspaceFile: async (rel) => (isRoot(rel) && !atRoot.has(rel) ? undefined : deps.workspaces.readAtBase(workspace, rel)),
      workspaceFileExists: async (rel) => (isRoot(rel) ? isRegularFile(atRoot.get(rel)) : deps.workspaces.existsAtBase(workspace, rel)),
    });
  };

  /**
   * `definitions` less the commands whose program the gates' runner cannot find, asked before the
   * first model call. Not with docker: that would start a container for the question, and the
   * image is built for the repositories it serves (runGates still asks, in the gates' container).
   */
  // The bubblewrap sandbox's PATH is the host's, the same for every agent: what it had is asked once (found-programs.ts).
  const foundPrograms = deps.runtime.kind === 'bubblewrap' ? (deps.foundPrograms ?? new FoundPrograms()) : undefined;
  const installedDefinitions = async (args: ResolveGatesInput, definitions: GateDefinitions): Promise<GateDefinitions> => {
    if (deps.runtime.kind === 'docker' || Object.keys(definitions.commands).length === 0) return definitions;
    const agentId = args.agentId ?? path.basename(args.workspace.path);
    const { signal } = currentOperation();
    const toAsk = foundPrograms ? foundPrograms.unknown(gatePrograms(definitions)) : gatePrograms(definitions);
    if (toAsk.length === 0) return definitions;
    const absent = await deps.runtime.withRunner({ agentId, taskId: args.taskId ?? '', dir: args.workspace.path, signal }, (runner) => absentPrograms(runner, toAsk, signal));
    foundPrograms?.remember(toAsk, absent);
    return withoutAbsentPrograms(definitions, absent);
  };

  /** Judges the results and appends the round's `gates` event (once per phase and round, also on a retry). */
  const settle = async (args: RunGatesInput, results: GateResult[], reportRequired: boolean): Promise<RunGatesResult> => {
    const judged = judge(args, results, reportRequired);
    await deps.events.append(
      {
        type: 'gates',
        agentId: args.agentId,
        phase: args.phase,
        round: args.round,
        passed: judged.passed,
        gates: results.map((g) => ({ name: g.name, outcome: g.outcome, durationMs: g.durationMs })),
        at: new Date().toISOString(),
      },
      { dedupKey: `gates:${args.phase}:${args.round}` },
    );
    return judged;
  };

  const gateBase = async (args: { workspace: WorkspaceInfo; reviewBase?: string; findReviewBase?: boolean }, op?: OperationOptions): Promise<GateBase> => {
    const { workspace } = args;
    let reviewBase = args.reviewBase;
    // The branch under review given as its own base: the same, by the coordinator's word.
    if (reviewBase !== undefined && reviewBase === workspace.baseBranch) throw new NoReviewBaseError(workspace.baseBranch, reviewBase, 'given');
    if (reviewBase === undefined && args.findReviewBase) {
      // A reviewer's workspace starts from the branch under review: its baseBranch is that branch.
      const found = await deps.workspaces.defaultBranch(workspace, op);
      if (found === undefined || found === workspace.baseBranch) throw new NoReviewBaseError(workspace.baseBranch, found);
      // An agent's branch is no base: where the branch under review forks from it can hold gates an agent rewrote.
      if (isAgentBranch(found)) throw new NoReviewBaseError(workspace.baseBranch, found, 'agent');
      reviewBase = found;
    }
    if (reviewBase === undefined) return workspace;
    const baseSha = await deps.workspaces.reviewBase(workspace, reviewBase, op);
    // A default branch that already holds the whole branch (the same commit by another name) forks
    // from it at its tip: the gates would be the branch's own, and its diff empty.
    if (args.reviewBase === undefined && baseSha === workspace.baseSha) throw new NoReviewBaseError(workspace.baseBranch, reviewBase, 'holds');
    return { mirrorPath: workspace.mirrorPath, baseSha, reviewBase };
  };

  return {
    /** The profile's gates checked against the base commit before the first model call; runs nothing. */
    async resolveGates(args: ResolveGatesInput): Promise<GateResolution> {
      const base = await gateBase(args);
      const definitions = await installedDefinitions(args, withoutNetworkBuilds(await baseDefinitions(base, args.workspace.path), deps.networkOff));
      const gates = profileGates(args.profile, args.customGates);
      return {
        source: definitions.source,
        unavailable: unavailableGates(gates, definitions, { profile: args.profile, hasReviewer: deps.review !== undefined }),
        ...(args.reviewBase === undefined && base.reviewBase !== undefined ? { reviewBase: base.reviewBase } : {}),
      };
    },

    async runGates(args: RunGatesInput): Promise<RunGatesResult> {
      const op = currentOperation();
      const wanted = profileGates(args.profile, args.customGates).filter((g) => PRE_COMMIT_GATES.includes(g) === (args.phase === 'pre-commit'));
      const reportRequired = deps.coordinator !== undefined;
      if (wanted.length === 0) return { results: [], passed: true, feedback: '', reportRequired };
      const { workspaces } = deps;
      const ws = args.workspace;
      const treeish = args.commitSha ?? (await workspaces.stagedTree(ws, op));
      if (typeof treeish !== 'string' && 'refused' in treeish) {
        return settle(args, wanted.map((name) => ({ name, outcome: 'error', durationMs: 0, detail: treeish.refused })), reportRequired);
      }
      const tree = typeof treeish === 'string' ? treeish : treeish.tree;

      const base = await gateBase(args, op);
      // A reviewer's change is the branch under review from its gate base: the workspace's own diff
      // starts at the branch's tip, where nothing has changed, and would pass the AI review empty.
      const reviewedDiff = () => (base.reviewBase === undefined ? workspaces.diffAgainstBase(ws) : workspaces.diffBetween(ws, base.baseSha, tree));
      const readBase = (rel: string) => workspaces.readAtBase(base, rel, op);
      const baseFiles = await baseGateFiles(readBase, (rel) => workspaces.readAt(ws, tree, rel, op));
      const unchangedAtBase = await unchangedRootEntries(workspaces, base, tree, op);
      const checkout = await workspaces.checkoutForGates(ws, args.agentId, tree, {
        ...op,
        overrides: baseFiles.overrides,
        remove: [baseFiles.summaryPath],
        fromCommit: { commit: base.baseSha, paths: RUNNER_FILES },
      });
      const { dir } = checkout;
      const sandboxUser = deps.runtime.sandboxUser;
      try {
        const walkOp = { signal: op.signal, onProgress: () => op.heartbeat() };
        if (sandboxUser) await giveToSandboxUser(dir, sandboxUser, undefined, walkOp);
        const definitions = withoutNetworkBuilds(await baseDefinitions(base, dir), deps.networkOff);
        const review = deps.review;
        let paid: { costUsd?: number; spentUsd?: number; refused?: BudgetBreach } = {};
        const ran = await deps.runtime.withRunner({ agentId: args.agentId, taskId: args.taskId, dir, signal: op.signal }, async (runner) => {
          const results = await runGates({
            definitions,
            runner: guardDisk(runner, { worktree: dir, name: 'the gate checkout', budget: deps.diskBudget }),
            gates: wanted,
            timeoutMs: deps.gateTimeoutMs,
            coverageThreshold: deps.coverageThreshold,
            commitSha: args.commitSha,
            review: review
              ? async ({ signal }) => {
                  const request = { agentId: args.agentId, taskId: args.taskId, phase: args.phase, round: args.round, diff: await reviewedDiff() };
                  try {
                    const done = await paidReview({ ...deps.paidReviews, review, redact: deps.redact }, { ...request, costLeftUsd: args.costLeftUsd, countedUsd: args.countedUsd }, { signal, heartbeat: op.onProgress });
                    paid = { ...(done.paidUsd > 0 ? { costUsd: done.paidUsd } : {}), spentUsd: done.spentUsd };
                    return done.verdict;
                  } catch (err) {
                    if (err instanceof CallOverBudgetError) paid = { refused: err.breach };
                    throw err;
                  }
                }
              : undefined,
            redact: deps.redact,
            unchangedAtBase,
            // What an earlier gate's project code wrote over the base's files is put back before each command.
            beforeEachCommand: async () => {
              const written = await checkout.restore();
              if (sandboxUser) for (const rel of written) await giveToSandboxUser(dir, sandboxUser, rel, walkOp);
            },
            signal: op.signal,
            onProgress: () => op.heartbeat(),
          });
          // A gate whose program is not installed, or that needed the network, is missing, not a failure of the agent's work.
          const installed = await withAbsentProgramsMissing(results, runner, definitions, op.signal);
          // Not with missingGates "skip": a missing gate is skipped there, and the agent's code can print the line.
          return withNameResolutionMissing(installed, deps.networkOff, (gate) => args.missingGates !== 'skip' && missingFails(args.profile, gate));
        });
        const results = args.missingGates === 'skip' ? ran.map((r) => (r.outcome === 'missing' ? { ...r, outcome: 'skipped' as const } : r)) : ran;
        return { ...(await settle(args, results, reportRequired)), ...paid, ...(args.commitSha ? {} : { tree }) };
      } finally {
        await workspaces.removeGateCheckout(args.agentId);
      }
    },

    /** Sends gate results to the coordinator; null when none is configured. Retried by policy until delivered. */
    async reportToCoordinator(report: CoordinatorReport): Promise<{ approved: boolean; reason?: string } | null> {
      return deps.coordinator ? deps.coordinator.reportGates(report) : null;
    },
  };
}

function judge(args: RunGatesInput, results: GateResult[], reportRequired: boolean): RunGatesResult {
  const evaluation = evaluateGates(args.profile, results);
  const unavailable = results.filter((r) => r.outcome === 'missing').map((r) => ({ name: r.name, detail: r.detail ?? 'missing', required: missingFails(args.profile, r.name) }));
  return {
    results,
    passed: evaluation.passed,
    feedback: evaluation.passed ? '' : formatGateFeedback(evaluation.failing, args.round, args.maxRounds),
    reportRequired,
    ...(unavailable.length > 0 ? { unavailable } : {}),
  };
}

/**
 * What the gate checkout takes from the base commit instead of the agent's tree: the gates file,
 * and the `scripts` of package.json (the rest of it, dependencies included, stays the agent's).
 * Also where the coverage summary is, so a committed one can be dropped.
 */
async function baseGateFiles(
  readBase: (rel: string) => Promise<string | undefined>,
  readAgent: (rel: string) => Promise<string | undefined>,
): Promise<{ overrides: Record<string, string>; summaryPath: string }> {
  const overrides: Record<string, string> = {};
  let summaryPath = DEFAULT_COVERAGE_SUMMARY_PATH;
  const gatesFile = await readBase(GATES_FILE);
  if (gatesFile !== undefined) {
    overrides[GATES_FILE] = gatesFile;
    summaryPath = parseGatesFile(gatesFile).coverage?.summaryPath ?? summaryPath;
  }
  const basePackage = parseObject(await readBase('package.json'));
  if (basePackage) {
    // A package.json the agent broke, linked or removed is replaced whole by the base's.
    const agentPackage = parseObject(await readAgent('package.json').catch(() => undefined)) ?? basePackage;
    const merged: Record<string, unknown> = { ...agentPackage, scripts: basePackage.scripts };
    if (basePackage.scripts === undefined) delete merged.scripts;
    overrides['package.json'] = `${JSON.stringify(merged, null, 2)}\n`;
  }
  return { overrides, summaryPath };
}

/** Root names whose entry in `tree` is the base commit's, same mode and content: the project's own, not the agent's. */
async function unchangedRootEntries(
  workspaces: GateActivityDeps['workspaces'],
  ws: GateBase,
  tree: string,
  op: OperationOptions,
): Promise<Set<string>> {
  const [base, ours] = await Promise.all([workspaces.rootEntriesAtBase(ws, op), workspaces.rootEntriesAt(ws, tree, op)]);
  return new Set([...ours].filter(([name, entry]) => base.get(name)?.oid === entry.oid && base.get(name)?.mode === entry.mode).map(([name]) => name));
}

function parseObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const json: unknown = JSON.parse(text);
    return json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export type GateActivities = ReturnType<typeof createGateActivities>;
