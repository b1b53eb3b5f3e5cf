/**
 * Setting an agent up on the host that picks its task up: the worktree, the gates its profile
 * needs (resolved at the base commit), and its sandbox, as one activity. A run used to schedule
 * these as three, each a round trip through the server before the first model call; they always
 * run back to back on the same host, so one activity does them in order.
 */
import type { GateProfile, SandboxInfo, WorkspaceInfo } from '../../domain/agent';
import { blockingUnavailableGates, type GateName, type MissingGatesPolicy } from '../../domain/gates';
import type { GateResolution } from '../gates/activities';
import type { PrepareWorkspaceInput } from '../git/activities';
import { currentOperation } from '../operation';
import type { StartSandboxInput } from '../sandbox/activities';

/** The three steps, as the git, gate and sandbox activities implement them. */
export interface SetupSteps {
  prepareWorkspace(args: PrepareWorkspaceInput): Promise<WorkspaceInfo>;
  resolveGates(args: { workspace: WorkspaceInfo; profile: GateProfile; customGates?: GateName[]; reviewBase?: string; findReviewBase?: boolean; agentId?: string; taskId?: string }): Promise<GateResolution>;
  startSandbox(args: StartSandboxInput): Promise<SandboxInfo | null>;
  /** Removes a worktree this activity made when a later step failed (the workflow never learns its path). */
  discardWorkspace(workspace: WorkspaceInfo): Promise<unknown>;
  /**
   * Removes what a sandbox start that failed or was cancelled may have made: the container (created,
   * maybe started) and the agent's home. The workflow never learns of them, so nothing else would
   * until the reaper's next pass; throws when the container could not be removed.
   */
  discardSandbox(agentId: string): Promise<unknown>;
}

export interface SetUpAgentInput extends PrepareWorkspaceInput {
  profile: GateProfile;
  customGates?: GateName[];
  missingGates?: MissingGatesPolicy;
  /** Reviewers: the worktree is mounted read-only for their commands too. */
  readOnly?: boolean;
  /** Reviewers: the branch the one under review is compared with, where its gates are defined (gates/activities.ts GateBase). */
  reviewBase?: string;
  /**
   * Reviewers spawned without `context.baseBranch`: the review base is the remote's default branch,
   * found with the gates and returned in `gates.reviewBase`; none fails the set-up (NoReviewBaseError).
   */
  findReviewBase?: boolean;
}

export interface SetUpAgent {
  workspace: WorkspaceInfo;
  gates: GateResolution;
  /** null: nothing to stop later (no container); absent: not started, the run cannot go on (a required gate is missing). */
  sandbox?: SandboxInfo | null;
}

export function createSetupActivities(steps: SetupSteps) {
  return {
    /** Worktree, gates, sandbox; a run whose required gates are missing gets no sandbox, it fails before any model call. */
    async setUpAgent(args: SetUpAgentInput): Promise<SetUpAgent> {
      const op = currentOperation();
      const { profile, customGates, missingGates, readOnly, reviewBase, findReviewBase, ...prepare } = args;
      const workspace = await steps.prepareWorkspace(prepare);
      let sandboxBegun = false;
      try {
        op.heartbeat('resolving gates');
        const gates = await steps.resolveGates({ workspace, profile, agentId: args.agentId, taskId: args.taskId, ...(customGates ? { customGates } : {}), ...(reviewBase ? { reviewBase } : {}), ...(findReviewBase ? { findReviewBase } : {}) });
        if (blockingUnavailableGates(gates.unavailable, missingGates).length > 0) return { workspace, gates };
        op.heartbeat('starting sandbox');
        sandboxBegun = true;
        const sandbox = await steps.startSandbox({ agentId: args.agentId, taskId: args.taskId, workspace, readOnly: readOnly ?? false });
        return { workspace, gates, sandbox };
      } catch (err) {
        // Also after a cancellation: the removals are not tied to this activity's signal. No command
        // of the agent ran yet, so the worktree goes even when the container would not (the
        // reaper removes that, and the home with it).
        if (sandboxBegun) await steps.discardSandbox(args.agentId).catch(() => undefined);
        await steps.discardWorkspace(workspace).catch(() => undefined);
        throw err;
      }
    },
  };
}

export type SetupActivities = ReturnType<typeof createSetupActivities>;
