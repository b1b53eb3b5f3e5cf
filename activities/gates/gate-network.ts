/**
 * Gates that need the network in a gate sandbox that has none. Maven and Gradle fetch a project's
 * plugins and dependencies on every run whose cache is cold, and the gates' caches start empty;
 * with the default SANDBOX_NETWORK (none) every such gate failed "Unknown host
 * repo.maven.apache.org", which the run took for the agent's fault (paid feedback rounds, then
 * GateFailed). Known from the command alone, so set-up says so before the first model call, as it
 * does for a program that is not installed (toolchains.ts).
 */
import type { GateResult } from '../../domain/gates';
import { COMMAND_GATE_NAMES, type CommandGateName, type GateDefinitions } from './definitions';

/** Build tools that download what the project needs (the wrappers download the tool too). */
const FETCHING_TOOLS = new Set(['mvn', 'mvnw', 'gradle', 'gradlew']);
/** Maven's and Gradle's offline switches: an operator who provides the cache says so in gates.json. */
const OFFLINE_FLAG = /(^|\s)(-o|--offline)(\s|$)/;
/**
 * What the JVM says when a name cannot be resolved (Maven's "Unknown host", Gradle's
 * UnknownHostException): the build tools this is for. Not glibc's, curl's or Node's messages
 * (getaddrinfo ENOTFOUND, "Temporary failure in name resolution"): test suites print those for
 * mocked or refused network calls next to real failures, which must stay the agent's to fix.
 */
const NAME_RESOLUTION_FAILURE = /UnknownHostException|Unknown host/;

/** The fetching build tool a gate command starts (`mvn`, `./gradlew`), unless it runs offline. */
export function fetchingToolOf(command: string): string | undefined {
  const first = command.trim().split(/\s+/, 1)[0] ?? '';
  const tool = first.slice(first.lastIndexOf('/') + 1);
  return FETCHING_TOOLS.has(tool) && !OFFLINE_FLAG.test(command) ? tool : undefined;
}

/** `definitions` without the commands that need the network, each `missing` saying so, when the gates have none. */
export function withoutNetworkBuilds(definitions: GateDefinitions, networkOff: boolean): GateDefinitions {
  if (!networkOff) return definitions;
  const commands = { ...definitions.commands };
  const missing = { ...definitions.missing };
  const dropped = new Map<CommandGateName, string>();
  for (const gate of COMMAND_GATE_NAMES) {
    const tool = commands[gate] && fetchingToolOf(commands[gate].command);
    if (tool === undefined) continue;
    dropped.set(gate, tool);
    missing[gate] = needsNetwork(tool);
    delete commands[gate];
  }
  // Coverage read from the tests run has no command of its own: it goes with the tests.
  const tests = dropped.get('tests');
  if (tests !== undefined && !commands.coverage && definitions.coverage) missing.coverage = needsNetwork(tests);
  return { ...definitions, commands, missing };
}

/**
 * `results` with each failed gate whose output shows a name that did not resolve made `missing`,
 * when the gates have no network: a command that fetched something anyway (a Makefile calling
 * mvn) failed for want of the network, not for the agent's work. Only gates whose absence fails
 * the profile (`failsWhenMissing`): the agent's code can print that line, and a tolerated gate
 * made missing would pass; a required one ends the run, which gains the agent nothing (unless the
 * spawn skips missing gates: the caller then says no for every gate).
 */
export function withNameResolutionMissing(results: GateResult[], networkOff: boolean, failsWhenMissing: (gate: GateResult['name']) => boolean): GateResult[] {
  if (!networkOff) return results;
  return results.map((r) => {
    if (r.outcome !== 'failed' || !failsWhenMissing(r.name) || !NAME_RESOLUTION_FAILURE.test(r.outputTail ?? '')) return r;
    const { exitCode: _, ...rest } = r;
    return { ...rest, outcome: 'missing', detail: `${NO_NETWORK}: its output shows a host name that did not resolve; ${WAYS_OUT}` };
  });
}

const NO_NETWORK = 'the gate sandbox has no network (SANDBOX_NETWORK=none) and its caches start empty';
const WAYS_OUT = 'set SANDBOX_NETWORK=host on the worker (a Docker network that reaches the repositories with SANDBOX_RUNTIME=docker), or give the gate an offline command in .orchestrator/gates.json';

function needsNetwork(tool: string): string {
  return `${tool} downloads the project's plugins and dependencies, but ${NO_NETWORK}; ${WAYS_OUT}`;
}
