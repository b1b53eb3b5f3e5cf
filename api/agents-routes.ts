/** `/agents` routes: authenticate, validate, call one service function, answer. */
import { Router, type Request } from 'express';
import type { z } from 'zod';
import type { AgentsService } from './agents-service';
import { requesterOf, requireApiKey } from './auth';
import { InvalidRequestError } from './errors';
import { agentIdSchema, describeIssues, killRequestSchema, spawnRequestSchema, type BudgetCeilings } from './request-schemas';

export interface AgentsRouterOptions {
  /** `undefined` only when auth is disabled by configuration. */
  apiKey: string | undefined;
  allowedGitSchemes: readonly string[];
  budgetCeilings: BudgetCeilings;
}

export function agentsRouter(service: AgentsService, options: AgentsRouterOptions): Router {
  const spawnSchema = spawnRequestSchema({ allowedSchemes: options.allowedGitSchemes, ceilings: options.budgetCeilings });
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

  router.get('/:agentId/status', async (req, res) => {
    res.json(await service.status(agentIdParam(req)));
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

/** Parses or throws a 400 whose message names every bad field. */
function parse<S extends z.ZodType>(schema: S, value: unknown, root = 'body'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = describeIssues(result.error, root);
  throw new InvalidRequestError(issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
}
