/** `/agents` routes: authenticate, validate, call one service function, answer. */
import { Router, type Request } from 'express';
import type { z } from 'zod';
import type { AgentsService } from './agents-service';
import { requesterOf, requireApiKey } from './auth';
import { InvalidRequestError } from './errors';
import { serveEventStream, type EventStreamDeps } from './event-stream';
import {
  agentIdSchema,
  describeIssues,
  forkRequestSchema,
  idempotencyKeySchema,
  killRequestSchema,
  lastEventIdSchema,
  spawnRequestSchema,
  transcriptQuerySchema,
  type BudgetCeilings,
} from './request-schemas';

export interface AgentsRouterOptions {
  /** `undefined` only when auth is disabled by configuration. */
  apiKey: string | undefined;
  allowedGitSchemes: readonly string[];
  budgetCeilings: BudgetCeilings;
  events: EventStreamDeps;
}

export function agentsRouter(service: AgentsService, options: AgentsRouterOptions): Router {
  const spawnSchema = spawnRequestSchema({ allowedSchemes: options.allowedGitSchemes, ceilings: options.budgetCeilings });
  const forkSchema = forkRequestSchema(options.budgetCeilings);
  const router = Router();
  router.use(requireApiKey(options.apiKey));

  router.post('/spawn', async (req, res) => {
    const request = parse(spawnSchema, req.body);
    const spawned = await service.spawn(request);
    res.status(spawned.created ? 202 : 200).json({ agentId: spawned.agentId, status: spawned.status });
  });

  router.post('/kill-all', async (req, res) => {
    const body = parse(killRequestSchema, req.body);
    res.json(await service.killAll({ reason: body?.reason ?? 'kill-all via API', requestedBy: requesterOf(res) }));
  });

  router.get('/events', async (req, res) => {
    await serveEventStream(options.events, req, res, { kind: 'all' }, lastEventId(req));
  });

  router.get('/:agentId/status', async (req, res) => {
    res.json(await service.status(agentIdParam(req)));
  });

  router.get('/:agentId/events', async (req, res) => {
    const agentId = agentIdParam(req);
    const after = lastEventId(req);
    const { status, phase, completedAt } = await service.status(agentId);
    await serveEventStream(options.events, req, res, { kind: 'agent', agentId, status, ...(phase ? { phase } : {}), ...(completedAt ? { completedAt } : {}) }, after);
  });

  router.post('/:agentId/retry', async (req, res) => {
    const agentId = agentIdParam(req);
    const idempotencyKey = parse(idempotencyKeySchema, req.get('Idempotency-Key'), 'Idempotency-Key');
    const retried = await service.retry(agentId, idempotencyKey);
    res.status(retried.created ? 202 : 200).json({ agentId: retried.agentId, status: retried.status, retryOf: retried.retryOf });
  });

  router.post('/:agentId/fork', async (req, res) => {
    const agentId = agentIdParam(req);
    const { turn } = parse(forkSchema, req.body);
    const idempotencyKey = parse(idempotencyKeySchema, req.get('Idempotency-Key'), 'Idempotency-Key');
    const forked = await service.fork(agentId, turn, idempotencyKey);
    res.status(forked.created ? 202 : 200).json({ agentId: forked.agentId, status: forked.status, forkOf: forked.forkOf, turn: forked.turn });
  });

  router.get('/:agentId/transcript', async (req, res) => {
    const agentId = agentIdParam(req);
    const page = parse(transcriptQuerySchema, req.query, 'query');
    res.json(await service.transcript(agentId, page));
  });

  router.post('/:agentId/kill', async (req, res) => {
    const agentId = agentIdParam(req);
    const body = parse(killRequestSchema, req.body);
    res.json(await service.kill(agentId, { reason: body?.reason ?? 'killed via API', requestedBy: requesterOf(res) }));
  });

  return router;
}

function agentIdParam(req: Request): string {
  return parse(agentIdSchema, req.params.agentId, 'agentId');
}

function lastEventId(req: Request): string | undefined {
  return parse(lastEventIdSchema, req.get('Last-Event-ID'), 'Last-Event-ID');
}

/** Parses or throws a 400 whose message names every bad field. */
function parse<S extends z.ZodType>(schema: S, value: unknown, root = 'body'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = describeIssues(result.error, root);
  throw new InvalidRequestError(issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
}
