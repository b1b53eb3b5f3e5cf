/**
 * The contract between the API, the workflow and the activities: names, inputs, results.
 * Pure types and constants only, so workflow code can import it.
 */
import type { AgentStatus } from './lifecycle';
import type { GateName, GateResult, MissingGatesPolicy } from './gates';
import type { WorkItemRef } from './task';
import type { AgentBudgets, BudgetName } from './budgets';
import type { ReviewOutcome } from './review';

export type { AgentBudgets } from './budgets';

export const AGENT_TYPES = ['worker', 'reviewer', 'tester'] as const;
export type AgentType = (typeof AGENT_TYPES)[number];

export const GATE_PROFILES = ['strict', 'standard', 'minimal', 'custom'] as const;
export type GateProfile = (typeof GATE_PROFILES)[number];

export const DEFAULT_GATE_PROFILE: Readonly<Record<AgentType, GateProfile>> = {
  worker: 'standard',
  reviewer: 'strict',
  tester: 'minimal',
};

export const WORKFLOW_TYPE = 'agentRun';
export const KILL_SIGNAL = 'kill';
export const STATUS_QUERY = 'status';
export const DEFAULT_PRIORITY = 5;

export function workflowIdFor(agentId: string): string {
  return `agent-${agentId}`;
}

export function agentIdFromWorkflowId(workflowId: string): string | undefined {
  return workflowId.startsWith('agent-') ? workflowId.slice('agent-'.length) : undefined;
}

/** Branch an agent works on: `agent/<taskId>/<first 8 chars of agentId>`. */
export function agentBranchName(taskId: string, agentId: string): string {
  return `agent/${taskId}/${agentId.slice(0, 8)}`;
}

export interface AgentContext {
  repository: string;
  branch: string;
  /** What to do, in the coordinator's words (at most 32 KB). */
  instructions?: string;
  /** Reviewers: the base the branch under review (`branch`) is compared with. */
  baseBranch?: string;
  workItems: WorkItemRef[];
  skills: string[];
  /** Gate names for the `custom` profile. */
  gates?: GateName[];
}

/** The context's own fields, nothing else a request or a stored input may carry beside them. */
export function agentContextOf(context: AgentContext): AgentContext {
  return {
    repository: context.repository,
    branch: context.branch,
    ...(context.instructions ? { instructions: context.instructions } : {}),
    ...(context.baseBranch ? { baseBranch: context.baseBranch } : {}),
    workItems: context.workItems,
    skills: context.skills,
    ...(context.gates ? { gates: context.gates } : {}),
  };
}

export interface AgentRunInput {
  agentId: string;
  taskId: string;
  agentType: AgentType;
  gateProfile: GateProfile;
  priority: number;
  context: AgentContext;
  /** ISO time the API accepted the spawn. */
  spawnedAt: string;
  budgets: AgentBudgets;
  /** How many times failed gates / blocked commits go back to the agent before the run fails. */
  maxFeedbackRounds: number;
  /**
   * What to do when the profile's gates are not all defined at the base commit: `fail` (the
   * default) ends the run before the first model call, `skip` reports them `skipped` and goes on.
   */
  missingGates?: MissingGatesPolicy;
  /** Continue-as-new after this many turns in one run (default: when Temporal suggests it). */
  turnsPerRun?: number;
  /**
   * How long an activity bound to the agent's host may wait for that host to pick it up before
   * the agent moves to another host (HOST_FAILOVER_SECONDS). @default 30
   */
  hostFailoverSeconds?: number;
  /** Set only by continue-as-new: where the previous run left off. */
  resume?: AgentLoopCheckpoint;
  /** The agent this run retries (`POST /agents/:id/retry`). */
  retryOf?: string;
  /** The agent and turn this run was forked from (`POST /agents/:id/fork`): it starts with that conversation and worktree. */
  forkOf?: ForkSource;
}

/** A finished agent and one of its turns: a fork starts as that agent was after the turn's tool results. */
export interface ForkSource {
  agentId: string;
  /** 1-based: the fork's conversation is the first `turn` turns (messages `[0, 2 * turn + 1)`). */
  turn: number;
}

