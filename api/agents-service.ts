/**
 * The agent operations behind the REST API: spawn, status, kill, kill-all. Routes validate and
 * call exactly one of these; everything here talks to Temporal and Valkey through injected clients.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config';
import {
  agentContextOf,
  agentIdFromWorkflowId,
  DEFAULT_GATE_PROFILE,
  DEFAULT_PRIORITY,
  WORKFLOW_TYPE,
  workflowIdFor,
  type AgentRunInput,
  type AgentStatusView,
} from '../domain/agent';
import { isTerminal, type AgentStatus } from '../domain/lifecycle';
import { SA } from '../domain/search-attributes';
import { redactSecrets } from '../scanner';
import { plainText } from '../domain/plain-text';
import { isOwnRecord, type AgentStateStore, type StoredAgentState } from '../state/agent-state-store';
import { keys } from '../state/keys';
import { lastWorkflowPollsMs, readAgentStatus, readWorkflowState, type StatusSourceDeps, type WorkflowState } from './agent-status';
import { AgentNotFoundError, ApiError, KillFailedError } from './errors';
import { killAgents, type KillOrder, type KillSwitchDeps } from './killswitch';
import type { ApiMetrics } from './metrics';
import type { BudgetCeilings, SpawnRequest } from './request-schemas';
import { readTranscriptPage, type TranscriptPage } from './transcript';
import { createReruns, type ForkResult, type RetryResult, type RunLink } from './agent-reruns';
import { killInRounds } from './kill-all-rounds';
import { AgentEventLog } from '../state/agent-events';
import { AgentStoppingError, DEFAULT_SPAWN_CLAIM_OPTIONS, SpawnClaim, SpawnInProgressError, type ClaimOwnerState } from '../state/spawn-claim';

export interface AgentsServiceDeps {
  client: Client;
  redis: Redis;
  store: AgentStateStore;
  config: Config;
  logger: Logger;
  /** Removes an agent's sandbox containers by label; used when a kill has to be forced. */
  removeAgentContainers?: (agentId: string) => Promise<number>;
  metrics: ApiMetrics;
  now: () => Date;
  tuning?: Partial<AgentsServiceTuning>;
}

/** Knobs that are not configuration (tests shorten them). */
export interface AgentsServiceTuning {
  /**
   * How long a `status` query may wait for a worker.
   * @default 1000
   */
  statusQueryTimeoutMs: number;
  /**
   * How often a kill checks whether the workflow has ended.
   * @default 100
   */
  killPollIntervalMs: number;
  /**
   * Most Temporal/Valkey calls in flight during kill-all (the signals to 100 agents go out in four rounds).
   * @default 25
   */
  killConcurrency: number;
  /**
   * How long after a start the visibility store may still miss the run: kill-all lists again until
   * then (kill-all-rounds.ts), so an agent spawned just before it is not left running.
   * @default 1000
   */
  visibilityLagMs: number;
}

const DEFAULT_TUNING: AgentsServiceTuning = { statusQueryTimeoutMs: 1000, killPollIntervalMs: 100, killConcurrency: 25, visibilityLagMs: 1000 };
/** Listings a kill-all makes at most (kill-all-rounds.ts): new agents keep it going only so long. */
const KILL_ALL_MAX_LISTINGS = 5;

export interface SpawnResult {
  /** False when a live agent already owned this task and agent type. */
  created: boolean;
  agentId: string;
  status: AgentStatus;
}

export interface KillResult extends AgentStatusView {
  /** The agent had already reached a final status; nothing was stopped. */
  alreadyFinished: boolean;
  /** Workers did not stop it in time; the API terminated the workflow itself. */
  forced: boolean;
  containersRemoved?: number;
}

export interface KillAllResult {
  message: string;
  total: number;
  killed: number;
  failed: number;
  alreadyFinished: number;
  forced: number;
  errors: { agentId: string; error: string }[];
}

export interface AgentsService {
  spawn(request: SpawnRequest): Promise<SpawnResult>;
  /** @throws AgentNotFoundError */
  status(agentId: string): Promise<AgentStatusView>;
  /** @throws AgentNotFoundError, KillFailedError */
  kill(agentId: string, order: KillOrder): Promise<KillResult>;
  killAll(order: KillOrder): Promise<KillAllResult>;
  /** A page of the agent's conversation, secrets redacted. @throws AgentNotFoundError */
  transcript(agentId: string, page: { from: number; limit: number }): Promise<TranscriptPage>;
  /** Runs a finished agent again as a new agent with the same input. @throws AgentNotFoundError, AgentLiveError */
  retry(agentId: string, idempotencyKey?: string): Promise<RetryResult>;
  /** Starts a new agent from a finished one's first `turn` turns and its worktree after them. @throws AgentNotFoundError, AgentLiveError, InvalidRequestError */
  fork(agentId: string, turn: number, idempotencyKey?: string): Promise<ForkResult>;
}

