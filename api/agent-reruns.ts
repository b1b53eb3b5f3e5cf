/**
 * `POST /agents/:agentId/retry`: run a finished agent again. The new agent gets a new id and the
 * old run's input as the coordinator gave it (task, type, profile, priority, context, budgets; a
 * budget above today's server ceiling is lowered to it), and is linked to the old one: `retryOf` in its input (status, events),
 * the `RetryOf` search attribute, and a `retried` event on the old agent's stream.
 *
 * Idempotency: the same `Idempotency-Key` for the same agent answers the same new agent (the key is
 * claimed before anything starts, so concurrent requests with one key start one run); without a
 * key, the spawn claim still keeps a second live agent off the task.
 */
import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type Redis from 'ioredis';
import type { Config } from '../config';
import { agentContextOf, WORKFLOW_TYPE, workflowIdFor, type AgentRunInput, type AgentType } from '../domain/agent';
import { isTerminal, type AgentStatus } from '../domain/lifecycle';
import type { AgentEventLog } from '../state/agent-events';
import { keys } from '../state/keys';
import { readProjection, readWorkflowState, type StatusSourceDeps } from './agent-status';
import type { SpawnResult } from './agents-service';
import { AgentNotFoundError, ApiError } from './errors';
import type { BudgetCeilings, SpawnRequest } from './request-schemas';

export interface RetryResult {
  /** False when the same Idempotency-Key was used before, or a live agent already owns the task. */
  created: boolean;
  agentId: string;
  status: AgentStatus;
  retryOf: string;
  agentType: AgentType;
}

/** The agent is still running: a retry would race it (409). */
export class AgentLiveError extends ApiError {
  constructor(agentId: string, status: AgentStatus) {
    super(409, 'agent_live', `agent ${agentId} is still ${status}; kill it or wait for it to finish before retrying`);
    this.name = 'AgentLiveError';
  }
}

export interface RetryDeps {
  client: Client;
  redis: Redis;
  config: Config;
  statusSource: StatusSourceDeps;
  events: AgentEventLog;
  /** Today's budget ceilings: no retry runs with more. */
  ceilings: BudgetCeilings;
  /** Claims the task and starts a run (the spawn path), linked to `retryOf`. */
  startRun: (request: SpawnRequest, retryOf: string) => Promise<SpawnResult>;
  now: () => Date;
}

const PENDING = 'pending';

export function createRetries(deps: RetryDeps) {
  const { redis, config } = deps;

  async function retry(agentId: string, idempotencyKey?: string): Promise<RetryResult> {
    const workflow = await readWorkflowState(deps.statusSource, agentId, { query: false });
    if (!workflow) throw new AgentNotFoundError(agentId);
    // A run that recorded its final status is over, though its workflow may take a moment more to close.
    const stored = await readProjection(deps.statusSource.store, agentId);
    if (workflow.open && !(stored && isTerminal(stored.status))) throw new AgentLiveError(agentId, stored?.status ?? workflow.view.status);
    const input = await originalInput(agentId);
    const request = requestOf(input, deps.ceilings);

    if (!idempotencyKey) return start(agentId, request);
    const key = keys.retryIdempotency(agentId, idempotencyKey);
    const claimed = await redis.set(key, PENDING, 'EX', config.STATE_TTL_SECONDS, 'NX');
    if (claimed !== 'OK') {
      const earlier = await redis.get(key);
      if (!earlier || earlier === PENDING) throw new ApiError(409, 'retry_in_progress', 'a retry with this Idempotency-Key is in progress; repeat the request in a moment');
      return { created: false, agentId: earlier, status: 'spawning', retryOf: agentId, agentType: request.agentType };
    }
    try {
      const result = await start(agentId, request);
      await redis.set(key, result.agentId, 'EX', config.STATE_TTL_SECONDS);
      return result;
    } catch (err) {
      await redis.del(key);
      throw err;
    }
  }

  async function start(agentId: string, request: SpawnRequest): Promise<RetryResult> {
    const started = await deps.startRun(request, agentId);
    if (started.created) {
      // On the old agent's stream, which expires with its state (the run is over).
      await deps.events.append(
        { type: 'retried', agentId, retriedAs: started.agentId, at: deps.now().toISOString() },
        { dedupKey: `retried:${started.agentId}`, expireAfterSeconds: config.STATE_TTL_SECONDS },
      );
    }
    return { ...started, retryOf: agentId, agentType: request.agentType };
  }

  /**
   * The input the old run was started with, from the first event of its latest run's history
   * (one event is read, however long the history). A continued-as-new run carries the original
   * input plus its resume point, which a retry leaves out.
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

  return { retry };
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
