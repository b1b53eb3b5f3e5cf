/**
 * The Valkey projection of agent state. Temporal is the source of truth; this is what the
 * coordinator and dashboards read. Every write carries a sequence number and goes through one
 * Lua script, so a retried or late write never moves state backwards and terminal states absorb.
 */
import type Redis from 'ioredis';
import type { AgentContext, AgentStatusView, AgentType } from '../domain/agent';
import { TERMINAL_STATUSES, type AgentStatus } from '../domain/lifecycle';
import type { LifecycleAgentEvent, PhaseAgentEvent } from '../domain/agent-events';
import { EVENT_STREAM_LIMITS } from './agent-events';
import { keys } from './keys';
import { SpendLedger, TOTAL_FIELD, usdFromMicros, withSpent } from './spend-ledger';

export interface StoredAgentState extends AgentStatusView {
  seq: number;
  updatedAt: string;
  /** The Temporal namespace of the run (absent in records written before it was recorded): see worker/closed-check.ts. */
  namespace?: string;
  /** The deployment's task queue the run's workflow is on (absent in records written before it was recorded). */
  taskQueue?: string;
}

export interface StoredTaskState {
  taskId: string;
  agentId: string;
  agentType: AgentType;
  status: AgentStatus;
  context?: AgentContext;
  spawnedAt: string;
  startedAt?: string;
  completedAt?: string;
  seq: number;
  updatedAt: string;
}

/** What is published on `orchestrator:events` for every status change. */
export interface LifecycleEvent {
  agentId: string;
  taskId: string;
  from: AgentStatus | null;
  to: AgentStatus;
  at: string;
  reason?: string;
  /** USD the run has spent on model turns so far (the final cost on a terminal event). */
  costUsd?: number;
  /** Set when the run failed with `BudgetExceeded`: which budget. */
  exceededBudget?: string;
}

export interface AgentStateWrite {
  seq: number;
  view: AgentStatusView;
  context?: AgentContext;
  reason?: string;
  at: string;
}

// Returns {applied, previousStatus}. Applied only when seq is newer and the stored state is not
// terminal (or is the same terminal state). A status change is published on the pub/sub channel
// and appended to the agent's and the global event streams; a phase change only to the streams.
// Both happen in the same script as the write, so a retried write (same seq) adds no event.
const APPLY_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
local seq = tonumber(ARGV[1])
local newStatus = ARGV[5]
local newPhase = ARGV[8]
local prev = ''
local prevPhase = ''
if cur then
  local ok, decoded = pcall(cjson.decode, cur)
  if ok and type(decoded) == 'table' then
    prev = decoded['status'] or ''
    prevPhase = decoded['phase'] or ''
    if tonumber(decoded['seq'] or -1) >= seq then return {0, prev} end
    for term in string.gmatch(ARGV[6], '[^,]+') do
      if prev == term and newStatus ~= prev then return {0, prev} end
    end
  end
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
local ttl = tonumber(ARGV[7])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
end
local streamed = nil
if prev ~= newStatus then
  local event = cjson.decode(ARGV[4])
  if prev == '' then event['from'] = cjson.null else event['from'] = prev end
  redis.call('PUBLISH', KEYS[3], cjson.encode(event))
  streamed = cjson.decode(ARGV[9])
  streamed['from'] = event['from']
elseif newPhase ~= '' and newPhase ~= prevPhase then
  streamed = cjson.decode(ARGV[10])
end
if streamed then
  local data = cjson.encode(streamed)
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[11], '*', 'type', streamed['type'], 'data', data)
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[12], '*', 'type', streamed['type'], 'data', data)
end
if ttl > 0 then
  redis.call('EXPIRE', KEYS[4], ttl)
  redis.call('EXPIRE', KEYS[6], ttl)
