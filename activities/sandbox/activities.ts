/**
 * Sandbox activities: where the agent's commands run. `startSandbox` prepares the agent's
 * sandbox (its container, with Docker); `executeTools` runs one assistant message's tool calls
 * there and stores the results as the next user message, holding the worktree to its disk
 * budget while the commands run and after them (disk-budget.ts).
 */
import { access } from 'node:fs/promises';
import type { SandboxInfo, WorkspaceInfo } from '../../domain/agent';
import { WorkspaceLostError } from '../git/errors';
import { joinBounded } from '../../domain/agent-events';
import type { AgentEventLog } from '../../state/agent-events';
import type { TranscriptStore } from '../../state/transcript-store';
import { checkDiskBudget, guardDisk, type DiskBudget } from './disk-budget';
import { currentOperation, type Operation } from '../operation';
import type { WorkspaceCheckpoints } from '../checkpoints';
import type { SandboxRuntime } from '../ports';
import { executeToolBatch } from '../tools/execute-tools';
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
  /** WORKSPACE_MAX_MB and WORKSPACE_MAX_FILES: what the worktree and home may hold together (disk-budget.ts). */
  diskBudget: DiskBudget;
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

export function createSandboxActivities(deps: SandboxActivityDeps) {
  const runBatch = createToolBatchRunner(deps);
  return {
    /** Prepares the agent's sandbox: its container with Docker, nothing per agent otherwise; null when there is nothing to stop later. */
    async startSandbox(args: StartSandboxInput): Promise<SandboxInfo | null> {
      const { runtime } = deps;
      // Sandboxed commands run as the worktree's owner: never let that be root.
      const op = currentOperation();
      if (runtime.sandboxUser) await giveToSandboxUser(args.workspace.path, runtime.sandboxUser, undefined, { signal: op.signal, onProgress: () => op.heartbeat() });
      return runtime.start({
        agentId: args.agentId,
        taskId: args.taskId,
        workspacePath: args.workspace.path,
        readOnly: args.readOnly ?? false,
        signal: op.signal,
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
    await assertWorkspaceOnDisk(args.workspace);
    const turn = args.turn ?? 0;
    const home = deps.homeOf?.(args.agentId);
    let checkpoint: ExecuteToolsResult['checkpoint'];
    const { outcomes, ...batch } = await executeToolBatch(
      {
        transcripts: deps.transcripts,
        redact: deps.redact,
        store: async (index, message) => {
          const inspected = await checkDiskBudget(args.workspace.path, home, deps.diskBudget, op);
          op.heartbeat('saving checkpoint');
          const saved = await deps.checkpoints.save(args.workspace, args.agentId, turn, { message: { index, message }, inspected, signal: op.signal, onProgress: op.onProgress });
          checkpoint = { turn: saved.turn, packBytes: saved.packBytes, totalBytes: saved.totalBytes };
        },
        runner: guardDisk(deps.runnerFor(args.workspace, args.sandbox, { readOnly: args.readOnly }), { worktree: args.workspace.path, home, budget: deps.diskBudget }),
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

/**
 * A worktree and mirror both gone from this host's disk: the host lost them (WorkspaceLost), and
 * the run moves to another host. Without this, the batch failed on the missing directory as any
 * other error, retried for minutes on the same empty disk, then failed the run.
 */
async function assertWorkspaceOnDisk(ws: WorkspaceInfo): Promise<void> {
  const present = async (p: string) => access(p).then(() => true, () => false);
  if (!(await present(ws.path)) && !(await present(ws.mirrorPath))) throw new WorkspaceLostError(`the worktree ${ws.path} is gone from host ${ws.host?.id ?? '?'}`);
}

export type SandboxActivities = ReturnType<typeof createSandboxActivities>;
