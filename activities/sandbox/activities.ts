/**
 * Sandbox activities: where the agent's commands run. `startSandbox` gives the agent its
 * container (when the sandbox is enabled); `executeTools` runs one assistant message's tool
 * calls there (or in the local runner) and stores the results as the next user message.
 */
import type { SandboxInfo, WorkspaceInfo } from '../../domain/agent';
import type { TranscriptStore } from '../../state/transcript-store';
import { currentOperation } from '../operation';
import type { SandboxPort } from '../ports';
import { executeToolBatch, type ToolBatchResult } from '../tools/execute-tools';
import { giveToSandboxUser } from '../tools/ownership';
import type { RunnerFor } from '../tools/runner-for';

export type { ToolBatchResult } from '../tools/execute-tools';

export interface SandboxActivityDeps {
  /** Absent when SANDBOX_ENABLED is false: commands then run in the local runner. */
  sandbox?: SandboxPort;
  runnerFor: RunnerFor;
  transcripts: TranscriptStore;
  toolTimeoutMs: number;
  toolOutputMaxBytes: number;
  /** Owner given to a root-owned worktree before a container mounts it. */
  sandboxUser: { uid: number; gid: number };
}

export interface StartSandboxInput {
  agentId: string;
  taskId: string;
  workspace: WorkspaceInfo;
}

export interface ExecuteToolsInput {
  agentId: string;
  /** Index of the user message to write; the tool calls are in the message before it. */
  messageIndex: number;
  readOnly: boolean;
  workspace: WorkspaceInfo;
  sandbox?: SandboxInfo;
}

export function createSandboxActivities(deps: SandboxActivityDeps) {
  return {
    /** Starts the agent's container; null when the sandbox is disabled. */
    async startSandbox(args: StartSandboxInput): Promise<SandboxInfo | null> {
      const sandbox = deps.sandbox;
      if (!sandbox) return null;
      // The container runs as the worktree's owner: never let that be root.
      await giveToSandboxUser(args.workspace.path, deps.sandboxUser);
      return sandbox.start({ agentId: args.agentId, taskId: args.taskId, workspacePath: args.workspace.path, signal: currentOperation().signal });
    },

    async executeTools(args: ExecuteToolsInput): Promise<ToolBatchResult> {
      return executeToolBatch(
        {
          transcripts: deps.transcripts,
          runner: deps.runnerFor(args.workspace, args.sandbox),
          hostRoot: args.workspace.path,
          timeoutMs: deps.toolTimeoutMs,
          maxOutputBytes: deps.toolOutputMaxBytes,
        },
        { agentId: args.agentId, messageIndex: args.messageIndex, readOnly: args.readOnly },
        currentOperation(),
      );
    },
  };
}

export type SandboxActivities = ReturnType<typeof createSandboxActivities>;
