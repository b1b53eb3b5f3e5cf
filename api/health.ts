/**
 * `GET /health` (the process answers) and `GET /health/ready` (it can do its job: Temporal
 * answers, Valkey answers, and a worker polls the task queue). No auth: probes call these, so
 * a failed check says only what failed and whether it timed out; the underlying error (hosts,
 * ports, driver messages) goes to the log, never into the answer.
 */
import { Router } from 'express';
import type { Client } from '@temporalio/client';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { hasWorkflowPollers } from './agent-status';
import { TimeoutError, withTimeout } from './concurrency';
import { errorMessage } from './errors';

export interface ReadinessDeps {
  client: Client;
  redis: Redis;
  namespace: string;
  taskQueue: string;
  /**
   * Longest any one check may take.
   * @default 2000
   */
  checkTimeoutMs?: number;
  /** Present when SANDBOX_ENABLED: agents cannot run without a Docker engine. */
  pingSandbox?: () => Promise<void>;
  /** Where the errors behind failed checks are written. */
  logger?: Pick<Logger, 'warn'>;
}

export interface CheckResult {
  status: 'up' | 'down';
  error?: string;
}

export type CheckName = 'temporal' | 'valkey' | 'worker' | 'sandbox';

export interface ReadinessReport {
  ready: boolean;
  /** Names of the failed checks. */
  down: CheckName[];
  checks: Partial<Record<CheckName, CheckResult>>;
}

const up: CheckResult = { status: 'up' };
const down = (error: string): CheckResult => ({ status: 'down', error });

/** Runs the readiness checks concurrently, each bounded by a timeout. */
export async function checkReadiness(deps: ReadinessDeps): Promise<ReadinessReport> {
  const timeoutMs = deps.checkTimeoutMs ?? 2000;
  const probe = (check: CheckName, p: Promise<unknown>, what: string) =>
    withTimeout(p, timeoutMs, what).then(
      () => up,
      (err: unknown) => failed(deps, check, err, what, timeoutMs),
    );
  const [temporalAndWorker, valkey, sandbox] = await Promise.all([
    checkTemporal(deps, timeoutMs),
    probe('valkey', deps.redis.ping(), 'Valkey PING'),
    deps.pingSandbox ? probe('sandbox', deps.pingSandbox(), 'Docker engine ping') : undefined,
  ]);
  const checks: ReadinessReport['checks'] = { ...temporalAndWorker, valkey, ...(sandbox ? { sandbox } : {}) };
  const downNames = (Object.keys(checks) as CheckName[]).filter((name) => checks[name]?.status === 'down');
  return { ready: downNames.length === 0, down: downNames, checks };
}

async function checkTemporal(deps: ReadinessDeps, timeoutMs: number): Promise<Pick<ReadinessReport['checks'], 'temporal' | 'worker'>> {
  try {
    const polled = await deps.client.withDeadline(Date.now() + timeoutMs, () => hasWorkflowPollers(deps.client, deps.namespace, deps.taskQueue));
    return { temporal: up, worker: polled ? up : down(`no worker polls task queue "${deps.taskQueue}"`) };
  } catch (err) {
    return { temporal: failed(deps, 'temporal', err, 'Temporal', timeoutMs), worker: down('unknown: Temporal did not answer') };
  }
}

/** A down check with a fixed message; the error itself is logged. */
function failed(deps: ReadinessDeps, check: CheckName, err: unknown, what: string, timeoutMs: number): CheckResult {
  deps.logger?.warn({ check, err: errorMessage(err) }, 'readiness check failed');
  const timedOut = err instanceof TimeoutError || /deadline|timed out/i.test(errorMessage(err));
  return down(timedOut ? `${what} did not answer within ${timeoutMs} ms` : `${what} failed`);
}

export function healthRouter(deps: ReadinessDeps & { uptimeSeconds: () => number }): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    res.json({ status: 'ok', uptime: deps.uptimeSeconds() });
  });
  router.get('/ready', async (_req, res) => {
    const report = await checkReadiness(deps);
    if (report.ready) res.json({ status: 'ready', checks: report.checks });
    else res.status(503).json({ status: 'not_ready', down: report.down, checks: report.checks });
  });
  return router;
}
