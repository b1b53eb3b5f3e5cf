/**
 * The killswitch. A kill asks the workflow to stop (the `kill` signal is accepted even with no
 * worker) and waits for it in two steps: the workflow acknowledges the kill with a state write
 * (phase `stopping`) within `ackTimeoutMs`, then reaches `killed` within `deadlineMs`. Missing
 * either, the API stops the run without the workers: terminate the workflow, remove its
 * containers by label, record `killed` in Valkey. So with no worker a kill is forced after
 * seconds, while a busy run (a command that takes a moment to stop) still ends by itself.
 * A missed acknowledgement is forced only when no worker polls the workflow's task queue: with a
 * live worker the kill is late because the workers are busy (a kill-all of 100 agents queues 100
 * workflow tasks), and forcing it would add load and leave the run's cleanup to the reaper; it
 * still ends by the deadline.
 * Many agents are killed in phases (signal all, wait on all, force the rest), so killing N agents
 * takes about one deadline, not N.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { KILL_SIGNAL, workflowIdFor, type AgentStatusView, type KillRequest } from '../domain/agent';
import { isTerminal } from '../domain/lifecycle';
import type { AgentStateStore } from '../state/agent-state-store';
import { appendKillAudit, type KillAuditRecord } from '../state/audit-log';
import { keys } from '../state/keys';
import { expireRecords } from '../state/record-expiry';
import { judgeHostQueue } from '../domain/host-liveness';
import { publicView, readProjection, readWorkflowState, type StatusSourceDeps } from './agent-status';
import { mapWithConcurrency, sleep, withTimeout } from './concurrency';
import { errorMessage } from './errors';

/** Added to the stored sequence number so the API's forced `killed` outranks any write the workflow still has in flight. */
export const FORCED_KILL_SEQ_OFFSET = 1_000_000;

export interface KillSwitchDeps {
  client: Client;
  redis: Redis;
  store: AgentStateStore;
  statusSource: StatusSourceDeps;
  logger: Logger;
  /** How long to wait for the workflow to acknowledge the kill (a state write) before forcing it. */
  ackTimeoutMs: number;
  /** How long to wait for the workflow to end by itself before forcing it. */
  deadlineMs: number;
  pollIntervalMs: number;
  /** Most Temporal/Valkey calls in flight at once. */
  concurrency: number;
  removeAgentContainers?: (agentId: string) => Promise<number>;
  /** When the workers polling a workflow task queue last polled (epoch ms); none: nobody runs its workflows. */
  workflowQueuePolls: (taskQueue: string) => Promise<number[]>;
  /** How long the transcript of a run stays after it ended (STATE_TTL_SECONDS), as the workflow sets it. */
  transcriptTtlSeconds: number;
  now: () => Date;
}

/** Why and by whom agents are killed. */
export interface KillOrder {
  reason: string;
  /** A non-secret identity of the caller, for the signal and the audit trail. */
  requestedBy: string;
}

export type KillOutcomeKind = 'killed' | 'forced' | 'already-finished' | 'not-found' | 'failed';

export interface KillOutcome {
  agentId: string;
  outcome: KillOutcomeKind;
  /** Final status, when known. */
  view?: AgentStatusView;
  containersRemoved?: number;
  error?: string;
}

interface Waiting {
  agentId: string;
  /** Forced at this time unless the workflow acknowledged the kill. */
  ackDeadlineAt: number;
  acknowledged: boolean;
  deadlineAt: number;
  /** The workflow's task queue: a worker polling it means the kill is late, not lost. */
  taskQueue: string;
  /** Temporal's view of the run, once asked (kill-all does not ask before the signal). */
  lastView?: AgentStatusView;
  /** When Temporal was last asked whether the run closed, and how long until it is asked again. */
  describedAt: number;
  describeEveryMs: number;
}

/**
 * A run that closed without reaching Valkey is found by asking Temporal: first after a second,
 * then less and less often (up to every 8 s), in one visibility query for all the runs due.
 * Killing 100 agents at a fixed second asked the server 100 times a second while it was
 * delivering their kills.
 */
const FIRST_DESCRIBE_MS = 1000;
const MAX_DESCRIBE_INTERVAL_MS = 8000;
/** A run that acknowledged the kill is asked about no sooner than this. */
const ACKNOWLEDGED_DESCRIBE_MS = 4000;

