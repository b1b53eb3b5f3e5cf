/**
 * Accepting the agent's work on its host: the pre-commit gates, then the secret scan and the
 * commit, and (when asked: no post-commit gates follow) the merge check and the push, as one
 * activity. They run back to back whenever the gates pass, so a run used to pay a server round
 * trip between them for nothing; the activity stops after the gates when they failed (the
 * feedback goes back to the agent) or when the coordinator must rule on them before anything is
 * committed, and after the scan when it blocked the commit.
 */
import { awaitsCoordinator } from '../../domain/gates';
import type { RunGatesInput, RunGatesResult } from '../gates/activities';
import type { CommitChangesInput, MergeAndPushResult, ScanAndCommitInput, ScanAndCommitResult, WorkspaceInput } from '../git/activities';
import { currentOperation } from '../operation';

/** The two steps, as the gate and git activities implement them. */
export interface AcceptSteps {
  runGates(args: RunGatesInput): Promise<RunGatesResult>;
  scanAndCommit(args: ScanAndCommitInput): Promise<ScanAndCommitResult>;
  pushIfMergeable(args: WorkspaceInput): Promise<MergeAndPushResult>;
}

export interface GatesScanAndCommitInput {
  /** A pre-commit phase. */
  gates: RunGatesInput;
  commit: Omit<CommitChangesInput, 'tree'>;
  /** Go on to the merge check and the push after the commit: nothing (no post-commit gate) comes between. */
  push?: boolean;
}

export interface GatesScanAndCommitResult {
  gates: RunGatesResult;
  /** Absent when the gates failed or their results go to the coordinator first. */
  committed?: ScanAndCommitResult;
  /** The merge check, and the push when it was clean; only when asked and a commit was made. */
  delivered?: MergeAndPushResult;
}

export function createAcceptActivities(steps: AcceptSteps) {
  return {
    async gatesScanAndCommit(args: GatesScanAndCommitInput): Promise<GatesScanAndCommitResult> {
      const gates = await steps.runGates(args.gates);
      if (!gates.passed || awaitsCoordinator(gates)) return { gates };
      currentOperation().heartbeat('scanning and committing');
      // Exactly the tree the gates passed: the worktree may have changed while they ran.
      const committed = await steps.scanAndCommit({ ...args.commit, ...(gates.tree ? { gatedTree: gates.tree } : {}) });
      if (!args.push || !committed.commit?.commitSha) return { gates, committed };
      currentOperation().heartbeat('checking the merge and pushing');
      return { gates, committed, delivered: await steps.pushIfMergeable({ workspace: args.commit.workspace }) };
    },
  };
}

export type AcceptActivities = ReturnType<typeof createAcceptActivities>;
