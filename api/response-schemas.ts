/**
 * What the API answers, as zod schemas. They are the response half of the OpenAPI document
 * (api/openapi.ts); tests check real responses against them. The status view is open to new
 * fields (it is the workflow's projection and grows with it); everything else is exact.
 */
import { z } from 'zod';
import { AGENT_TYPES } from '../domain/agent';
import { AGENT_EVENT_TYPES } from '../domain/agent-events';
import { BUDGET_NAMES } from '../domain/budgets';
import { GATE_NAMES, GATE_OUTCOMES } from '../domain/gates';
import { AGENT_STATUSES } from '../domain/lifecycle';

const agentStatus = z.enum(AGENT_STATUSES);
const agentType = z.enum(AGENT_TYPES);
const isoTime = z.string().describe('ISO 8601 time');
const count = z.number().int().min(0);
const uuid = z.string().describe('agent id (UUID)');

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string().describe('stable machine-readable code, e.g. validation_failed, not_found, unauthorized'),
      message: z.string().describe('names the offending field for bad input'),
      details: z.unknown().optional(),
    }),
  });

const gateResult = z.looseObject({
  name: z.enum(GATE_NAMES),
  // The domain's list: a copy here lacked `skipped`, and the API's answers broke its own document.
  outcome: z.enum(GATE_OUTCOMES),
  durationMs: z.number().min(0),
  commitSha: z.string().optional(),
  command: z.string().optional(),
  exitCode: z.number().int().nullable().optional(),
  outputTail: z.string().optional(),
  detail: z.string().optional(),
});

// Tokens and dollars so far (domain/agent.ts RunUsage).
const usage = {
  inputTokens: count.describe('input tokens at the full price (after the last cache breakpoint)'),
  outputTokens: count,
  cacheCreationInputTokens: count.optional().describe('input tokens written to the prompt cache'),
  cacheReadInputTokens: count.optional().describe('input tokens read from the prompt cache'),
  costUsd: z.number().min(0).optional().describe('USD at the price table, all model turns so far'),
};

const review = z.looseObject({
  verdict: z.enum(['approve', 'request_changes', 'none']),
  findings: z.array(z.looseObject({ severity: z.string().optional(), file: z.string().optional(), line: count.optional(), text: z.string() })),
  summary: z.string(),
});

const agentResult = z.looseObject({
  branch: z.string().optional(),
  commitSha: z.string().optional(),
  pushed: z.boolean(),
  salvageRef: z.string().optional(),
  gates: z.array(gateResult).optional(),
  turns: count,
  ...usage,
  review: review.optional().describe("reviewers: the verdict and findings of their final answer"),
});

const progress = z.looseObject({
  turn: count,
  ...usage,
  lastTurn: z
    .looseObject({ turn: count, costUsd: z.number().min(0), contextTokens: count.optional() })
    .optional()
    .describe('the last model turn: its cost and the estimated tokens it sent'),
});

export const statusViewSchema = z
  .looseObject({
    agentId: uuid,
    taskId: z.string(),
    agentType,
    status: agentStatus,
    phase: z.string().optional(),
    spawnedAt: isoTime,
    startedAt: isoTime.optional(),
    completedAt: isoTime.optional(),
    error: z.string().optional(),
    errorType: z.string().optional(),
    result: agentResult.optional(),
    progress: progress.optional(),
    exceededBudget: z.enum(BUDGET_NAMES).optional().describe('set when the run failed with BudgetExceeded: which budget'),
    retryOf: uuid.optional().describe('the agent this run retries'),
    forkOf: uuid.optional().describe('the agent this run was forked from'),
    forkedAtTurn: count.optional().describe('the turn of `forkOf` this run starts after'),
  });

export const spawnResponseSchema = z.object({ agentId: uuid, status: agentStatus });

export const retryResponseSchema = z.object({ agentId: uuid, status: agentStatus, retryOf: uuid });

export const forkResponseSchema = z.object({ agentId: uuid, status: agentStatus, forkOf: uuid, turn: count.describe('the turn of `forkOf` the new agent starts after') });