/**
 * Kills each agent and records an audit entry per agent; never rejects for one agent's failure.
 * `listedOn`: the agents were just listed as running on this task queue (kill-all), so Temporal
 * is not asked about each before its signal: on a busy server those 100 questions compete with
 * the workflow tasks that carry out the kills.
 */
export async function killAgents(deps: KillSwitchDeps, agentIds: readonly string[], order: KillOrder, listedOn?: string): Promise<KillOutcome[]> {
  const outcomes = new Map<string, KillOutcome>();
  const waiting: Waiting[] = [];
  await markKillRequested(deps, agentIds);
  const settle = (o: KillOutcome): void => {
    outcomes.set(o.agentId, o);
  };

  await mapWithConcurrency(agentIds, deps.concurrency, (agentId) =>
    guarded(agentId, settle, async () => {
      const result = await requestKill(deps, agentId, order, listedOn);
      if ('outcome' in result) settle(result);
      else waiting.push(result);
    }),
  );

  while (waiting.length > 0) {
    const now = Date.now();
    await waitLongerForLiveWorkers(deps, waiting, now);
    const expired = takeWhere(waiting, (w) => w.deadlineAt <= now || (!w.acknowledged && w.ackDeadlineAt <= now));
    await mapWithConcurrency(expired, deps.concurrency, (w) =>
      guarded(w.agentId, settle, async () => {
        // Looked at again first: since the last check the run may have acknowledged (it has until
        // the deadline then), or written its final status and begun its cleanup, which a
        // termination would cut short (and overwrite what it recorded).
        const ended = await checkEnded(deps, w);
        if (ended) settle(ended);
        else if (w.acknowledged && w.deadlineAt > Date.now()) waiting.push(w);
        else settle(await forceKill(deps, w, order));
      }),
    );
    const ended = await mapWithConcurrency(waiting, deps.concurrency, async (w) => {
      try {
        return await checkEnded(deps, w);
      } catch (err) {
        deps.logger.warn({ agentId: w.agentId, err: errorMessage(err) }, 'kill: status check failed; will retry until the deadline');
        return undefined;
      }
    });
    for (const outcome of ended) if (outcome) settle(outcome);
    const closed = await closedWithoutValkey(deps, waiting.filter((w, i) => !ended[i] && dueForTemporal(w)));
    for (const outcome of closed) settle(outcome);
    takeWhere(waiting, (w) => outcomes.has(w.agentId));
    if (waiting.length > 0) await sleep(deps.pollIntervalMs);
  }

  const results = agentIds.map((agentId) => outcomes.get(agentId) ?? { agentId, outcome: 'failed' as const, error: 'no outcome' });
  await mapWithConcurrency(results, deps.concurrency, (o) => audit(deps, o, order));
  // Settled: ended (a spawn sees that), or the kill failed and the agent is live again to a spawn.
  await withTimeout(deps.redis.del(...agentIds.map((id) => keys.killRequested(id, deps.statusSource.namespace))), VALKEY_WRITE_TIMEOUT_MS, 'kill marks').catch(() => undefined);
  return results;
}

/** A mark outlives the kill's deadline by this much at most, should the API die mid-kill. */
const KILL_MARK_MARGIN_MS = 60_000;

/**
 * Marks the agents as being killed before any signal goes out, so a spawn for one of their tasks
 * (agents-service.ts claimOwnerState) is refused rather than answered with an agent about to stop.
 * Best effort: a kill never waits on Valkey for long, and while Valkey is away spawns fail anyway.
 */
async function markKillRequested(deps: KillSwitchDeps, agentIds: readonly string[]): Promise<void> {
  if (agentIds.length === 0) return;
  const pipeline = deps.redis.pipeline();
  for (const agentId of agentIds) pipeline.set(keys.killRequested(agentId, deps.statusSource.namespace), '1', 'PX', deps.deadlineMs + KILL_MARK_MARGIN_MS);
  await withTimeout(pipeline.exec(), VALKEY_WRITE_TIMEOUT_MS, 'kill marks').catch((err: unknown) =>
    deps.logger.warn({ agents: agentIds.length, err: errorMessage(err) }, 'kill: could not mark the agents as being killed; a spawn meanwhile may answer one of them'),
  );
}

