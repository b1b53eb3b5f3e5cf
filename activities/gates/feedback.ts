/** Turns failing gate results into the user message that sends the agent back to work. */
import type { GateResult } from '../../domain/gates';

/**
 * A concise message naming each gate in `results` that did not pass: its outcome, command, exit
 * code, detail and output tail, then how many feedback rounds remain. Pass the `failing` list
 * from `evaluateGates`, so gates the profile tolerates as missing are not presented as problems.
 * `round` is 1-based: the round this message starts.
 */
export function formatGateFeedback(results: readonly GateResult[], round: number, maxRounds: number): string {
  const problems = results.filter((r) => r.outcome !== 'passed');
  const remaining = Math.max(0, maxRounds - round);
  const header =
    `Quality gates did not pass (feedback round ${round} of ${maxRounds}). ` +
    (remaining === 0
      ? 'This is the last round: if the gates fail again, the run fails.'
      : `${remaining} more round${remaining === 1 ? '' : 's'} remain${remaining === 1 ? 's' : ''} after this one.`) +
    ' Fix every problem below, then end your turn; the gates run again on your changes.';
  if (problems.length === 0) return header;
  return [header, ...problems.map(describe)].join('\n\n');
}

function describe(result: GateResult): string {
  const lines = [`## ${result.name}: ${outcomeText(result)}`];
  if (result.command) lines.push(`Command: ${result.command}`);
  if (result.detail) lines.push(result.detail);
  if (result.outputTail) lines.push(`Output (end):\n${fenced(result.outputTail)}`);
  return lines.join('\n');
}

function outcomeText(result: GateResult): string {
  switch (result.outcome) {
    case 'failed':
      return typeof result.exitCode === 'number' ? `failed (exit code ${result.exitCode})` : 'failed';
    case 'timeout':
      return 'timed out';
    case 'missing':
      return 'missing (the repository does not define this gate)';
    case 'skipped':
      return 'skipped (not defined by the repository; the spawn accepted that)';
    case 'error':
      return 'could not run';
    case 'passed':
      return 'passed';
  }
}

/** A code fence longer than any backtick run in the text, so output cannot close it early. */
function fenced(text: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}\n${text}\n${fence}`;
}
