/**
 * The REST API as an Express app, built from its dependencies so tests can run it on a random
 * port against real servers. `api/main.ts` is the only place that creates the real clients.
 */
import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import { SA } from '../domain/search-attributes';
import { AgentEventLog } from '../state/agent-events';
import { agentsRouter } from './agents-routes';
import { budgetCeilings, createAgentsService, runningAgentsQuery, type AgentsServiceDeps } from './agents-service';
import type { EventFeed } from './event-feed';
import { EventStreamSlots } from './event-stream';
import { ApiError } from './errors';
import { noteDuplicateKeys, refuseDuplicateKeys } from './duplicate-keys';
import { errorHandler, notFoundHandler, requireJsonBody } from './http-errors';
import { healthRouter } from './health';
import { createApiMetrics } from './metrics';
import { cutRunawayBodies } from './runaway-bodies';
import { buildOpenApiDocument, documentedMethods, operations } from './openapi';

/** The service's dependencies, with the clock optional, plus what only the HTTP layer needs. */
export interface AppDeps extends Omit<AgentsServiceDeps, 'now' | 'metrics'> {
  /** With the sandbox enabled: answers when the Docker engine does (a readiness check). */
  pingSandbox?: () => Promise<void>;
  /** Clock for timestamps (spawnedAt, audit records). @default () => new Date() */
  now?: () => Date;
  /** The tail of the global event stream (api/event-feed.ts); its owner stops it. */
  eventFeed: EventFeed;
  /** Aborted when the process stops: open event streams end, or the server would wait on them to close. */
  closing?: AbortSignal;
}

/** Version of the REST contract, in the OpenAPI document. */
export const API_VERSION = '1.1.0';

/** Header values never written to logs. */
export const REDACTED_LOG_PATHS = ['req.headers["x-api-key"]', 'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'];

export class AuthConfigurationError extends Error {
  constructor() {
    super('ORCHESTRATOR_API_KEY is not set; set it, or set ORCHESTRATOR_AUTH_DISABLED=true to run without authentication');
    this.name = 'AuthConfigurationError';
  }
}

/**
 * Builds the app. Refuses to build without `ORCHESTRATOR_API_KEY` unless
 * `ORCHESTRATOR_AUTH_DISABLED=true`, which is logged as a warning every time.
 * @throws AuthConfigurationError
 */
export function createApp(deps: AppDeps): Express {
  const { config, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const apiKey = config.ORCHESTRATOR_AUTH_DISABLED ? undefined : config.ORCHESTRATOR_API_KEY;
  if (config.ORCHESTRATOR_AUTH_DISABLED) {
    logger.warn('ORCHESTRATOR_AUTH_DISABLED=true: the /agents API accepts requests without an API key');
  } else if (!apiKey) {
    throw new AuthConfigurationError();
  }

  const startedAt = now().getTime();
  const ceilings = budgetCeilings(config);
  const runningOnQueue = runningAgentsQuery(config.TEMPORAL_TASK_QUEUE);
  const metrics = createApiMetrics({
    countActiveAgents: async (agentType) => (await deps.client.workflow.count(`${runningOnQueue} AND ${SA.agentType.name} = '${agentType}'`)).count,
  });
  deps.eventFeed.subscribe((event) => metrics.observe(event));
  const service = createAgentsService({ ...deps, metrics, now });
  const app = express();
  app.disable('x-powered-by');
  app.use(metrics.httpMiddleware);
  app.use(
    pinoHttp({
      logger: logger.child({ component: 'http' }, { redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' } }),
      genReqId: () => randomUUID(),
      customLogLevel: (req, res, err) => {
        // Probes hit /health every few seconds: quiet unless not ready.
        if (req.url?.startsWith('/health')) return res.statusCode >= 400 ? 'warn' : 'debug';
        if (err || res.statusCode >= 500) return 'error';
        return res.statusCode >= 400 ? 'warn' : 'info';
      },
    }),
  );
  app.use(requireJsonBody);
  app.use(cutRunawayBodies(config.ORCHESTRATOR_BODY_LIMIT));
  app.use(express.json({ limit: config.ORCHESTRATOR_BODY_LIMIT, verify: noteDuplicateKeys }));
  app.use(refuseDuplicateKeys);

  app.use(
    '/health',
    healthRouter({
      client: deps.client,
      redis: deps.redis,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      pingSandbox: deps.pingSandbox,
      logger,
      uptimeSeconds: () => Math.floor((now().getTime() - startedAt) / 1000),
    }),
  );
  // Unauthenticated like /health, and bound to the same address: scrapers reach it where probes do.
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.use(
    '/agents',
    agentsRouter(service, {
      apiKey,
      allowedGitSchemes: config.GIT_ALLOWED_SCHEMES,
      budgetCeilings: ceilings,
      events: {
        log: new AgentEventLog(deps.redis, { namespace: config.TEMPORAL_NAMESPACE }),
        feed: deps.eventFeed,
        logger,
        slots: new EventStreamSlots(config.ORCHESTRATOR_MAX_EVENT_STREAMS),
        drainTimeoutMs: config.ORCHESTRATOR_RESPONSE_TIMEOUT_SECONDS * 1000,
        ...(deps.closing ? { closing: deps.closing } : {}),
      },
    }),
  );

  const documented = operations({ allowedSchemes: config.GIT_ALLOWED_SCHEMES, ceilings });
  const openApiDocument = buildOpenApiDocument(documented, API_VERSION);
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });
  // A documented path with another method: 405 naming the methods it has (RFC 9110), not 404.
  app.use((req, res, next) => {
    const allowed = documentedMethods(documented, req.path);
    if (!allowed) {
      next();
      return;
    }
    res.set('Allow', allowed.join(', '));
    next(new ApiError(405, 'method_not_allowed', `${req.method} is not allowed on ${req.path.slice(0, 200)}; allowed: ${allowed.join(', ')}`));
  });
  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}
