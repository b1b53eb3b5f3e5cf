/**
 * The final status of a run that closed without writing it: terminated from the Temporal Web UI or
 * CLI, timed out, or gone. Its Valkey state still said `running`, so GET status, the coordinator
 * (the lifecycle channel) and the agent's event stream (which ends on a final lifecycle event)
 * waited forever. This reaper target writes `killed` or `failed` for it, with the reason, through
 * the same sequence-numbered write as the workflow's own (so it never overrides one that landed).
 */
import type { AgentStatusView } from '../domain/agent';
import { isTerminal, type AgentStatus } from '../domain/lifecycle';
import type { AgentStateStore } from './agent-state-store';

/** How Temporal closed a workflow, as `describe()` names it; `NOT_FOUND` when it has no such workflow. */
export type CloseStatus = 'TERMINATED' | 'CANCELLED' | 'TIMED_OUT' | 'FAILED' | 'COMPLETED' | 'NOT_FOUND' | string;

/**
 * The agent's final status and error for a workflow Temporal closed without the run's own final
 * write; none for one that completed (its last act was that write: it is the write that failed,
 * and a guess would be wrong).
 */
export function finalStatusFor(close: CloseStatus): { status: AgentStatus; error: string } | undefined {
  switch (close) {
    case 'COMPLETED':
      return undefined;
    case 'TERMINATED':
      return { status: 'killed', error: 'killed: terminated through Temporal' };
    case 'CANCELLED':
      return { status: 'killed', error: 'killed: cancelled through Temporal' };
    case 'TIMED_OUT':
      return { status: 'failed', error: 'the workflow reached its execution timeout before the run recorded its end' };
    case 'NOT_FOUND':
      return { status: 'failed', error: "the agent's workflow is gone from Temporal (deleted or past retention) and the run never recorded its end" };
    default:
      return { status: 'failed', error: `the workflow closed (${close}) without the run recording its end` };
  }
}

/**
 * For each agent in `agentIds` whose stored state is not final, asks how its workflow closed
 * (`closeStatus`: null while it runs) and writes the final status. Returns how many it wrote.
 */
export async function settleClosedRunStates(
  store: Pick<AgentStateStore, 'getAgent' | 'write'>,
  agentIds: Iterable<string>,
  closeStatus: (agentId: string) => Promise<CloseStatus | null>,
  now: () => Date = () => new Date(),
): Promise<number> {
  let settled = 0;
  for (const agentId of agentIds) {
    const stored = await store.getAgent(agentId);
    if (!stored || isTerminal(stored.status)) continue;
    const close = await closeStatus(agentId);
    const ended = close === null ? undefined : finalStatusFor(close);
    if (!ended) continue;
    const { seq, updatedAt: _updatedAt, namespace: _namespace, taskQueue: _taskQueue, ...view } = stored;
    const { status, error } = ended;
    const at = now().toISOString();
    const final: AgentStatusView = { ...view, status, phase: 'done', error, completedAt: at };
    const { applied } = await store.write({ seq: seq + 1, view: final, reason: error, at });
    if (applied) settled++;
  }
  return settled;
}
