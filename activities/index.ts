/**
 * All activities of the agentRun workflow, built by one factory from their dependencies.
 * Only worker/ wires real clients; tests can build activities from their own.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type Anthropic from '@anthropic-ai/sdk';
import type { AgentContext, AgentRunInput, AgentStatusView, AgentType, GateProfile, SandboxInfo, WorkspaceInfo } from '../domain/agent';
import { FAILURE_TYPES } from '../domain/agent';
import type { GateName, GatePhase, GateResult } from '../domain/gates';
import type { AgentStateStore } from './state/agent-state-store';
import type { TranscriptStore } from './state/transcript-store';
import { runModelTurn, assistantText, type ModelTurnInput } from './model/model-turn';
import { initialUserMessage, REVIEW_SYSTEM_PROMPT } from './model/prompts';
import { classifyModelError } from './model/classify-error';
import { executeToolBatch } from './tools/execute-tools';
import { LocalRunner } from './tools/local-runner';
import type { CommandRunner } from './tools/runner';
import type { CoordinatorPort, SandboxPort } from './ports';
import type { GitWorkspaces } from './git';
import { evaluateGates, formatGateFeedback, profileGates, resolveGateCommands, runGates as runGateCommands } from './gates';
import { PRE_COMMIT_GATES } from '../domain/gates';
import { readAtBase } from './read-at-base';
import { TypedError } from './typed-error';
import { giveToSandboxUser } from './tools/ownership';
import { ALLOWLIST_FILE, loadAllowlist, scanAddedLines, type SecretFinding } from '../scanner';

export interface ActivityDeps {
  states: AgentStateStore;
  transcripts: TranscriptStore;
  anthropic: Anthropic;
  workspaces: GitWorkspaces;
  /** Absent when SANDBOX_ENABLED is false: commands then run in the confined local runner. */
  sandbox?: SandboxPort;
  /** Absent when COORDINATOR_URL is not set. */
  coordinator?: CoordinatorPort;
  settings: {
    model: string;
    maxTokensPerTurn: number;
    modelRequestTimeoutMs: number;
    toolTimeoutMs: number;
    toolOutputMaxBytes: number;
    stateTtlSeconds: number;
    gateTimeoutMs: number;
    coverageThreshold: number;
    sandboxUser: { uid: number; gid: number };
  };
  /** Applied to gate output before it leaves the worker (secrets out). */
  redact?: (text: string) => string;
}

/** Heartbeat and cancellation of the current activity, for long operations. */
function activityOp() {
  const ctx = Context.current();
  return { signal: ctx.cancellationSignal, onProgress: () => ctx.heartbeat(), heartbeat: (d?: unknown) => ctx.heartbeat(d) };
}

/** Our modules' errors become failures with their `type`: non-retryable for bad input and policy refusals. */
const NON_RETRYABLE_TYPES = new Set<string>([
  FAILURE_TYPES.invalidInput,
  FAILURE_TYPES.pathOutsideWorkspace,
  FAILURE_TYPES.sandboxUnavailable,
  FAILURE_TYPES.modelRequestRejected,
  'CoordinatorRejected',
]);

async function classified<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApplicationFailure || !(err instanceof TypedError)) throw err;
    if (!err.retryable || NON_RETRYABLE_TYPES.has(err.type)) throw ApplicationFailure.nonRetryable(err.message, err.type);
    throw ApplicationFailure.retryable(err.message, err.type);
  }
}