export function createAgentsService(deps: AgentsServiceDeps): AgentsService {
  const { client, redis, store, config, logger, metrics, now } = deps;
  const tuning = { ...DEFAULT_TUNING, ...deps.tuning };
  const statusSource: StatusSourceDeps = { client, store, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE, queryTimeoutMs: tuning.statusQueryTimeoutMs };
  const killSwitch: KillSwitchDeps = {
    client,
    redis,
    store,
    statusSource,
    logger,
    ackTimeoutMs: config.KILL_ACK_TIMEOUT_SECONDS * 1000,
    deadlineMs: config.KILL_DEADLINE_SECONDS * 1000,
    pollIntervalMs: tuning.killPollIntervalMs,
    concurrency: tuning.killConcurrency,
    removeAgentContainers: deps.removeAgentContainers,
    workflowQueuePolls: (taskQueue) => lastWorkflowPollsMs(client, config.TEMPORAL_NAMESPACE, taskQueue),
    transcriptTtlSeconds: config.STATE_TTL_SECONDS,
    now,
  };

  /** Reads workflows on every task queue of the namespace (an agent from before queues were recorded). */
  const everyQueue: StatusSourceDeps = { client, store, namespace: config.TEMPORAL_NAMESPACE, queryTimeoutMs: tuning.statusQueryTimeoutMs };

  /** Whether the agent holding a spawn claim still runs. */
  async function claimOwnerState(agentId: string): Promise<ClaimOwnerState> {
    const stored = await store.getOwnAgent(agentId);
    if (stored && isTerminal(stored.status)) return { kind: 'finished' };
    return workflowOwnerState(agentId, stored, await readWorkflowState(statusSource, agentId, { query: false }));
  }

  /**
   * The same of a claim under the name from before queues were in it: one made before the upgrade,
   * or the default queue's own since (the same name). A record that names no queue was written
   * before the upgrade, and its agent is every queue's, as every claim was then; one naming another
   * queue is that queue's. Without a record yet, the workflow's queue tells.
   */
  async function claimBeforeQueuesOwnerState(agentId: string): Promise<ClaimOwnerState> {
    const stored = await store.getAgent(agentId);
    if (stored && !isOwnRecord(stored, { namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE })) return { kind: 'elsewhere' };
    if (stored && isTerminal(stored.status)) return { kind: 'finished' };
    const workflow = await readWorkflowState(everyQueue, agentId, { query: false });
    if (!stored && workflow && workflow.taskQueue !== config.TEMPORAL_TASK_QUEUE) return { kind: 'elsewhere' };
    return workflowOwnerState(agentId, stored, workflow);
  }

  async function workflowOwnerState(agentId: string, stored: StoredAgentState | null, workflow: WorkflowState | null): Promise<ClaimOwnerState> {
    if (!workflow) return { kind: 'missing' };
    if (!workflow.open) return { kind: 'finished' };
    // A kill under way (kill or kill-all), or acknowledged by the run: it is stopping, not live.
    if (stored?.phase === 'stopping' || (await redis.exists(keys.killRequested(agentId, config.TEMPORAL_NAMESPACE))) === 1) return { kind: 'stopping' };
    return { kind: 'live', status: stored?.status ?? workflow.view.status };
  }

  /**
   * Claims the task for a new agent and starts its workflow; answers the live agent that already
   * owns the task and agent type instead, when there is one.
   */
  async function startRun(request: SpawnRequest, link?: RunLink): Promise<SpawnResult> {
    const { taskId, agentType } = request;
    const agentId = randomUUID();
    const claimKeys = {
      own: keys.spawnClaim(taskId, agentType, config.TEMPORAL_NAMESPACE, config.TEMPORAL_TASK_QUEUE),
      beforeQueues: keys.spawnClaimBeforeQueues(taskId, agentType, config.TEMPORAL_NAMESPACE, config.TEMPORAL_TASK_QUEUE),
    };
    const claim = new SpawnClaim(redis, claimKeys, agentId, { ...DEFAULT_SPAWN_CLAIM_OPTIONS, ttlSeconds: config.STATE_TTL_SECONDS });
    const claimed = await claim.acquire(claimOwnerState, claimBeforeQueuesOwnerState).catch((err: unknown) => {
      if (err instanceof SpawnInProgressError) throw new ApiError(409, 'spawn_in_progress', err.message);
      if (err instanceof AgentStoppingError) throw new ApiError(409, 'agent_stopping', err.message);
      throw err;
    });
    if (!claimed.acquired) {
      logger.info({ agentId: claimed.agentId, taskId, agentType }, 'spawn: agent already live for this task; not starting another');
      return { created: false, agentId: claimed.agentId, status: claimed.status };
    }

    const input: AgentRunInput = { ...buildRunInput(request, agentId, config, now()), ...link };
    const linkedTo = link && ('retryOf' in link ? { key: SA.retryOf, value: link.retryOf } : { key: SA.forkOf, value: link.forkOf.agentId });
    try {
      await client.workflow.start(WORKFLOW_TYPE, {
        workflowId: workflowIdFor(agentId),
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        args: [input],
        typedSearchAttributes: [
          { key: SA.taskId, value: taskId },
          { key: SA.agentType, value: agentType },
          { key: SA.agentStatus, value: 'spawning' },
          { key: SA.repository, value: input.context.repository },
          { key: SA.gateProfile, value: input.gateProfile },
          ...(linkedTo ? [linkedTo] : []),
        ],
        staticSummary: `${agentType} on ${taskId}, ${input.context.repository}@${input.context.branch}`,
        priority: { priorityKey: input.priority },
        memo: { spawnedAt: input.spawnedAt },
      });
    } catch (err) {
      // A start whose answer was lost (a deadline, a dropped connection) may still have started the
      // run: it keeps the claim then, or a second spawn for the task would start a duplicate agent.
      const started = await readWorkflowState(statusSource, agentId, { query: false }).catch(() => null);
      if (!started) {
        await claim.release().catch(() => undefined);
        throw err;
      }
      logger.warn({ agentId, taskId, agentType, err: (err as Error).message }, 'spawn: the start failed to answer, but the workflow exists: it is the agent');
    }
    logger.info({ agentId, taskId, agentType, gateProfile: input.gateProfile, priority: input.priority, ...link }, 'spawn: agent workflow started');
    return { created: true, agentId, status: 'spawning' };
  }

  async function spawn(request: SpawnRequest): Promise<SpawnResult> {
    const spawned = await startRun(request);
    metrics.spawned(request.agentType, spawned.created);
    return spawned;
  }

  const reruns = createReruns({ client, redis, config, statusSource, events: new AgentEventLog(redis, { namespace: config.TEMPORAL_NAMESPACE }), ceilings: budgetCeilings(config), startRun, now });

  async function retry(agentId: string, idempotencyKey?: string): Promise<RetryResult> {
    const retried = await reruns.retry(agentId, idempotencyKey);
    metrics.retried(retried.agentType, retried.created);
    logger.info({ agentId, retriedAs: retried.agentId, created: retried.created }, 'retry: done');
    return retried;
  }

  async function fork(agentId: string, turn: number, idempotencyKey?: string): Promise<ForkResult> {
    const forked = await reruns.fork(agentId, turn, idempotencyKey);
    metrics.forked(forked.agentType, forked.created);
    logger.info({ agentId, turn, forkedAs: forked.agentId, created: forked.created }, 'fork: done');
    return forked;
  }

  async function status(agentId: string): Promise<AgentStatusView> {
    const view = await readAgentStatus(statusSource, agentId);
    if (!view) throw new AgentNotFoundError(agentId);
    return view;
  }

  async function kill(agentId: string, order: KillOrder): Promise<KillResult> {
    const [outcome] = await killAgents(killSwitch, [agentId], order);
    if (outcome) metrics.killed(outcome.outcome);
    if (!outcome || outcome.outcome === 'not-found') throw new AgentNotFoundError(agentId);
    if (outcome.outcome === 'failed' || !outcome.view) throw new KillFailedError(agentId, `kill of agent ${agentId} failed: ${outcome.error ?? 'unknown error'}`);
    logger.info({ agentId, outcome: outcome.outcome, requestedBy: order.requestedBy }, 'kill: done');
    return {
      ...outcome.view,
      alreadyFinished: outcome.outcome === 'already-finished',
      forced: outcome.outcome === 'forced',
      ...(outcome.containersRemoved === undefined ? {} : { containersRemoved: outcome.containersRemoved }),
    };
  }

  async function killAll(order: KillOrder): Promise<KillAllResult> {
    const { agentIds, outcomes } = await killInRounds({
      list: () => listLiveAgentIds(client, config.TEMPORAL_TASK_QUEUE),
      kill: (ids) => killAgents(killSwitch, ids, order, config.TEMPORAL_TASK_QUEUE),
      lagMs: tuning.visibilityLagMs,
      maxListings: KILL_ALL_MAX_LISTINGS,
    });
    for (const o of outcomes) metrics.killed(o.outcome);
    const count = (...kinds: string[]) => outcomes.filter((o) => kinds.includes(o.outcome)).length;
    const killed = count('killed', 'forced');
    const errors = outcomes.filter((o) => o.outcome === 'failed').map((o) => ({ agentId: o.agentId, error: o.error ?? 'unknown error' }));
    logger.warn({ total: agentIds.length, killed, failed: errors.length, requestedBy: order.requestedBy }, 'kill-all: done');
    return {
      message: `Kill all completed: ${killed} killed, ${errors.length} failed`,
      total: agentIds.length,
      killed,
      failed: errors.length,
      alreadyFinished: count('already-finished', 'not-found'),
      forced: count('forced'),
      errors,
    };
  }

  async function transcript(agentId: string, page: { from: number; limit: number }): Promise<TranscriptPage> {
    // 404 for an agent nobody knows, or another namespace's (transcripts are keyed by agent alone).
    await status(agentId);
    // Made plain first: an escape inside a secret (coloured output) hides it from redaction, not from a reader.
    const stored = await readTranscriptPage(redis, agentId, page, (text) => redactSecrets(plainText(text)));
    if (stored) return stored;
    // An empty page for one with no conversation (yet, or any more).
    return { agentId, from: page.from, limit: page.limit, total: 0, messages: [] };
  }

  return { spawn, status, kill, killAll, transcript, retry, fork };
}

