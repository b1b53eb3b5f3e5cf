/**
 * Which of a profile's gates a repository cannot run, decided from its gate definitions alone
 * (nothing runs): what a run checks before its first model call, so a gate that can never pass
 * costs no tokens. The gate runner reaches the same verdicts when it runs them.
 */
import type { GateProfile } from '../../domain/agent';
import type { GateName, UnavailableGate } from '../../domain/gates';
import { missingGateDetail, type GateDefinitions } from './definitions';
import { missingFails } from './profiles';

export function unavailableGates(
  gates: readonly GateName[],
  definitions: GateDefinitions,
  options: { profile: GateProfile; hasReviewer: boolean },
): UnavailableGate[] {
  return gates.flatMap((name) => {
    const detail = whyUnavailable(name, definitions, options.hasReviewer);
    return detail === undefined ? [] : [{ name, detail, required: missingFails(options.profile, name) }];
  });
}

function whyUnavailable(gate: GateName, definitions: GateDefinitions, hasReviewer: boolean): string | undefined {
  const { commands, coverage } = definitions;
  switch (gate) {
    case 'review':
      return hasReviewer ? undefined : 'no reviewer is configured for this run';
    case 'coverage':
      // Measured by its own command, or read from the report the tests run writes.
      return commands.coverage || (coverage && commands.tests) ? undefined : missingGateDetail('coverage', definitions);
    default:
      return commands[gate] ? undefined : missingGateDetail(gate, definitions);
  }
}
