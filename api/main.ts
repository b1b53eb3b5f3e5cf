/**
 * Starts the REST API: loads configuration, creates the Temporal and Valkey clients, listens on
 * ORCHESTRATOR_HOST:ORCHESTRATOR_PORT, and shuts down cleanly on SIGINT/SIGTERM.
 */
import { once } from 'node:events';
import { Client, Connection } from '@temporalio/client';
import Docker from 'dockerode';
import Redis from 'ioredis';
import { loadConfig, sandboxRuntime } from '../config';
import { AgentStateStore } from '../state/agent-state-store';
// The composition root wires the container remover the killswitch needs when no worker answers.
import { deploymentOf, removeAgentContainers as removeContainersByLabel } from '../activities/sandbox';
import { createApp, REDACTED_LOG_PATHS } from './app';
import { startEventFeed } from './event-feed';
import { createApiServer } from './http-server';
import { createRedactingLogger } from '../worker/logger';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createRedactingLogger('orchestrator-api', { level: config.LOG_LEVEL, redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' } });

  // Lazy: the API starts (and /health/ready reports Temporal down) even when Temporal is not up yet.
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  // Fail fast while Valkey is away instead of queueing requests behind reconnects.
  const redis = new Redis({
    host: config.VALKEY_HOST,
    port: config.VALKEY_PORT,
    password: config.VALKEY_PASSWORD,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
  });
  let stopping = false;
  // While stopping, a lost Valkey is expected (a terminal's Ctrl-C stops the dev Valkey too).
  redis.on('error', (err: Error) => {
    if (!stopping) logger.warn({ err: err.message }, 'valkey connection error');
  });
  const store = new AgentStateStore(redis, { terminalTtlSeconds: config.STATE_TTL_SECONDS, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE });

  // The killswitch removes an agent's containers by label itself when no worker is left to do it.
  const docker = sandboxRuntime(config) === 'docker' ? new Docker({ socketPath: config.DOCKER_SOCKET }) : undefined;
  const removeAgentContainers = docker
    ? (agentId: string) => removeContainersByLabel(docker, agentId, config.SANDBOX_GRACEFUL_STOP_TIMEOUT_SECONDS, deploymentOf(config))
    : undefined;
  const pingSandbox = docker ? async () => void (await docker.ping()) : undefined;
  const eventFeed = startEventFeed(redis, {
    namespace: config.TEMPORAL_NAMESPACE,
    onError: (err) => {
      if (!stopping) logger.warn({ err: (err as Error).message }, 'event stream tail: read failed; retrying');
    },
  });
  const closing = new AbortController();
  const app = createApp({ client, redis, store, config, logger, removeAgentContainers, pingSandbox, eventFeed, closing: closing.signal });
  const server = createApiServer(app, config);
  server.listen(config.ORCHESTRATOR_PORT, config.ORCHESTRATOR_HOST);
  await once(server, 'listening');
  logger.info({ host: config.ORCHESTRATOR_HOST, port: config.ORCHESTRATOR_PORT, taskQueue: config.TEMPORAL_TASK_QUEUE }, 'orchestrator API listening');

  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    closing.abort(); // event streams end: they would keep the server open as long as their runs
    server.closeIdleConnections();
    await closed;
    await eventFeed.stop();
    await redis.quit().catch(() => redis.disconnect());
    await connection.close();
    logger.info('stopped');
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      shutdown(signal).catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
    });
  }
}

main().catch((err: unknown) => {
  // Bootstrap errors only, as one stderr line (the configured logger may not exist yet):
  // configuration errors name the variable, never a secret value, and carry no stack trace.
  process.stderr.write(`orchestrator API: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
