/** Quality gate names, profiles and results (pure). */
export const GATE_NAMES = ['typecheck', 'lint', 'tests', 'coverage', 'build', 'integration', 'review'] as const;
export type GateName = (typeof GATE_NAMES)[number];

export type GateOutcome = 'passed' | 'failed' | 'missing' | 'timeout' | 'error';

export interface GateResult {
  name: GateName;
  outcome: GateOutcome;
  durationMs: number;
  /** Commit the gate ran on; absent for pre-commit gates (they run on the working tree). */
  commitSha?: string;
  command?: string;
  exitCode?: number | null;
  /** Last lines of the gate's output, secrets redacted. */
  outputTail?: string;
  detail?: string;
}

/** Gates that run on the working tree before the commit; the rest (build, integration, review) run on the commit before push. */
export const PRE_COMMIT_GATES: readonly GateName[] = ['typecheck', 'lint', 'tests', 'coverage'];
export type GatePhase = 'pre-commit' | 'post-commit';

/** What the AI review gate decides. */
export interface ReviewVerdict {
  approved: boolean;
  summary: string;
}
