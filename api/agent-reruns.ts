/**
 * Runs that start again from a finished one, as new agents with new ids and the old run's input
 * as the coordinator gave it (task, type, profile, priority, context, budgets; a budget above
 * today's server ceiling is lowered to it):
 *
 *   POST /agents/:agentId/retry         the same input, from the start
 *   POST /agents/:agentId/fork {turn}   the old conversation's first `turn` turns and the worktree
 *                                       as it was after them (workflows/fork.ts)
 *
 * Both refuse a run still live (409), and link the new agent to the old one: `retryOf` / `forkOf`
 * in its input (status, events), the `RetryOf` / `ForkOf` search attribute, and a `retried` /
 * `forked` event on the old agent's stream.
 *
 * Idempotency: the same `Idempotency-Key` for the same request answers the same new agent (the key
 * is claimed before anything starts, so concurrent requests with one key start one run); without a
 * key, the spawn claim still keeps a second live agent off the task.
 */
import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type Redis from 'ioredis';
import type { Config } from '../config';
import { agentContextOf, WORKFLOW_TYPE, workflowIdFor, type AgentRunInput, type AgentType, type ForkSource } from '../domain/agent';
import type { AgentEvent } from '../domain/agent-events';
import { isTerminal, type AgentStatus } from '../domain/lifecycle';
import type { AgentEventLog } from '../state/agent-events';
import { forkableTurns } from '../state/fork-source';
import { keys } from '../state/keys';
import { PENDING, RerunKeys } from '../state/rerun-keys';
import { TranscriptStore } from '../state/transcript-store';
import { readProjection, readWorkflowState, type StatusSourceDeps } from './agent-status';
import type { SpawnResult } from './agents-service';
import { AgentNotFoundError, ApiError, InvalidRequestError } from './errors';
import type { BudgetCeilings, SpawnRequest } from './request-schemas';

interface RerunResult {
  /** False when the same Idempotency-Key was used before, or a live agent already owns the task. */
  created: boolean;
  agentId: string;
  status: AgentStatus;
  agentType: AgentType;
}

export interface RetryResult extends RerunResult {
  retryOf: string;
}

export interface ForkResult extends RerunResult {
  forkOf: string;
  turn: number;
}

/** How a new run is linked to the one it starts from. */
export type RunLink = { retryOf: string } | { forkOf: ForkSource };

/** The agent is still running: a retry or fork would race it (409). */
export class AgentLiveError extends ApiError {
  constructor(agentId: string, status: AgentStatus) {
    super(409, 'agent_live', `agent ${agentId} is still ${status}; kill it or wait for it to finish before retrying or forking it`);
    this.name = 'AgentLiveError';
  }
}

export interface RerunDeps {
  client: Client;
  redis: Redis;
  config: Config;
  statusSource: StatusSourceDeps;
  events: AgentEventLog;
  /** Today's budget ceilings: no retry or fork runs with more. */
  ceilings: BudgetCeilings;
  /** Claims the task and starts a run (the spawn path), linked to the run it starts from. */
  startRun: (request: SpawnRequest, link: RunLink) => Promise<SpawnResult>;
  now: () => Date;
}

/** The agent holds as many Idempotency-Keys as the API keeps for one agent (429). */
export class TooManyIdempotencyKeysError extends ApiError {
  constructor(agentId: string, max: number) {
    super(
      429,
      'too_many_idempotency_keys',
      `agent ${agentId} has ${max} Idempotency-Keys of retries and forks, as many as the API keeps for one agent (ORCHESTRATOR_MAX_IDEMPOTENCY_KEYS_PER_AGENT); repeat one of them, or send the request without one`,
    );
    this.name = 'TooManyIdempotencyKeysError';
  }
}