/** Sends the kill signal to a running agent; settles at once when there is nothing to stop. */
async function requestKill(deps: KillSwitchDeps, agentId: string, order: KillOrder, listedOn?: string): Promise<KillOutcome | Waiting> {
  const state = listedOn === undefined ? await readWorkflowState(deps.statusSource, agentId, { query: false }) : undefined;
  if (listedOn === undefined && !state) {
    // Temporal no longer knows it (retention); the projection may still hold its final state.
    const stored = await readProjection(deps.store, agentId);
    return stored ? { agentId, outcome: 'already-finished', view: publicView(stored) } : { agentId, outcome: 'not-found' };
  }
  if (state && !state.open) return { agentId, outcome: 'already-finished', view: await finalView(deps, state.view) };
  // The workflow records its final status just before it closes: in that gap it has already finished.
  const projected = await readProjection(deps.store, agentId);
  if (projected && isTerminal(projected.status)) return { agentId, outcome: 'already-finished', view: publicView(projected) };
  try {
    await deps.client.workflow.getHandle(workflowIdFor(agentId)).signal<[KillRequest]>(KILL_SIGNAL, { reason: order.reason, requestedBy: order.requestedBy });
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    // It closed before the signal: what Temporal says now (the view read before is of the open run).
    return settledAfterClose(deps, agentId, await temporalView(deps, agentId));
  }
  const now = Date.now();
  return {
    agentId,
    ackDeadlineAt: now + Math.min(deps.ackTimeoutMs, deps.deadlineMs),
    acknowledged: false,
    deadlineAt: now + deps.deadlineMs,
    taskQueue: state?.taskQueue ?? listedOn!,
    ...(state ? { lastView: state.view } : {}),
    describedAt: now,
    describeEveryMs: FIRST_DESCRIBE_MS,
  };
}

/** Temporal's view of a run, asked now; a bare one naming the agent when Temporal no longer knows it. */
async function temporalView(deps: KillSwitchDeps, agentId: string): Promise<AgentStatusView> {
  const state = await readWorkflowState(deps.statusSource, agentId, { query: false });
  if (state) return state.view;
  const stored = await readProjection(deps.store, agentId);
  if (stored) return publicView(stored);
  throw new Error(`agent ${agentId} is known neither to Temporal nor to Valkey`);
}

/**
 * Unacknowledged kills past their acknowledgement time get another acknowledgement period when a
 * worker polls their workflow's task queue (one question per queue, not per agent). An unreadable
 * queue counts as unpolled: the kill is forced, as it was before this check.
 */
async function waitLongerForLiveWorkers(deps: KillSwitchDeps, waiting: Waiting[], now: number): Promise<void> {
  const late = waiting.filter((w) => !w.acknowledged && w.ackDeadlineAt <= now && w.deadlineAt > now);
  if (late.length === 0) return;
  const queues = [...new Set(late.map((w) => w.taskQueue))];
  const polled = await mapWithConcurrency(queues, deps.concurrency, async (q) => {
    try {
      return judgeHostQueue(await deps.workflowQueuePolls(q), now).alive;
    } catch (err) {
      deps.logger.warn({ taskQueue: q, err: errorMessage(err) }, 'kill: could not tell whether a worker polls the task queue; forcing late kills');
      return false;
    }
  });
  const live = new Set(queues.filter((_, i) => polled[i]));
  for (const w of late) if (live.has(w.taskQueue)) w.ackDeadlineAt = Math.min(now + deps.ackTimeoutMs, w.deadlineAt);
}

/**
 * An outcome once the projection shows the agent has ended, or `undefined` while it still runs.
 * The workflow records its final status in Valkey before its cleanup, so that is read every poll;
 * a workflow that closed without reaching Valkey is found by `closedWithoutValkey`.
 */
async function checkEnded(deps: KillSwitchDeps, w: Waiting): Promise<KillOutcome | undefined> {
  const stored = await readProjection(deps.store, w.agentId);
  if (stored && isTerminal(stored.status)) {
    const view = publicView(stored);
    return { agentId: w.agentId, outcome: view.status === 'killed' ? 'killed' : 'already-finished', view };
  }
  if (stored?.phase === 'stopping' && !w.acknowledged) {
    w.acknowledged = true;
    // It is carrying out the kill: asking Temporal whether it closed can wait (it writes `killed` first).
    w.describeEveryMs = Math.max(w.describeEveryMs, ACKNOWLEDGED_DESCRIBE_MS);
  }
  return undefined;
}