export function createActivities(deps: ActivityDeps) {
  const { states, transcripts, settings } = deps;

  function runnerFor(ws: WorkspaceInfo, sandbox?: SandboxInfo): CommandRunner {
    if (sandbox && deps.sandbox) return deps.sandbox.runner(sandbox);
    return new LocalRunner(ws.path);
  }

  return {
    /** Writes the Valkey projection; sequence-guarded, so retries are harmless. */
    async recordState(args: { seq: number; view: AgentStatusView; context?: AgentContext; reason?: string; at: string }): Promise<boolean> {
      const { applied } = await states.write(args);
      if (args.view.status === 'completed' || args.view.status === 'failed' || args.view.status === 'killed') {
        await transcripts.expire(args.view.agentId, settings.stateTtlSeconds);
      }
      return applied;
    },

    async prepareWorkspace(args: { agentId: string; taskId: string; repository: string; baseBranch: string }): Promise<WorkspaceInfo> {
      return classified(() => deps.workspaces.prepare({ ...args, ...activityOp() }));
    },

    /** Starts the agent's container; returns null when the sandbox is disabled. */
    async startSandbox(args: { agentId: string; taskId: string; workspace: WorkspaceInfo }): Promise<SandboxInfo | null> {
      if (!deps.sandbox) return null;
      const sandbox = deps.sandbox;
      // The container runs as the worktree's owner: never let that be root.
      await giveToSandboxUser(args.workspace.path, settings.sandboxUser);
      return classified(() =>
        sandbox.start({ agentId: args.agentId, taskId: args.taskId, workspacePath: args.workspace.path, signal: activityOp().signal }),
      );
    },

    /** Stores the first user message (index 0) and returns the message count. */
    async writeInitialPrompt(args: { agentId: string; input: Pick<AgentRunInput, 'taskId' | 'agentType' | 'context'> }): Promise<number> {
      await transcripts.put(args.agentId, 0, { role: 'user', content: initialUserMessage(args.input) });
      return 1;
    },

    async modelTurn(args: ModelTurnInput) {
      const op = activityOp();
      return runModelTurn(
        { anthropic: deps.anthropic, transcripts, model: settings.model, maxTokensPerTurn: settings.maxTokensPerTurn, requestTimeoutMs: settings.modelRequestTimeoutMs },
        args,
        { signal: op.signal, heartbeat: op.onProgress },
      );
    },

    async executeTools(args: { agentId: string; messageIndex: number; readOnly: boolean; workspace: WorkspaceInfo; sandbox?: SandboxInfo }) {
      const op = activityOp();
      return executeToolBatch(
        {
          transcripts,
          runner: runnerFor(args.workspace, args.sandbox),
          hostRoot: args.workspace.path,
          timeoutMs: settings.toolTimeoutMs,
          maxOutputBytes: settings.toolOutputMaxBytes,
        },
        { agentId: args.agentId, messageIndex: args.messageIndex, readOnly: args.readOnly },
        op,
      );
    },

    /** Gives the agent a user turn (gate failures, blocked commits). Idempotent per index. */
    async appendFeedback(args: { agentId: string; index: number; text: string }): Promise<void> {
      await transcripts.put(args.agentId, args.index, { role: 'user', content: args.text });
    },

    async runGates(args: {
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
    }): Promise<{ results: GateResult[]; passed: boolean; feedback: string }> {
      const op = activityOp();
      const wanted = profileGates(args.profile, args.customGates).filter((g) => PRE_COMMIT_GATES.includes(g) === (args.phase === 'pre-commit'));
      if (wanted.length === 0) return { results: [], passed: true, feedback: '' };
      const results = await classified(async () =>
        runGateCommands({
          runner: runnerFor(args.workspace, args.sandbox),
          // Gate definitions come from the base commit, so an agent cannot weaken its own gates.
          definitions: await resolveGateCommands(args.workspace.path, { readWorkspaceFile: (rel) => readAtBase(args.workspace, rel) }),
          gates: wanted,
          timeoutMs: settings.gateTimeoutMs,
          coverageThreshold: settings.coverageThreshold,
          commitSha: args.commitSha,
          review: () => reviewDiff(args.taskId, args.workspace, op.signal, op.onProgress),
          redact: deps.redact,
          signal: op.signal,
          onProgress: () => op.heartbeat(),
        }),
      );
      const evaluation = evaluateGates(args.profile, results);
      return { results, passed: evaluation.passed, feedback: evaluation.passed ? '' : formatGateFeedback(evaluation.failing, args.round, args.maxRounds) };
    },

    /** Stages everything and scans the added lines; findings come back redacted. */
    async scanStagedChanges(args: { workspace: WorkspaceInfo }): Promise<{ findings: SecretFinding[] }> {
      await deps.workspaces.stageAll(args.workspace);
      const diff = await deps.workspaces.stagedDiff(args.workspace);
      // The repository's accepted values come from its base commit: an agent cannot allowlist its own leak.
      const allowText = await readAtBase(args.workspace, ALLOWLIST_FILE);
      return { findings: scanAddedLines(diff, { allowlist: allowText ? loadAllowlist(allowText) : undefined }).findings };
    },

    async commitChanges(args: { workspace: WorkspaceInfo; agentId: string; taskId: string; agentType: AgentType }) {
      return deps.workspaces.commit(args.workspace, `${args.taskId}: work by ${args.agentType} agent ${args.agentId}\n\nAgent-Id: ${args.agentId}\nTask-Id: ${args.taskId}\n`);
    },

    async headSha(args: { workspace: WorkspaceInfo }): Promise<string> {
      return deps.workspaces.headSha(args.workspace);
    },

    /** Sends gate results to the coordinator; null when none is configured. Retried by policy until delivered. */
    async reportToCoordinator(report: Parameters<CoordinatorPort['reportGates']>[0]): Promise<{ approved: boolean; reason?: string } | null> {
      if (!deps.coordinator) return null;
      const coordinator = deps.coordinator;
      return classified(() => coordinator.reportGates(report));
    },

    async checkMergeable(args: { workspace: WorkspaceInfo }) {
      return classified(() => deps.workspaces.checkMergeable(args.workspace, activityOp()));
    },

    async pushBranch(args: { workspace: WorkspaceInfo }) {
      return classified(() => deps.workspaces.push(args.workspace, activityOp()));
    },

    /**
     * Stops the sandbox gracefully, salvages uncommitted work when asked, removes the worktree.
     * Every step runs even if an earlier one failed; the first error is rethrown so the
     * activity is retried (each step is idempotent).
     */
    async cleanupAgent(args: { agentId: string; workspace?: WorkspaceInfo; sandbox?: SandboxInfo; salvage: boolean }) {
      const op = activityOp();
      const errors: unknown[] = [];
      let sandboxStop: Awaited<ReturnType<SandboxPort['stop']>> | undefined;
      let salvageRef: string | undefined;
      if (args.sandbox && deps.sandbox) {
        op.heartbeat('stopping sandbox');
        sandboxStop = await deps.sandbox.stop(args.sandbox).catch((e: unknown) => void errors.push(e));
      }
      // Killed while preparing: the worktree may exist without the workflow knowing its path.
      const listed = args.workspace ? undefined : (await deps.workspaces.listWorktrees()).find((w) => w.agentId === args.agentId);
      const location = args.workspace ?? (listed?.mirrorPath ? { path: listed.path, mirrorPath: listed.mirrorPath } : undefined);
      if (location) {
        op.heartbeat('salvaging');
        if (args.salvage) {
          const salvaged = await deps.workspaces.salvage(location, args.agentId, op).catch((e: unknown) => void errors.push(e));
          salvageRef = salvaged?.ref;
        }
        // Never remove a worktree whose work could not be salvaged (remove() salvages a dirty one itself).
        if (errors.length === 0) {
          const removed = await deps.workspaces.remove(location, op).catch((e: unknown) => void errors.push(e));
          salvageRef ??= removed?.salvage?.ref;
        }
      }
      if (errors.length) throw errors[0];
      return { salvageRef, oomKilled: sandboxStop?.oomKilled ?? false, sandboxExitCode: sandboxStop?.exitCode };
    },
  };

  async function reviewDiff(taskId: string, ws: WorkspaceInfo, signal: AbortSignal, heartbeat: () => void): Promise<{ approved: boolean; summary: string }> {
    const diff = await deps.workspaces.diffAgainstBase(ws);
    if (!diff.trim()) return { approved: true, summary: 'No changes to review.' };
    // A review can take a while: keep heartbeating so the gate activity is not timed out.
    const beat = setInterval(heartbeat, 1000);
    try {
      const response = await deps.anthropic.messages.create(
        {
          model: settings.model,
          max_tokens: 2048,
          system: REVIEW_SYSTEM_PROMPT,
          messages: [{ role: 'user', content: `Task: ${taskId}\n\nReview this diff:\n\n${diff.slice(0, 200_000)}` }],
        },
        { signal, timeout: settings.modelRequestTimeoutMs, maxRetries: 0 },
      );
      const text = assistantText(response.content as Anthropic.ContentBlockParam[]);
      return { approved: /VERDICT:\s*APPROVE/i.test(text), summary: text.slice(-4000) };
    } catch (err) {
      if (signal.aborted) throw signal.reason ?? err;
      throw classifyModelError(err);
    } finally {
      clearInterval(beat);
    }
  }
}

export type Activities = ReturnType<typeof createActivities>;
