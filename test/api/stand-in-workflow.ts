/**
 * A stand-in for the real `agentRun` workflow, for API tests that need a live worker without the
 * agent machinery: it reports `running`, answers the `status` query, ends `killed` on the `kill`
 * signal (as the real workflow does, through the AgentStatus search attribute), and completes at
 * once when its first work item is `complete-immediately`. With `slow-stop` it takes
 * SLOW_STOP_MS to stop after the kill and never acknowledges it: a live but busy worker.
 */
import { condition, defineQuery, defineSignal, setHandler, sleep, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { KILL_SIGNAL, STATUS_QUERY, type AgentRunInput, type AgentStatusView } from '../../domain/agent';
import { SA } from '../../domain/search-attributes';

export const COMPLETE_IMMEDIATELY = 'complete-immediately';
export const SLOW_STOP = 'slow-stop';
export const SLOW_STOP_MS = 2500;

export async function agentRun(input: AgentRunInput): Promise<AgentStatusView> {
  let view: AgentStatusView = {
    agentId: input.agentId,
    taskId: input.taskId,
    agentType: input.agentType,
    status: 'running',
    spawnedAt: input.spawnedAt,
    startedAt: workflowInfo().runStartTime.toISOString(),
  };
  let killReason: string | undefined;
  setHandler(defineQuery<AgentStatusView>(STATUS_QUERY), () => view);
  setHandler(defineSignal<[{ reason: string; requestedBy: string }]>(KILL_SIGNAL), ({ reason }) => {
    killReason = reason;
  });
  upsertSearchAttributes([{ key: SA.agentStatus, value: 'running' }]);

  if (input.context.workItems[0] !== COMPLETE_IMMEDIATELY) await condition(() => killReason !== undefined);
  if (input.context.workItems[0] === SLOW_STOP) await sleep(SLOW_STOP_MS);
  const status = killReason === undefined ? 'completed' : 'killed';
  view = { ...view, status, completedAt: new Date().toISOString(), ...(killReason ? { error: `killed: ${killReason}` } : {}) };
  upsertSearchAttributes([{ key: SA.agentStatus, value: status }]);
  return view;
}
