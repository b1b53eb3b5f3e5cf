/**
 * The agent lifecycle as one pure state machine, shared by the workflow (which drives it)
 * and the API (which reads it). Terminal states absorb: nothing leaves them.
 */
export const AGENT_STATUSES = ['spawning', 'running', 'completed', 'failed', 'killed'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

const NEXT: Readonly<Record<AgentStatus, readonly AgentStatus[]>> = {
  spawning: ['running', 'failed', 'killed'],
  running: ['completed', 'failed', 'killed'],
  completed: [],
  failed: [],
  killed: [],
};

export const TERMINAL_STATUSES: readonly AgentStatus[] = ['completed', 'failed', 'killed'];

export function isTerminal(status: AgentStatus): boolean {
  return NEXT[status].length === 0;
}

export function canTransition(from: AgentStatus, to: AgentStatus): boolean {
  return NEXT[from].includes(to);
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: AgentStatus,
    readonly to: AgentStatus,
  ) {
    super(`illegal agent transition ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

/** Returns `to` when the move is legal; throws otherwise, because an illegal move is a bug. */
export function transition(from: AgentStatus, to: AgentStatus): AgentStatus {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
  return to;
}

export function isAgentStatus(value: unknown): value is AgentStatus {
  return typeof value === 'string' && (AGENT_STATUSES as readonly string[]).includes(value);
}