/** The server's budget ceilings (AGENT_MAX_*), which are also the budgets of a spawn that sets none. */
export function budgetCeilings(config: Config): BudgetCeilings {
  return {
    maxTurns: config.AGENT_MAX_TURNS,
    maxOutputTokens: config.AGENT_MAX_OUTPUT_TOKENS,
    maxCostUsd: config.AGENT_MAX_COST_USD,
    maxWallTimeSeconds: config.AGENT_MAX_WALL_TIME_SECONDS,
  };
}

/** The workflow input for a validated spawn request. */
export function buildRunInput(request: SpawnRequest, agentId: string, config: Config, at: Date): AgentRunInput {
  const { context } = request;
  return {
    agentId,
    taskId: request.taskId,
    agentType: request.agentType,
    gateProfile: request.gateProfile ?? DEFAULT_GATE_PROFILE[request.agentType],
    ...(request.missingGates ? { missingGates: request.missingGates } : {}),
    priority: request.priority ?? DEFAULT_PRIORITY,
    context: agentContextOf(context),
    spawnedAt: at.toISOString(),
    // A budget the spawn does not set is the server's ceiling.
    budgets: { ...budgetCeilings(config), ...request.budgets },
    maxFeedbackRounds: config.AGENT_MAX_FEEDBACK_ROUNDS,
    hostFailoverSeconds: config.HOST_FAILOVER_SECONDS,
  };
}

/**
 * Running agent workflows on this deployment's task queue, from visibility. Scoped to the task
 * queue so one deployment's kill-all never reaches another's agents on a shared namespace.
 */
export async function listLiveAgentIds(client: Client, taskQueue: string): Promise<string[]> {
  const query = runningAgentsQuery(taskQueue);
  const ids = new Set<string>();
  for await (const execution of client.workflow.list({ query })) {
    const agentId = agentIdFromWorkflowId(execution.workflowId);
    if (agentId) ids.add(agentId);
  }
  return [...ids];
}

/** Visibility query for the agent workflows running on a task queue. */
export function runningAgentsQuery(taskQueue: string): string {
  return `WorkflowType = '${WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND TaskQueue = ${quoteVisibilityString(taskQueue)}`;
}

function quoteVisibilityString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
