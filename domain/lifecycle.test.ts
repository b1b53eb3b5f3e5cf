import { AGENT_STATUSES, canTransition, isTerminal, transition, IllegalTransitionError, type AgentStatus } from './lifecycle';

const legal = new Set([
  'spawning->running',
  'spawning->failed',
  'spawning->killed',
  'running->completed',
  'running->failed',
  'running->killed',
]);

describe('agent lifecycle', () => {
  const pairs: [AgentStatus, AgentStatus][] = AGENT_STATUSES.flatMap((a) => AGENT_STATUSES.map((b) => [a, b] as [AgentStatus, AgentStatus]));

  it.each(pairs)('%s -> %s is legal only when the design says so', (from, to) => {
    const expected = legal.has(`${from}->${to}`);
    expect(canTransition(from, to)).toBe(expected);
    if (expected) expect(transition(from, to)).toBe(to);
    else expect(() => transition(from, to)).toThrow(IllegalTransitionError);
  });

  it('treats completed, failed and killed as terminal and absorbing', () => {
    expect(AGENT_STATUSES.filter(isTerminal)).toEqual(['completed', 'failed', 'killed']);
  });
});
