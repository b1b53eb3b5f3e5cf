/**
 * Gate activities: the quality gates of one phase, and the report to the coordinator.
 * Gate definitions come from the agent's base commit, so an agent cannot weaken its own gates.
 */
import type { AgentType, GateProfile, SandboxInfo, WorkspaceInfo } from '../../domain/agent';
import { PRE_COMMIT_GATES, type GateName, type GatePhase, type GateResult, type ReviewVerdict } from '../../domain/gates';
import { addUsd } from '../../domain/pricing';
import type { GitWorkspaces } from '../git';
import { currentOperation } from '../operation';
import type { CoordinatorPort } from '../ports';
import type { RunnerFor } from '../tools/runner-for';
import { resolveGateCommands } from './definitions';
import { formatGateFeedback } from './feedback';
import { evaluateGates, profileGates } from './profiles';
import { runGates } from './run-gates';

export type ReviewFn = (args: { taskId: string; diff: string }, ctx: { signal?: AbortSignal; heartbeat?: () => void }) => Promise<ReviewVerdict>;

export interface GateActivityDeps {
  workspaces: Pick<GitWorkspaces, 'readAtBase' | 'diffAgainstBase'>;
  runnerFor: RunnerFor;
  /** The AI review (a model call); the `review` gate is `missing` without it. */
  review?: ReviewFn;
  /** Absent when COORDINATOR_URL is not set. */
  coordinator?: CoordinatorPort;
  gateTimeoutMs: number;
  coverageThreshold: number;
  /** Applied to gate output before it leaves the worker (secrets out). */
  redact?: (text: string) => string;
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
}

export type CoordinatorReport = Parameters<CoordinatorPort['reportGates']>[0];

export function createGateActivities(deps: GateActivityDeps) {
  return {
    async runGates(args: RunGatesInput): Promise<RunGatesResult> {
      const op = currentOperation();
      const wanted = profileGates(args.profile, args.customGates).filter((g) => PRE_COMMIT_GATES.includes(g) === (args.phase === 'pre-commit'));
      const reportRequired = deps.coordinator !== undefined;
      if (wanted.length === 0) return { results: [], passed: true, feedback: '', reportRequired };
      const review = deps.review;
      let costUsd = 0;
      const results = await runGates({
        runner: deps.runnerFor(args.workspace, args.sandbox),
        definitions: await resolveGateCommands(args.workspace.path, { readWorkspaceFile: (rel) => deps.workspaces.readAtBase(args.workspace, rel) }),
        gates: wanted,
        timeoutMs: deps.gateTimeoutMs,
        coverageThreshold: deps.coverageThreshold,
        commitSha: args.commitSha,
        review: review
          ? async ({ signal }) => {
              const verdict = await review({ taskId: args.taskId, diff: await deps.workspaces.diffAgainstBase(args.workspace) }, { signal, heartbeat: op.onProgress });
              costUsd = addUsd(costUsd, verdict.costUsd ?? 0);
              return verdict;
            }
          : undefined,
        redact: deps.redact,
        signal: op.signal,
        onProgress: () => op.heartbeat(),
      });
      const evaluation = evaluateGates(args.profile, results);
      return {
        results,
        passed: evaluation.passed,
        feedback: evaluation.passed ? '' : formatGateFeedback(evaluation.failing, args.round, args.maxRounds),
        reportRequired,
        ...(costUsd > 0 ? { costUsd } : {}),
      };
    },

    /** Sends gate results to the coordinator; null when none is configured. Retried by policy until delivered. */
    async reportToCoordinator(report: CoordinatorReport): Promise<{ approved: boolean; reason?: string } | null> {
      return deps.coordinator ? deps.coordinator.reportGates(report) : null;
    },
  };
}

export type GateActivities = ReturnType<typeof createGateActivities>;
