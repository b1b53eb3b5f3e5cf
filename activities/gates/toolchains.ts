/**
 * Gates whose program is not installed where gates run. A Rust repository on a worker whose
 * sandbox has no `cargo` failed every gate with exit 127 ("cargo: command not found"), which the
 * run took for the agent's fault: three paid feedback rounds telling the agent to fix it, then
 * `GateFailed`. Asked of the gate's own runner (the sandbox's PATH is not the worker's), such a
 * gate is `missing` instead, with what to install: a required one fails the run before its first
 * model call (`GatesUnavailable`), as a gate the repository does not define does.
 */
import type { GateResult } from '../../domain/gates';
import type { CommandRunner } from '../tools/runner';
import { COMMAND_GATE_NAMES, type CommandGateName, type GateDefinitions } from './definitions';

/** A program named bare (found through PATH): not a path (`./mvnw`), an assignment or shell syntax. */
const BARE_PROGRAM = /^[A-Za-z0-9_][A-Za-z0-9._+-]*$/;
const PROBE_TIMEOUT_MS = 10_000;

/** The program a gate command starts first, when it is named bare; undefined otherwise. */
export function programOf(command: string): string | undefined {
  const first = command.trim().split(/\s+/, 1)[0] ?? '';
  return BARE_PROGRAM.test(first) ? first : undefined;
}

/** The programs `definitions`' commands start, each named bare, once each. */
export function gatePrograms(definitions: GateDefinitions): string[] {
  return [...new Set(Object.values(definitions.commands).flatMap((c) => programOf(c.command) ?? []))];
}

/**
 * The programs of `programs` (from gatePrograms) that `runner` cannot find (one shell command asks
 * for all). A probe that could not run finds nothing absent: the gates then run and say what they say.
 */
export async function absentPrograms(runner: CommandRunner, programs: readonly string[], signal?: AbortSignal): Promise<Set<string>> {
  programs = programs.filter((p) => BARE_PROGRAM.test(p));
  if (programs.length === 0) return new Set();
  // Each name matches BARE_PROGRAM: nothing in it the shell would read as syntax.
  const script = `for p in ${programs.join(' ')}; do command -v "$p" >/dev/null 2>&1 || echo "absent:$p"; done; exit 0`;
  try {
    const res = await runner.run(script, { timeoutMs: PROBE_TIMEOUT_MS, maxOutputBytes: 16 * 1024, signal });
    if (res.exitCode !== 0) return new Set();
    const absent = [...res.output.matchAll(/^absent:(\S+)$/gm)].map((m) => m[1]!);
    return new Set(absent.filter((p) => programs.includes(p)));
  } catch {
    signal?.throwIfAborted();
    return new Set();
  }
}

/** `definitions` without the commands whose program is absent, each `missing` with what to install. */
export function withoutAbsentPrograms(definitions: GateDefinitions, absent: ReadonlySet<string>): GateDefinitions {
  if (absent.size === 0) return definitions;
  const commands = { ...definitions.commands };
  const missing = { ...definitions.missing };
  const dropped = new Map<CommandGateName, string>();
  for (const gate of COMMAND_GATE_NAMES) {
    const program = commands[gate] && programOf(commands[gate].command);
    if (program === undefined || !absent.has(program)) continue;
    dropped.set(gate, program);
    missing[gate] = notInstalled(program, commands[gate]!.command);
    delete commands[gate];
  }
  // Coverage read from the tests run has no command of its own: it goes with the tests.
  const tests = dropped.get('tests');
  if (tests !== undefined && !commands.coverage && definitions.coverage) missing.coverage = notInstalled(tests, definitions.commands.tests!.command);
  return { ...definitions, commands, missing };
}

/**
 * `results` with each command that exited 127 (the shell's "command not found") and whose program
 * is absent made `missing`, saying what to install; asks the runner only when one exited so.
 */
export async function withAbsentProgramsMissing(results: GateResult[], runner: CommandRunner, definitions: GateDefinitions, signal?: AbortSignal): Promise<GateResult[]> {
  if (!results.some((r) => r.exitCode === 127)) return results;
  const absent = await absentPrograms(runner, gatePrograms(definitions), signal);
  return results.map((r) => {
    const program = r.exitCode === 127 && r.command !== undefined ? programOf(r.command) : undefined;
    if (program === undefined || !absent.has(program)) return r;
    const { exitCode: _, outputTail: __, ...rest } = r;
    return { ...rest, outcome: 'missing', detail: notInstalled(program, r.command!) };
  });
}

function notInstalled(program: string, command: string): string {
  return (
    `${program} is not installed where the gates run (\`${command}\` would fail: ${program} is not on the gate sandbox's PATH); ` +
    `install it on the worker host (with the bubblewrap sandbox: below /usr, or its directory in SANDBOX_READONLY_PATHS) or in the sandbox image`
  );
}
