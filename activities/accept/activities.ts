/**
 * Accepting the agent's work on its host: the pre-commit gates, then the secret scan and the
 * commit, as one activity. They run back to back whenever the gates pass, so a run used to pay a
 * server round trip between them for nothing; the activity stops after the gates when they
 * failed (the feedback goes back to the agent) or when the coordinator must rule on them before
 * anything is committed.
 */
import { awaitsCoordinator } from '../../domain/gates';
import type { RunGatesInput, RunGatesResult } from '../gates/activities';
import type { CommitChangesInput, ScanAndCommitInput, ScanAndCommitResult } from '../git/activities';
import { currentOperation } from '../operation';

/** The two steps, as the gate and git activities implement them. */
export interface AcceptSteps {
  runGates(args: RunGatesInput): Promise<RunGatesResult>;
  scanAndCommit(args: ScanAndCommitInput): Promise<ScanAndCommitResult>;
}

export interface GatesScanAndCommitInput {
  /** A pre-commit phase. */
  gates: RunGatesInput;
  commit: Omit<CommitChangesInput, 'tree'>;
}

export interface GatesScanAndCommitResult {
  gates: RunGatesResult;
  /** Absent when the gates failed or their results go to the coordinator first. */
  committed?: ScanAndCommitResult;
}

export function createAcceptActivities(steps: AcceptSteps) {
  return {
    async gatesScanAndCommit(args: GatesScanAndCommitInput): Promise<GatesScanAndCommitResult> {
      const gates = await steps.runGates(args.gates);
      if (!gates.passed || awaitsCoordinator(gates)) return { gates };
      currentOperation().heartbeat('scanning and committing');
      // Exactly the tree the gates passed: the worktree may have changed while they ran.
      return { gates, committed: await steps.scanAndCommit({ ...args.commit, ...(gates.tree ? { gatedTree: gates.tree } : {}) }) };
    },
  };
}

export type AcceptActivities = ReturnType<typeof createAcceptActivities>;
