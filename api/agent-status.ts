/**
 * Where an agent's status comes from: the Valkey projection first, then Temporal (the source of
 * truth) when the key is missing or when the caller needs to know whether the workflow still runs.
 */
import { WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { AGENT_TYPES, STATUS_QUERY, WORKFLOW_TYPE, workflowIdFor, type AgentResult, type AgentStatusView, type AgentType } from '../domain/agent';
import { isAgentStatus, isTerminal, type AgentStatus } from '../domain/lifecycle';
import { SA } from '../domain/search-attributes';
import type { AgentStateStore, StoredAgentState } from '../state/agent-state-store';
import { withTimeout } from './concurrency';

export interface StatusSourceDeps {
  client: Client;
  store: AgentStateStore;
  namespace: string;
  /**
   * This deployment's task queue: an agent whose workflow runs on another queue of the namespace is
   * another deployment's, unknown here (absent: every queue's).
   */
  taskQueue?: string;
  /** How long a `status` query may wait for a worker before we read `describe()` instead. */
  queryTimeoutMs: number;
}

/** What Temporal says about an agent's workflow. */
export interface WorkflowState {
  view: AgentStatusView;
  /** The workflow is still running (a kill has something to stop). */
  open: boolean;
  /** The task queue its workflow tasks go to (whose pollers tell whether a worker runs it). */
  taskQueue: string;
}

/** The status shown by `GET /agents/:id/status`: Valkey, else Temporal; `null` when neither knows the agent. */
export async function readAgentStatus(deps: StatusSourceDeps, agentId: string): Promise<AgentStatusView | null> {
  const stored = await readProjection(deps.store, agentId);
  if (stored) return publicView(stored);
  return (await readWorkflowState(deps, agentId, { query: true }))?.view ?? null;
}

/**
 * Reads the agent's workflow: `describe()` always (cheap, needs no worker), plus the `status`
 * query when asked, the workflow is open and a worker polls its task queue (a query with no
 * worker would hang until its deadline). `null` when the workflow does not exist.
 */
export async function readWorkflowState(deps: StatusSourceDeps, agentId: string, options: { query: boolean }): Promise<WorkflowState | null> {
  const handle = deps.client.workflow.getHandle(workflowIdFor(agentId));
  let description: WorkflowExecutionDescription;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
  if (description.type !== WORKFLOW_TYPE) return null;
  if (deps.taskQueue !== undefined && description.taskQueue !== deps.taskQueue) return null;
  const open = description.status.name === 'RUNNING';

  if (open && options.query && (await hasWorkflowPollers(deps.client, deps.namespace, description.taskQueue))) {
    const queried = await deps.client
      .withDeadline(Date.now() + deps.queryTimeoutMs, () => handle.query<unknown>(STATUS_QUERY))
      .catch(() => undefined);
    if (isStatusView(queried)) return { view: queried, open, taskQueue: description.taskQueue };
  }

  const view = viewFromDescription(agentId, description);
  if (!open) Object.assign(view, await closeOutcome(deps, agentId));
  return { view, open, taskQueue: description.taskQueue };
}

/** How long a read of the projection may take before Temporal is asked instead. */
export const PROJECTION_READ_TIMEOUT_MS = 500;

/**
 * The agent's Valkey projection, or `null` when it is missing, another namespace's agent, or
 * Valkey does not answer quickly: the projection is a convenience, Temporal still knows the truth
 * (and asked in our namespace, knows no other deployment's agent).
 */
export async function readProjection(store: AgentStateStore, agentId: string): Promise<StoredAgentState | null> {
  return withTimeout(store.getOwnAgent(agentId), PROJECTION_READ_TIMEOUT_MS, 'Valkey read').catch(() => null);
}

/** Strips the projection's bookkeeping fields. */
export function publicView(stored: StoredAgentState): AgentStatusView {
  const { seq: _seq, updatedAt: _updatedAt, namespace: _namespace, taskQueue: _taskQueue, ...view } = stored;
  return view;
}

// TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW in temporal.api.enums.v1 (@temporalio/proto is not a direct dependency).
const TASK_QUEUE_TYPE_WORKFLOW = 1;

/** Whether any worker recently polled the task queue for workflow tasks. */
export async function hasWorkflowPollers(client: Client, namespace: string, taskQueue: string): Promise<boolean> {
  const response = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
  });
  return response.pollers.length > 0;
}

/** When each worker polling `taskQueue` for workflow tasks last polled, as the server saw it (epoch ms). */
export async function lastWorkflowPollsMs(client: Client, namespace: string, taskQueue: string): Promise<number[]> {
  const response = await client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType: TASK_QUEUE_TYPE_WORKFLOW });
  return response.pollers.flatMap((p) => (p.lastAccessTime ? [Number(p.lastAccessTime.seconds ?? 0) * 1000 + Math.floor((p.lastAccessTime.nanos ?? 0) / 1e6)] : []));
}

const CLOSE_STATUS_TO_AGENT: Readonly<Record<string, AgentStatus>> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  TIMED_OUT: 'failed',
  TERMINATED: 'killed',
  CANCELLED: 'killed',
};

/**
 * Builds a view from search attributes and timestamps. An open workflow reports the
 * `AgentStatus` attribute the workflow keeps up to date (`spawning` until a worker picks it up);
 * a closed one reports its terminal attribute, else what its close status implies.
 */
export function viewFromDescription(agentId: string, d: WorkflowExecutionDescription): AgentStatusView {
  const sa = d.typedSearchAttributes;
  const attributeStatus = sa.get(SA.agentStatus);
  const agentType = sa.get(SA.agentType);
  const open = d.status.name === 'RUNNING';
  let status: AgentStatus;
  if (open) status = isAgentStatus(attributeStatus) ? attributeStatus : 'spawning';
  else if (isAgentStatus(attributeStatus) && isTerminal(attributeStatus)) status = attributeStatus;
  else status = CLOSE_STATUS_TO_AGENT[d.status.name] ?? 'failed';
  const memoSpawnedAt = d.memo?.spawnedAt;
  return {
    agentId,
    taskId: sa.get(SA.taskId) ?? '',
    agentType: (AGENT_TYPES as readonly string[]).includes(agentType ?? '') ? (agentType as AgentType) : 'worker',
    status,
    spawnedAt: typeof memoSpawnedAt === 'string' ? memoSpawnedAt : d.startTime.toISOString(),
    ...(!open && d.closeTime ? { completedAt: d.closeTime.toISOString() } : {}),
  };
}

/** The error or result of a closed run, read from its close event (no worker needed). */
async function closeOutcome(deps: StatusSourceDeps, agentId: string): Promise<Partial<AgentStatusView>> {
  const handle = deps.client.workflow.getHandle(workflowIdFor(agentId));
  try {
    const value = await deps.client.withDeadline(Date.now() + deps.queryTimeoutMs, () => handle.result());
    if (isStatusView(value)) return value.result ? { result: value.result } : {};
    if (isAgentResult(value)) return { result: value };
    return {};
  } catch (err) {
    if (err instanceof WorkflowFailedError) return { error: err.cause?.message || err.message };
    return {};
  }
}

function isStatusView(value: unknown): value is AgentStatusView {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<AgentStatusView>;
  return typeof v.agentId === 'string' && typeof v.taskId === 'string' && isAgentStatus(v.status);
}

function isAgentResult(value: unknown): value is AgentResult {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<AgentResult>;
  return typeof v.pushed === 'boolean' && typeof v.turns === 'number';
}
