/**
 * Sandbox activities: where the agent's commands run. `startSandbox` prepares the agent's
 * sandbox (its container, with Docker); `executeTools` runs one assistant message's tool calls
 * there and stores the results as the next user message, then holds the worktree to its disk
 * budget.
 */
import type { SandboxInfo, WorkspaceInfo } from '../../domain/agent';
import { joinBounded } from '../../domain/agent-events';
import { TypedError } from '../../domain/typed-error';
import type { AgentEventLog } from '../../state/agent-events';
import type { TranscriptStore } from '../../state/transcript-store';
import { inspectTree, type TreeInspection } from '../git/inspect-tree';
import { currentOperation, type Operation } from '../operation';
import type { WorkspaceCheckpoints } from '../checkpoints';
import type { SandboxRuntime } from '../ports';
import { executeToolBatch } from '../tools/execute-tools';
import { UnsafePathError } from '../tools/safe-fs';
import { giveToSandboxUser } from '../tools/ownership';
import type { RunnerFor } from '../tools/runner-for';

/** What a tool batch reports to the workflow: counts and one bounded line for the Web UI. */
export interface ExecuteToolsResult {
  toolCalls: number;
  failed: number;
  reused: boolean;
  /** `bash: npm test → exit 1; edit: create a.ts → ok`, redacted and bounded. */
  digest: string;
  /** The workspace checkpoint saved with the results; absent when the batch ran before (a retry). */
  checkpoint?: { turn: number; packBytes: number; totalBytes: number };
}

export interface SandboxActivityDeps {
  runtime: SandboxRuntime;
  /** Saves the worktree after each batch, together with its results. */
  checkpoints: Pick<WorkspaceCheckpoints, 'save'>;
  runnerFor: RunnerFor;
  transcripts: TranscriptStore;
  events: AgentEventLog;
  redact: (text: string) => string;
  toolTimeoutMs: number;
  toolOutputMaxBytes: number;
  /** WORKSPACE_MAX_MB in bytes: a worktree and home larger than this together after a tool batch fail the run. */
  workspaceMaxBytes: number;
  /** Where the agent's home is on this host (host/agent-homes.ts); it counts toward the disk budget. */
  homeOf?: (agentId: string) => string;
}

export interface StartSandboxInput {
  agentId: string;
  taskId: string;
  workspace: WorkspaceInfo;
  /** Reviewers: the worktree is mounted read-only for their commands too. */
  readOnly?: boolean;
}

export interface ExecuteToolsInput {
  agentId: string;
  /** The turn whose tool calls these are: names the workspace checkpoint saved after them and the batch's event; absent in histories recorded before events (saved as turn 0). */
  turn?: number;
  /** Index of the user message to write; the tool calls are in the message before it. */
  messageIndex: number;
  readOnly: boolean;
  workspace: WorkspaceInfo;
  sandbox?: SandboxInfo;
}

/** The worktree grew past WORKSPACE_MAX_MB: the run ends, the disk is not the agent's to fill. */
export class WorkspaceTooLargeError extends TypedError {
  readonly type = 'WorkspaceTooLarge';
}

export function createSandboxActivities(deps: SandboxActivityDeps) {
  const runBatch = createToolBatchRunner(deps);
  return {
    /** Prepares the agent's sandbox: its container with Docker, nothing per agent otherwise; null when there is nothing to stop later. */
    async startSandbox(args: StartSandboxInput): Promise<SandboxInfo | null> {
      const { runtime } = deps;
      // Sandboxed commands run as the worktree's owner: never let that be root.
      if (runtime.sandboxUser) await giveToSandboxUser(args.workspace.path, runtime.sandboxUser);
      return runtime.start({
        agentId: args.agentId,
        taskId: args.taskId,
        workspacePath: args.workspace.path,
        readOnly: args.readOnly ?? false,
        signal: currentOperation().signal,
      });
    },

    /** Runs one tool batch (createToolBatchRunner) under this activity's cancellation and heartbeat. */
    async executeTools(args: ExecuteToolsInput): Promise<ExecuteToolsResult> {
      return runBatch(args, currentOperation());
    },
  };
}