export function createReruns(deps: RerunDeps) {
  const { redis, config } = deps;
  const transcripts = new TranscriptStore(redis);
  const rerunKeys = new RerunKeys(redis, { max: config.ORCHESTRATOR_MAX_IDEMPOTENCY_KEYS_PER_AGENT, ttlSeconds: config.STATE_TTL_SECONDS });

  async function retry(agentId: string, idempotencyKey?: string): Promise<RetryResult> {
    const request = requestOf(await finishedRunInput(agentId), deps.ceilings);
    const claim = idempotencyKey ? { field: `retry:${idempotencyKey}`, legacyKey: keys.retryIdempotency(agentId, idempotencyKey) } : undefined;
    const started = await once(agentId, claim, 'retry', () =>
      startLinked(request, { retryOf: agentId }, (newId) => ({ type: 'retried', agentId, retriedAs: newId, at: deps.now().toISOString() })),
    );
    return { ...started, retryOf: agentId, agentType: request.agentType };
  }

  /** @throws InvalidRequestError when the run has fewer forkable turns than `turn` */
  async function fork(agentId: string, turn: number, idempotencyKey?: string): Promise<ForkResult> {
    const request = requestOf(await finishedRunInput(agentId), deps.ceilings);
    const stored = await transcripts.count(agentId);
    if (stored === 0) throw new ApiError(410, 'fork_source_gone', `agent ${agentId} has no stored conversation left to fork (it expires STATE_TTL_SECONDS after the run ends)`);
    const turns = forkableTurns(stored);
    if (turn > turns) {
      const message = `must be at most ${turns}: agent ${agentId} has ${turns} turn(s) whose tool results or feedback are stored`;
      throw new InvalidRequestError(`turn: ${message}`, [{ path: 'turn', message }]);
    }
    const claim = idempotencyKey ? { field: `fork:${turn}:${idempotencyKey}`, legacyKey: keys.forkIdempotency(agentId, turn, idempotencyKey) } : undefined;
    const started = await once(agentId, claim, 'fork', () =>
      startLinked(request, { forkOf: { agentId, turn } }, (newId) => ({ type: 'forked', agentId, forkedAs: newId, turn, at: deps.now().toISOString() })),
    );
    return { ...started, forkOf: agentId, turn, agentType: request.agentType };
  }

  /** The input of a run that is over; 404 for an unknown agent, 409 for one still live. */
  async function finishedRunInput(agentId: string): Promise<AgentRunInput> {
    const workflow = await readWorkflowState(deps.statusSource, agentId, { query: false });
    if (!workflow) throw new AgentNotFoundError(agentId);
    // A run that recorded its final status is over, though its workflow may take a moment more to close.
    const stored = await readProjection(deps.statusSource.store, agentId);
    if (workflow.open && !(stored && isTerminal(stored.status))) throw new AgentLiveError(agentId, stored?.status ?? workflow.view.status);
    return originalInput(agentId);
  }

  /**
   * Starts the run once per idempotency key (`claim`, when the client sent one).
   * @throws TooManyIdempotencyKeysError for a new key when the agent holds the most it may
   */
  async function once(agentId: string, claim: { field: string; legacyKey: string } | undefined, what: string, start: () => Promise<SpawnResult>): Promise<SpawnResult> {
    if (!claim) return start();
    const hashKey = keys.rerunIdempotency(agentId);
    const claimed = await rerunKeys.claim(hashKey, claim.field, claim.legacyKey);
    if (claimed.kind === 'full') throw new TooManyIdempotencyKeysError(agentId, config.ORCHESTRATOR_MAX_IDEMPOTENCY_KEYS_PER_AGENT);
    if (claimed.kind === 'earlier') {
      if (claimed.value === PENDING) throw new ApiError(409, `${what}_in_progress`, `a ${what} with this Idempotency-Key is in progress; repeat the request in a moment`);
      return { created: false, agentId: claimed.value, status: 'spawning' };
    }
    try {
      const result = await start();
      await rerunKeys.settle(hashKey, claim.field, result.agentId);
      return result;
    } catch (err) {
      await rerunKeys.release(hashKey, claim.field);
      throw err;
    }
  }

  /** Starts the linked run and tells the old agent's stream what it became. */
  async function startLinked(request: SpawnRequest, link: RunLink, eventFor: (newAgentId: string) => AgentEvent): Promise<SpawnResult> {
    const started = await deps.startRun(request, link);
    if (started.created) {
      const event = eventFor(started.agentId);
      // On the old agent's stream, which expires with its state (the run is over).
      await deps.events.append(event, { dedupKey: `${event.type}:${started.agentId}`, expireAfterSeconds: config.STATE_TTL_SECONDS });
    }
    return started;
  }

  /**
   * The input the old run was started with, from the first event of its latest run's history
   * (one event is read, however long the history). A continued-as-new run carries the original
   * input plus its resume point, which a rerun leaves out.
   */
  async function originalInput(agentId: string): Promise<AgentRunInput> {
    const { history } = await deps.client.workflowService.getWorkflowExecutionHistory({
      namespace: config.TEMPORAL_NAMESPACE,
      execution: { workflowId: workflowIdFor(agentId) },
      maximumPageSize: 1,
    });
    const started = history?.events?.[0]?.workflowExecutionStartedEventAttributes;
    if (!started || started.workflowType?.name !== WORKFLOW_TYPE) throw new AgentNotFoundError(agentId);
    return decodeFromPayloadsAtIndex<AgentRunInput>(deps.client.options.loadedDataConverter, 0, started.input?.payloads);
  }

  return { retry, fork };
}

/**
 * The spawn request an agent run was started from. Its budgets are the run's own (what it asked
 * for, or the ceilings of the day it started), each held under today's ceiling.
 */
export function requestOf(input: AgentRunInput, ceilings: BudgetCeilings): SpawnRequest {
  const { context, budgets } = input;
  return {
    taskId: input.taskId,
    agentType: input.agentType,
    gateProfile: input.gateProfile,
    ...(input.missingGates ? { missingGates: input.missingGates } : {}),
    priority: input.priority,
    budgets: {
      maxTurns: Math.min(budgets.maxTurns, ceilings.maxTurns),
      maxOutputTokens: Math.min(budgets.maxOutputTokens, ceilings.maxOutputTokens),
      maxWallTimeSeconds: Math.min(budgets.maxWallTimeSeconds, ceilings.maxWallTimeSeconds),
      // Runs from before dollar budgets had none: today's ceiling applies.
      maxCostUsd: Math.min(budgets.maxCostUsd ?? ceilings.maxCostUsd, ceilings.maxCostUsd),
    },
    context: agentContextOf(context),
  };
}