end
return {1, prev}
`;

export interface AgentStateStoreOptions {
  /** TTL applied once a run is terminal; live runs never expire. */
  terminalTtlSeconds: number;
  /**
   * The writer's Temporal namespace, recorded with the agent: deployments of different namespaces
   * may share one Valkey, and a reaper may only judge the runs its own namespace knows. Its task
   * record, lifecycle channel and global event stream are the namespace's own (keys.ts).
   */
  namespace?: string;
  /**
   * The writer's task queue (TEMPORAL_TASK_QUEUE), recorded with the agent: two deployments may
   * share a namespace and differ by their queue, and neither may show or kill the other's agents.
   */
  taskQueue?: string;
}

export class AgentStateStore {
  private readonly ledger: SpendLedger;

  constructor(
    private readonly redis: Redis,
    private readonly options: AgentStateStoreOptions,
  ) {
    this.ledger = new SpendLedger(redis);
  }

  /**
   * Writes the agent and task state; returns whether it was applied (false for stale or
   * post-terminal writes). A final state carries what the ledger says was paid, which may be more
   * than the workflow counted (spend-ledger.ts).
   */
  async write(w: AgentStateWrite): Promise<{ applied: boolean; previousStatus: AgentStatus | null }> {
    const terminal = TERMINAL_STATUSES.includes(w.view.status);
    const view = terminal ? withSpent(w.view, await this.ledger.total(w.view.agentId)) : w.view;
    const agent: StoredAgentState = { ...stripUndefined(view), seq: w.seq, updatedAt: w.at, ...(this.options.namespace ? { namespace: this.options.namespace } : {}), ...(this.options.taskQueue ? { taskQueue: this.options.taskQueue } : {}) };
    const task: StoredTaskState = stripUndefined({
      taskId: view.taskId,
      agentId: view.agentId,
      agentType: view.agentType,
      status: view.status,
      context: w.context,
      spawnedAt: view.spawnedAt,
      startedAt: view.startedAt,
      completedAt: view.completedAt,
      seq: w.seq,
      updatedAt: w.at,
    });
    const event: Omit<LifecycleEvent, 'from'> = stripUndefined({
      agentId: view.agentId,
      taskId: view.taskId,
      to: view.status,
      at: w.at,
      reason: w.reason,
      costUsd: view.progress?.costUsd,
      exceededBudget: view.exceededBudget,
    });
    // The stream's lifecycle event carries more than the channel's seed shape; `from` is filled in by the script.
    const lifecycle: Omit<LifecycleAgentEvent, 'from'> = stripUndefined({
      type: 'lifecycle' as const,
      agentId: view.agentId,
      taskId: view.taskId,
      agentType: view.agentType,
      to: view.status,
      phase: view.phase,
      reason: w.reason,
      retryOf: view.retryOf,
      forkOf: view.forkOf,
      forkedAtTurn: view.forkedAtTurn,
      at: w.at,
    });
    const phase: PhaseAgentEvent | undefined = view.phase && { type: 'phase', agentId: view.agentId, taskId: view.taskId, phase: view.phase, at: w.at };
    const [applied, prev] = (await this.redis.eval(
      APPLY_SCRIPT,
      6,
      keys.agent(view.agentId),
      keys.task(view.taskId, this.options.namespace),
      keys.events(this.options.namespace),
      keys.agentEvents(view.agentId),
      keys.allEvents(this.options.namespace),
      keys.agentEventsSeen(view.agentId),
      String(w.seq),
      JSON.stringify(agent),
      JSON.stringify(task),
      JSON.stringify(event),
      view.status,
      TERMINAL_STATUSES.join(','),
      String(terminal ? this.options.terminalTtlSeconds : 0),
      view.phase ?? '',
      JSON.stringify(lifecycle),
      JSON.stringify(phase ?? {}),
      String(EVENT_STREAM_LIMITS.perAgent),
      String(EVENT_STREAM_LIMITS.global),
    )) as [number, string];
    return { applied: applied === 1, previousStatus: (prev || null) as AgentStatus | null };
  }

  /** The agent's state, its cost raised to what its model calls cost (a call abandoned by a kill may be paid after the final write). */
  async getAgent(agentId: string): Promise<StoredAgentState | null> {
    const [[, raw], [, spent]] = (await this.redis.pipeline().get(keys.agent(agentId)).hget(keys.spend(agentId), TOTAL_FIELD).exec()) as [[unknown, string | null], [unknown, string | null]];
    if (!raw) return null;
    return withSpent(JSON.parse(raw) as StoredAgentState, usdFromMicros(spent));
  }

  /**
   * The agent's state when its run is this store's deployment's (namespace and task queue): `null`
   * for an agent of another deployment sharing the Valkey, whose API must not show, kill, retry or
   * fork it. A record that names no namespace or queue (written before it was recorded) counts as
   * anyone's on that point, as the reaper's does.
   */
  async getOwnAgent(agentId: string): Promise<StoredAgentState | null> {
    const stored = await this.getAgent(agentId);
    return stored && isOwnRecord(stored, this.options) ? stored : null;
  }

  async getTask(taskId: string): Promise<StoredTaskState | null> {
    const raw = await this.redis.get(keys.task(taskId, this.options.namespace));
    return raw ? (JSON.parse(raw) as StoredTaskState) : null;
  }
}

/** Whether a record was written by the deployment `own` names (a field either side leaves out does not count). */
export function isOwnRecord(stored: Pick<StoredAgentState, 'namespace' | 'taskQueue'>, own: { namespace?: string; taskQueue?: string }): boolean {
  const differs = (theirs: string | undefined, ours: string | undefined) => theirs !== undefined && ours !== undefined && theirs !== ours;
  return !differs(stored.namespace, own.namespace) && !differs(stored.taskQueue, own.taskQueue);
}

function stripUndefined<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}