/** Whether Temporal is asked about this run now (at a backoff: Valkey is the cheap, usual answer). */
function dueForTemporal(w: Waiting): boolean {
  if (Date.now() - w.describedAt < w.describeEveryMs) return false;
  w.describedAt = Date.now();
  w.describeEveryMs = Math.min(w.describeEveryMs * 2, MAX_DESCRIBE_INTERVAL_MS);
  return true;
}

/** Ids in a visibility query per request: the query stays short, a kill-all of hundreds a few requests. */
const CLOSED_QUERY_BATCH = 100;
/** Workflow ids a visibility query can quote as they are (agent ids are validated names). */
const QUOTABLE_ID = /^[A-Za-z0-9_.:-]+$/;

/**
 * Outcomes for the runs among `due` that closed without reaching Valkey (terminated from the Web
 * UI, say). One visibility query asks about up to a hundred runs: during a kill-all, a describe
 * per agent every few seconds competed with the workflow tasks carrying out the kills. Only a run
 * the query lists as closed is described. A failed query falls back to a describe per run;
 * visibility that lags a moment only delays the answer to the next check.
 */
async function closedWithoutValkey(deps: KillSwitchDeps, due: Waiting[]): Promise<KillOutcome[]> {
  const outcomes: KillOutcome[] = [];
  const quotable = due.filter((w) => QUOTABLE_ID.test(workflowIdFor(w.agentId)));
  let closedIds = new Set<string>(due.filter((w) => !quotable.includes(w)).map((w) => w.agentId));
  try {
    for (let i = 0; i < quotable.length; i += CLOSED_QUERY_BATCH) {
      const ids = quotable.slice(i, i + CLOSED_QUERY_BATCH).map((w) => `'${workflowIdFor(w.agentId)}'`);
      for await (const execution of deps.client.workflow.list({ query: `WorkflowId IN (${ids.join(', ')}) AND ExecutionStatus != 'Running'` })) {
        const agentId = due.find((w) => workflowIdFor(w.agentId) === execution.workflowId)?.agentId;
        if (agentId) closedIds.add(agentId);
      }
    }
  } catch (err) {
    deps.logger.warn({ err: errorMessage(err) }, 'kill: visibility query failed; asking about each run');
    closedIds = new Set(due.map((w) => w.agentId));
  }
  await mapWithConcurrency(
    due.filter((w) => closedIds.has(w.agentId)),
    deps.concurrency,
    async (w) => {
      try {
        const state = await readWorkflowState(deps.statusSource, w.agentId, { query: false });
        if (state?.open) {
          w.lastView = state.view;
          return;
        }
        outcomes.push(await settledAfterClose(deps, w.agentId, state?.view ?? w.lastView ?? (await temporalView(deps, w.agentId))));
      } catch (err) {
        deps.logger.warn({ agentId: w.agentId, err: errorMessage(err) }, 'kill: status check failed; will retry until the deadline');
      }
    },
  );
  return outcomes;
}

async function settledAfterClose(deps: KillSwitchDeps, agentId: string, temporalView: AgentStatusView): Promise<KillOutcome> {
  const view = await finalView(deps, temporalView);
  return { agentId, outcome: view.status === 'killed' ? 'killed' : 'already-finished', view };
}

/** The workflow did not end in time: stop it without the workers. */
async function forceKill(deps: KillSwitchDeps, w: Waiting, order: KillOrder): Promise<KillOutcome> {
  const { agentId } = w;
  const error = `killed: ${order.reason} (forced: workers unresponsive)`;
  // Asked before the termination, which would change what Temporal says about the run.
  const lastView = w.lastView ?? (await temporalView(deps, agentId));
  try {
    await deps.client.workflow.getHandle(workflowIdFor(agentId)).terminate(error);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    // It closed just now: on its own, or terminated by a kill of the same agent running beside this
    // one, whose `killed` may not be in Valkey yet. Temporal's view now says how it closed; the one
    // read before the termination still said it ran.
    return settledAfterClose(deps, agentId, await temporalView(deps, agentId));
  }
  deps.logger.warn({ agentId, acknowledged: w.acknowledged, ackTimeoutMs: deps.ackTimeoutMs, deadlineMs: deps.deadlineMs }, 'kill: workflow did not stop in time; terminated it');

  const view = await recordForcedKill(deps, lastView, error, order.reason);
  // The workflow never reached its final state write, which is what gives the transcript and the
  // checkpoints a TTL (when this write fails too, the workers' reaper sets it: state/record-expiry.ts).
  await withTimeout(expireRecords(deps.redis, agentId, deps.transcriptTtlSeconds), VALKEY_WRITE_TIMEOUT_MS, 'records TTL').catch((err: unknown) =>
    deps.logger.error({ agentId, err: errorMessage(err) }, 'kill: could not set the TTL of its transcript and checkpoints'),
  );
  if (!deps.removeAgentContainers) return { agentId, outcome: 'forced', view };
  try {
    const containersRemoved = await deps.removeAgentContainers(agentId);
    return { agentId, outcome: 'forced', view, containersRemoved };
  } catch (err) {
    return { agentId, outcome: 'failed', view, error: `workflow terminated, but removing its containers failed: ${errorMessage(err)}` };
  }
}