export const killResponseSchema = statusViewSchema
  .extend({
    alreadyFinished: z.boolean(),
    forced: z.boolean(),
    containersRemoved: count.optional(),
  });

export const killAllResponseSchema = z.object({
  message: z.string(),
  total: count,
  killed: count,
  failed: count,
  alreadyFinished: count,
  forced: count,
  errors: z.array(z.object({ agentId: uuid, error: z.string() })),
});

export const transcriptPageSchema = z.object({
  agentId: uuid,
  from: count,
  limit: count,
  total: count.describe('messages stored for this agent'),
  messages: z.array(
    z.object({
      index: count,
      role: z.enum(['user', 'assistant']),
      content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]).describe('as in the Messages API, every string redacted'),
    }),
  ),
  nextFrom: count.optional().describe('`from` of the next page, when there is one'),
});

export const healthSchema = z.object({ status: z.literal('ok'), uptime: count.describe('seconds since the API started') });

const check = z.object({ status: z.enum(['up', 'down']), error: z.string().optional() });
const checks = z.object({ temporal: check.optional(), worker: check.optional(), valkey: check.optional(), sandbox: check.optional() });
export const readySchema = z.object({ status: z.literal('ready'), checks });
export const notReadySchema = z.object({ status: z.literal('not_ready'), down: z.array(z.enum(['temporal', 'valkey', 'worker', 'sandbox'])), checks });

// Events (domain/agent-events.ts), as carried in the `data` of each Server-Sent Event.
const eventBase = { agentId: uuid, at: isoTime };
const toolLines = z.array(z.string()).describe('one redacted line per tool call, e.g. "bash: npm test → exit 1"');
export const agentEventSchema = z
  .discriminatedUnion('type', [
    z.looseObject({
      ...eventBase,
      type: z.literal('lifecycle'),
      taskId: z.string(),
      agentType: agentType.optional(),
      from: agentStatus.nullable(),
      to: agentStatus,
      reason: z.string().optional(),
      retryOf: uuid.optional(),
      forkOf: uuid.optional(),
      forkedAtTurn: count.optional(),
    }),
    z.looseObject({ ...eventBase, type: z.literal('phase'), taskId: z.string(), phase: z.string() }),
    z.looseObject({
      ...eventBase,
      type: z.literal('turn'),
      agentType: agentType.optional(),
      turn: count,
      stopReason: z.string().nullable(),
      inputTokens: count,
      outputTokens: count,
      cacheReadInputTokens: count.optional(),
      cacheCreationInputTokens: count.optional(),
      costUsd: z.number().min(0).optional(),
      tools: toolLines,
    }),
    z.looseObject({ ...eventBase, type: z.literal('tools'), agentType: agentType.optional(), turn: count, tools: toolLines, failed: count }),
    z.looseObject({
      ...eventBase,
      type: z.literal('gates'),
      phase: z.enum(['pre-commit', 'post-commit']),
      round: count,
      passed: z.boolean(),
      gates: z.array(z.object({ name: z.enum(GATE_NAMES), outcome: gateResult.shape.outcome, durationMs: z.number().min(0) })),
    }),
    z.looseObject({ ...eventBase, type: z.literal('retried'), retriedAs: uuid }),
    z.looseObject({ ...eventBase, type: z.literal('forked'), forkedAs: uuid, turn: count }),
  ]);

/** One Server-Sent Event as the stream carries it: `id` (the stream id), `event` (the type), `data` (JSON). */
export function sseEventSchema(dataSchema: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'object',
    required: ['id', 'event', 'data'],
    properties: {
      id: { type: 'string', pattern: '^[0-9]+-[0-9]+$', description: 'stream id; send it back as Last-Event-ID to resume' },
      event: { type: 'string', enum: [...AGENT_EVENT_TYPES] },
      data: { type: 'string', contentMediaType: 'application/json', contentSchema: dataSchema },
    },
  };
}
