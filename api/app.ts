/**
 * The REST API as an Express app, built from its dependencies so tests can run it on a random
 * port against real servers. `api/main.ts` is the only place that creates the real clients.
 */
import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import { agentsRouter } from './agents-routes';
import { budgetCeilings, createAgentsService, type AgentsServiceDeps } from './agents-service';
import { errorHandler, notFoundHandler, requireJsonBody } from './http-errors';
import { healthRouter } from './health';

/** The service's dependencies, with the clock optional, plus what only the HTTP layer needs. */
export interface AppDeps extends Omit<AgentsServiceDeps, 'now'> {
  /** With the sandbox enabled: answers when the Docker engine does (a readiness check). */
  pingSandbox?: () => Promise<void>;
  /** Clock for timestamps (spawnedAt, audit records). @default () => new Date() */
  now?: () => Date;
}

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
  const service = createAgentsService({ ...deps, now });
  const app = express();
  app.disable('x-powered-by');
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
  app.use(express.json({ limit: config.ORCHESTRATOR_BODY_LIMIT }));

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
  app.use('/agents', agentsRouter(service, { apiKey, allowedGitSchemes: config.GIT_ALLOWED_SCHEMES, budgetCeilings: budgetCeilings(config) }));

  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}