/** Longest a kill waits on a Valkey write (the projection, the audit record) once the run is stopped. */
const VALKEY_WRITE_TIMEOUT_MS = 2000;

/** Writes `killed` to the projection; Valkey trouble is logged, not fatal, because the run is already stopped. */
async function recordForcedKill(deps: KillSwitchDeps, temporalView: AgentStatusView, error: string, reason: string): Promise<AgentStatusView> {
  const at = deps.now().toISOString();
  const { phase: _phase, ...base } = temporalView;
  try {
    return await withTimeout(writeForcedKill(deps, temporalView.agentId, base, { error, reason, at }), VALKEY_WRITE_TIMEOUT_MS, 'Valkey write');
  } catch (err) {
    deps.logger.error({ agentId: temporalView.agentId, err: errorMessage(err) }, 'kill: could not record killed in Valkey');
    return { ...base, status: 'killed', error, completedAt: at };
  }
}

async function writeForcedKill(
  deps: KillSwitchDeps,
  agentId: string,
  temporalBase: AgentStatusView,
  kill: { error: string; reason: string; at: string },
): Promise<AgentStatusView> {
  const stored = await deps.store.getOwnAgent(agentId);
  // A final status the run wrote before the termination stands: it says more (its result, what it salvaged).
  if (stored && isTerminal(stored.status)) return publicView(stored);
  const { phase: _phase, ...base } = stored ? publicView(stored) : temporalBase;
  const view: AgentStatusView = { ...base, status: 'killed', error: kill.error, completedAt: kill.at };
  const written = await deps.store.write({ seq: (stored?.seq ?? 0) + FORCED_KILL_SEQ_OFFSET, view, at: kill.at, reason: `forced kill: ${kill.reason}` });
  if (written.applied) return view;
  const current = await deps.store.getOwnAgent(agentId); // it reached a final status first
  return current ? publicView(current) : view;
}

/** The projection's terminal state when it has one (richer: result, error), else Temporal's. */
async function finalView(deps: KillSwitchDeps, temporalView: AgentStatusView): Promise<AgentStatusView> {
  const stored = await readProjection(deps.store, temporalView.agentId);
  return stored && isTerminal(stored.status) ? publicView(stored) : temporalView;
}

const AUDIT_OUTCOME: Record<KillOutcomeKind, KillAuditRecord['outcome'] | undefined> = {
  killed: 'killed',
  forced: 'forced',
  'already-finished': 'already-finished',
  failed: 'failed',
  'not-found': undefined,
};

async function audit(deps: KillSwitchDeps, o: KillOutcome, order: KillOrder): Promise<void> {
  const outcome = AUDIT_OUTCOME[o.outcome];
  if (!outcome) return;
  const record: KillAuditRecord = { agentId: o.agentId, requestedBy: order.requestedBy, reason: order.reason, outcome, at: deps.now().toISOString() };
  if (o.error) record.detail = o.error;
  try {
    await withTimeout(appendKillAudit(deps.redis, record, deps.statusSource.namespace), VALKEY_WRITE_TIMEOUT_MS, 'audit append');
  } catch (err) {
    deps.logger.error({ agentId: o.agentId, outcome, err: errorMessage(err) }, 'kill: could not append the audit record');
  }
}

async function guarded(agentId: string, settle: (o: KillOutcome) => void, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (err) {
    settle({ agentId, outcome: 'failed', error: errorMessage(err) });
  }
}

/** Removes and returns the items matching `predicate`, in place. */
function takeWhere<T>(items: T[], predicate: (item: T) => boolean): T[] {
  const taken = items.filter(predicate);
  const kept = items.filter((item) => !predicate(item));
  items.splice(0, items.length, ...kept);
  return taken;
}
