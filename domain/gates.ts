/** Quality gate names, profiles and results (pure). */
export const GATE_NAMES = ['typecheck', 'lint', 'tests', 'coverage', 'build', 'integration', 'review'] as const;
export type GateName = (typeof GATE_NAMES)[number];

/**
 * `missing`: the repository does not define the gate. `skipped`: it does not, and the spawn
 * accepted that (`missingGates: "skip"`), so it does not count against the profile.
 */
export const GATE_OUTCOMES = ['passed', 'failed', 'missing', 'skipped', 'timeout', 'error'] as const;
export type GateOutcome = (typeof GATE_OUTCOMES)[number];

/** What a run does when its profile's gates are not all defined at the base commit. */
export const MISSING_GATES_POLICIES = ['fail', 'skip'] as const;
export type MissingGatesPolicy = (typeof MISSING_GATES_POLICIES)[number];

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

/** The gates of each fixed profile (`custom` names its own), in canonical order. */
export const PROFILE_GATES: Readonly<Record<'strict' | 'standard' | 'minimal', readonly GateName[]>> = {
  strict: ['typecheck', 'lint', 'tests', 'coverage', 'build', 'integration', 'review'],
  standard: ['typecheck', 'lint', 'tests', 'coverage'],
  minimal: ['tests'],
};

/**
 * Whether a phase has a gate to run, so the workflow can skip an empty phase without a round
 * trip. A custom name that is no pre-commit gate counts as post-commit, so an invalid list still
 * reaches the gate activity and fails there with its message.
 */
export function phaseHasGates(profile: keyof typeof PROFILE_GATES | 'custom', custom: readonly string[] | undefined, phase: GatePhase): boolean {
  const names: readonly string[] = profile === 'custom' ? (custom ?? []) : PROFILE_GATES[profile];
  if (profile === 'custom' && names.length === 0) return true; // refused by the activity
  return names.some((name) => (PRE_COMMIT_GATES as readonly string[]).includes(name) === (phase === 'pre-commit'));
}

/** What the AI review gate decides. */
export interface ReviewVerdict {
  approved: boolean;
  summary: string;
  /** USD of the model call that made the verdict (none when nothing was reviewed). */
  costUsd?: number;
  /** Why the review reached no verdict (its answer was cut off before the verdict line): the gate is an `error`, not a veto. */
  incomplete?: string;
}

/** A gate of the run's profile that the repository does not define at the base commit. */
export interface UnavailableGate {
  name: GateName;
  /** Why, and how to define it. */
  detail: string;
  /** The profile fails a run without it (see MISSING_FAILS in activities/gates/profiles.ts). */
  required: boolean;
}

/**
 * The missing gates that fail the run before any model call: the required ones, unless the spawn
 * accepted missing gates. The set-up activity starts no sandbox for such a run; the workflow fails it.
 */
export function blockingUnavailableGates(unavailable: readonly UnavailableGate[], policy: MissingGatesPolicy | undefined): UnavailableGate[] {
  return policy === 'skip' ? [] : unavailable.filter((g) => g.required);
}

/**
 * Whether gate results go to the coordinator before the run may go on: one is configured and
 * there were gates. The gate-then-commit activity stops there; the workflow then asks it.
 */
export function awaitsCoordinator(outcome: { reportRequired: boolean; results: readonly unknown[] }): boolean {
  return outcome.reportRequired && outcome.results.length > 0;
}

/** The `GatesUnavailable` failure's message: each gate, why it is missing, and the ways out. */
export function gatesUnavailableMessage(gates: readonly UnavailableGate[]): string {
  return (
    `gates unavailable at the base commit: ${gates.map((g) => `${g.name} (${g.detail})`).join('; ')}. ` +
    'Define them in the repository, or spawn with missingGates: "skip" to run without them'
  );
}