export interface AgentLoopCheckpoint {
  workspace: WorkspaceInfo;
  sandbox?: SandboxInfo;
  startedAt: string;
  startedAtMs: number;
  turn: number;
  messageCount: number;
  outputTokens: number;
  inputTokens: number;
  /** Absent in checkpoints of runs started before costs were counted. */
  cacheCreationInputTokens?: number;
  cacheReadInputTokens?: number;
  costUsd?: number;
  stateSeq: number;
  feedbackRounds: number;
  /** The agent's last commit, when gate feedback sent it back to work after committing. */
  commitSha?: string;
  /** Hosts the run lost before (MAX_HOST_MOVES counts the whole run); absent when none, and in checkpoints from before it was kept. */
  lostHosts?: string[];
  /** Answers in a row cut off at max_tokens before the run continued as new; absent when none. */
  cutOffsInARow?: number;
  /** A reviewer's base found at set-up (no `context.baseBranch` given); absent otherwise. */
  reviewBase?: string;
}


/** A worker host: the task queue only its workers poll, for activities that touch its disk or engine. */
export interface WorkerHost {
  id: string;
  taskQueue: string;
}

/** Host ids name task queues, containers and directories: kept to a safe alphabet. */
export const HOST_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export interface WorkspaceInfo {
  /** The host that holds the worktree; every activity touching it runs there. */
  host: WorkerHost;
  /** Absolute path of the agent's worktree on that host. */
  path: string;
  branch: string;
  baseBranch: string;
  baseSha: string;
  /** Bare mirror the worktree belongs to. */
  mirrorPath: string;
  /** `baseSha` is the fixed empty root commit: the repository had no branch to start from (activities/git/empty-base.ts). */
  emptyBase?: true;
}

export interface SandboxInfo {
  containerId: string;
  containerName: string;
}

/** Tokens and dollars of a run so far: what the status, the result and the events report. */
export interface RunUsage {
  /** Input tokens billed at the full input price (after the last cache breakpoint). */
  inputTokens: number;
  outputTokens: number;
  /** Input tokens written to the prompt cache. */
  cacheCreationInputTokens?: number;
  /** Input tokens read from the prompt cache. */
  cacheReadInputTokens?: number;
  /** USD at the price table, all model turns of the run. */
  costUsd?: number;
}

export interface AgentResult extends RunUsage {
  branch?: string;
  commitSha?: string;
  pushed: boolean;
  salvageRef?: string;
  gates?: GateResult[];
  turns: number;
  /** Reviewers: the verdict and findings of their final answer. */
  review?: ReviewOutcome;
}

export interface AgentProgress extends RunUsage {
  turn: number;
  /** The last model turn: its number, cost and the estimated size of what it sent. */
  lastTurn?: { turn: number; costUsd: number; contextTokens?: number };
}

/** What the `status` query, the Valkey projection and `GET /agents/:id/status` carry. */
export interface AgentStatusView {
  agentId: string;
  taskId: string;
  agentType: AgentType;
  status: AgentStatus;
  phase?: AgentPhase;
  spawnedAt: string;
  startedAt?: string;
  completedAt?: string;
  error?: string;
  errorType?: string;
  result?: AgentResult;
  progress?: AgentProgress;
  /** Set when the run failed with `BudgetExceeded`: which budget. */
  exceededBudget?: BudgetName;
  /** The agent this run retries. */
  retryOf?: string;
  /** The agent this run was forked from, and at which of its turns (`forkedAtTurn`). */
  forkOf?: string;
  forkedAtTurn?: number;
}

export interface KillRequest {
  reason?: string;
  requestedBy?: string;
}

export type AgentPhase =
  | 'preparing-workspace'
  | 'starting-sandbox'
  | 'agent-loop'
  | 'pre-commit-gates'
  | 'secret-scan'
  | 'commit'
  | 'post-commit-gates'
  | 'conflict-check'
  | 'push'
  /** A kill arrived and the run is stopping (the workflow's acknowledgement, see api/killswitch.ts). */
  | 'stopping'
  | 'cleanup'
  | 'done';
