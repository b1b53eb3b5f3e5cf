/**
 * Gate profiles: which gates a profile runs and how it judges their results. Pure.
 */
import type { GateProfile } from '../../domain/agent';
import { GATE_NAMES, PROFILE_GATES, type GateName, type GateResult } from '../../domain/gates';
import { InvalidGateSelectionError } from './errors';

/**
 * Which `missing` gates fail a profile (a gate the repository does not define).
 * - strict: everything, because a reviewer's run vouches for the full set.
 * - standard: only tests. Workers run on whatever repositories they are given, and many have no
 *   lint or typecheck script; failing every such run would block work the agent cannot be
 *   blamed for. The gap is still reported. Untested work is never acceptable, hence tests.
 * - minimal: tests, the only gate it has.
 * - custom: everything, because the requester named each gate on purpose.
 */
const MISSING_FAILS: Readonly<Record<GateProfile, 'all' | readonly GateName[]>> = {
  strict: 'all',
  standard: ['tests'],
  minimal: ['tests'],
  custom: 'all',
};

/**
 * The gates a profile runs, in canonical order (tests before coverage, which may reuse their run).
 * `custom` is used only for the `custom` profile, where it must name at least one known gate.
 */
export function profileGates(profile: GateProfile, custom?: readonly string[]): GateName[] {
  if (profile !== 'custom') return [...PROFILE_GATES[profile]];
  if (!custom || custom.length === 0) {
    throw new InvalidGateSelectionError('the custom gate profile needs a non-empty list of gates');
  }
  const unknown = custom.filter((name) => !isGateName(name));
  if (unknown.length > 0) {
    throw new InvalidGateSelectionError(
      `unknown gate(s) ${unknown.map((n) => JSON.stringify(n)).join(', ')}; known gates: ${GATE_NAMES.join(', ')}`,
    );
  }
  return inCanonicalOrder(custom as GateName[]);
}

export function isGateName(name: string): name is GateName {
  return (GATE_NAMES as readonly string[]).includes(name);
}

/** Deduplicated, in `GATE_NAMES` order. */
export function inCanonicalOrder(gates: readonly GateName[]): GateName[] {
  return GATE_NAMES.filter((name) => gates.includes(name));
}

/** Whether a `missing` result for `gate` fails `profile` (see the table above). */
export function missingFails(profile: GateProfile, gate: GateName): boolean {
  const rule = MISSING_FAILS[profile];
  return rule === 'all' || rule.includes(gate);
}

export interface GateEvaluation {
  passed: boolean;
  /** The results that fail the profile, in the order given. */
  failing: GateResult[];
}

/**
 * Judges gate results against a profile: `failed`, `timeout` and `error` always fail; `missing`
 * fails according to the profile's table; `skipped` (missing, and the spawn accepted that) never does. Only the given results are judged, so gates split
 * across phases (pre-commit, post-commit) can be judged phase by phase; `runGates` returns one
 * result per requested gate, so a requested gate cannot pass by not running.
 */
export function evaluateGates(profile: GateProfile, results: readonly GateResult[]): GateEvaluation {
  const failing = results.filter((r) => r.outcome !== 'passed' && r.outcome !== 'skipped' && (r.outcome !== 'missing' || missingFails(profile, r.name)));
  return { passed: failing.length === 0, failing };
}