/**
 * One tool batch: runs it (once per message index), holds the worktree to its disk budget, then
 * saves the workspace checkpoint of this turn and the results in one transaction: results stored
 * means the files they describe are saved outside this host. Appends the batch's event, also when
 * this is a retry. A function of the operation, not an activity: `executeTools` runs it, and so
 * does the turn activity (activities/turn/) with a signal that cleanup can also fire.
 */
export function createToolBatchRunner(deps: SandboxActivityDeps): (args: ExecuteToolsInput, op: Operation) => Promise<ExecuteToolsResult> {
  return async (args, op) => {
    const turn = args.turn ?? 0;
    let checkpoint: ExecuteToolsResult['checkpoint'];
    const { outcomes, ...batch } = await executeToolBatch(
      {
        transcripts: deps.transcripts,
        redact: deps.redact,
        store: async (index, message) => {
          const { nestedGit } = await checkDiskBudget(args.workspace.path, deps.homeOf?.(args.agentId), deps.workspaceMaxBytes, op);
          op.heartbeat('saving checkpoint');
          const saved = await deps.checkpoints.save(args.workspace, args.agentId, turn, { message: { index, message }, nestedGit, signal: op.signal, onProgress: op.onProgress });
          checkpoint = { turn: saved.turn, packBytes: saved.packBytes, totalBytes: saved.totalBytes };
        },
        runner: deps.runnerFor(args.workspace, args.sandbox, { readOnly: args.readOnly }),
        hostRoot: args.workspace.path,
        timeoutMs: deps.toolTimeoutMs,
        maxOutputBytes: deps.toolOutputMaxBytes,
      },
      { agentId: args.agentId, messageIndex: args.messageIndex, readOnly: args.readOnly },
      op,
    );
    const failed = outcomes.filter((line) => !/ → (ok|exit 0)$/.test(line)).length;
    await deps.events.append(
      { type: 'tools', agentId: args.agentId, turn, tools: outcomes, failed, at: new Date().toISOString() },
      { dedupKey: `tools:${args.messageIndex}` },
    );
    return { ...batch, digest: joinBounded(outcomes), ...(checkpoint ? { checkpoint } : {}) };
  };
}

/** The worktree's walk, refused past the disk budget; the checkpoint reuses its list of nested repositories. */
async function checkDiskBudget(worktree: string, home: string | undefined, maxBytes: number, op: { signal: AbortSignal; onProgress: () => void }): Promise<TreeInspection> {
  const walk = { signal: op.signal, onProgress: op.onProgress, countInsideGit: true };
  const inspection = await inspectTree(worktree, { ...walk, stopAtBytes: maxBytes });
  const mb = (n: number) => Math.round(n / (1024 * 1024));
  if (inspection.bytes > maxBytes) {
    throw new WorkspaceTooLargeError(`the worktree holds more than ${mb(maxBytes)} MB after the last tool batch (WORKSPACE_MAX_MB=${mb(maxBytes)}); the run is stopped`);
  }
  // The home is the agent's to fill as well: it shares the budget (a home not made yet holds nothing).
  const homeBytes = home ? await inspectTree(home, { ...walk, stopAtBytes: maxBytes - inspection.bytes }).then((h) => h.bytes, missingIsEmpty) : 0;
  if (inspection.bytes + homeBytes > maxBytes) {
    throw new WorkspaceTooLargeError(`the worktree and the agent's home hold more than ${mb(maxBytes)} MB after the last tool batch (WORKSPACE_MAX_MB=${mb(maxBytes)}); the run is stopped`);
  }
  return inspection;
}

function missingIsEmpty(err: unknown): number {
  if (err instanceof UnsafePathError && err.reason === 'not-found') return 0;
  throw err;
}

export type SandboxActivities = ReturnType<typeof createSandboxActivities>;
