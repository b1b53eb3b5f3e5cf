/**
 * Worker process: connects to Temporal, Valkey and (when the sandbox is enabled) Docker, runs the
 * agentRun workflow and its activities, and reaps worktrees and containers of closed workflows.
 */
import { accessSync, constants, statSync } from 'node:fs';
import Docker from 'dockerode';
import Redis from 'ioredis';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig, modelApiKey, sandboxRuntime } from '../config';
import { buildActivities } from './wiring';
import { createWorkers, slotsFromConfig } from './create-worker';
import { valkeyRecordTargets, workflowCloseStatus } from './closed-check';
import { startReaper, type ReapLookup } from './reaper';
import { createWorkerLogger, temporalLogger } from './logger';
import { claimWorkspaceRoot } from './workspace-owner';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  assertReadableFiles(config);
  const log = createWorkerLogger(config.LOG_LEVEL);
  claimWorkspaceRoot(config.WORKSPACE_ROOT, config.TEMPORAL_NAMESPACE);
  const metrics = config.WORKER_METRICS_ADDRESS !== 'off';
  Runtime.install({
    logger: temporalLogger(log),
    telemetryOptions: {
      // Core's own lines (Rust) go to that logger too: without `forward` core writes them to stderr
      // itself, a failed workflow task's message and stack as they are. Core's default levels.
      logging: { forward: {}, filter: { core: 'WARN', other: 'ERROR' } },
      // Temporal's own SDK metrics (task slots, poll and schedule latencies, sticky cache...) for Prometheus.
      // The API's /metrics has the agent-level figures; this is the worker's view of Temporal.
      ...(metrics ? { metrics: { prometheus: { bindAddress: config.WORKER_METRICS_ADDRESS, countersTotalSuffix: true, useSecondsForDurations: true } } } : {}),
    },
  });
  if (metrics) log.info({ address: config.WORKER_METRICS_ADDRESS }, 'Temporal SDK metrics served at /metrics');
  if (!modelApiKey(config)) log.warn('CLAUDE_API_KEY (or ANTHROPIC_API_KEY) is not set: agent runs will fail at their first model call');

  const redis = new Redis({ host: config.VALKEY_HOST, port: config.VALKEY_PORT, password: config.VALKEY_PASSWORD, maxRetriesPerRequest: 3 });
  let stopping = false;
  // Without a listener ioredis prints every failed reconnect as an unhandled error. While stopping
  // they are expected: a terminal's Ctrl-C stops the dev Valkey beside this worker.
  redis.on('error', (err: Error) => {
    if (!stopping) log.warn({ err: err.message }, 'valkey connection error');
  });
  const runtimeKind = sandboxRuntime(config);
  const docker = runtimeKind === 'docker' ? new Docker({ socketPath: config.DOCKER_SOCKET }) : undefined;
  const client = new Client({ connection: await Connection.connect({ address: config.TEMPORAL_ADDRESS }), namespace: config.TEMPORAL_NAMESPACE });
  const { activities, workspaces, homes, scratch, sandbox, runtime, host, deps } = buildActivities(config, {
    redis,
    temporal: client.connection,
    docker,
    log: (msg, meta) => log.debug(meta ?? {}, msg),
  });
  try {
    const { warning } = await runtime.probe();
    if (warning) log.warn({ sandboxRuntime: runtimeKind }, warning);
  } catch (err) {
    throw new Error(
      runtimeKind === 'docker'
        ? `the Docker sandbox is configured (SANDBOX_RUNTIME=docker or SANDBOX_ENABLED=true) but no Docker engine answers at ${config.DOCKER_SOCKET}: ${(err as Error).message}`
        : `SANDBOX_RUNTIME=${runtimeKind}: ${(err as Error).message}. Install bubblewrap (apt-get install bubblewrap), use SANDBOX_RUNTIME=docker, or opt out of isolation with SANDBOX_RUNTIME=none`,
    );
  }
  if (runtimeKind === 'none') {
    log.warn(
      { sandboxRuntime: 'none' },
      'SANDBOX_RUNTIME=none: NO ISOLATION. Agent commands and gates run on this host as the worker user and can read its files and environment; use only for trusted agents',
    );
  }

  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const slots = slotsFromConfig(config);
  const worker = await createWorkers({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    host,
    activities,
    slots,
    // Bundled ahead of time (npm run bundle:workflows), a worker starts in a second instead of bundling with webpack.
    ...(config.WORKFLOW_BUNDLE_PATH ? { workflowBundle: { codePath: config.WORKFLOW_BUNDLE_PATH } } : {}),
  });

  const idle = { signal: new AbortController().signal, onProgress: () => undefined };
  // Before a closed run's worktree or home goes: no turn of it and no container of it may still run.
  const stopTurnOf = async (agentId: string) => {
    await deps.turnsInFlight.stop(agentId, idle);
    if (sandbox) await sandbox.removeAgentContainers(agentId);
    return true;
  };
  const reaper = startReaper({
    intervalMs: config.REAPER_INTERVAL_SECONDS * 1000,
    closeStatus: workflowCloseStatus(client),
    // In this order: every process of a closed run is stopped before the files it could write go,
    // so none can swap a directory for a link while it is being removed.
    targets: [
      ...(sandbox ? [{ name: 'containers', reap: ({ isClosed }: ReapLookup) => sandbox.reap(isClosed) }] : []),
      // A run the API terminated (a forced kill) may still have a turn's commands running here until
      // their activity hears of it: stop them before the worktree and the home go.
      { name: 'worktrees', reap: ({ isClosed }) => workspaces.reap(async (agentId) => (await isClosed(agentId)) && (await stopTurnOf(agentId))) },
      { name: 'agent homes', reap: ({ isClosed }) => homes.reap(async (agentId) => (await isClosed(agentId)) && (await stopTurnOf(agentId))) },
      // Temporary indexes and gate HOMEs of worker processes that died mid-operation (by their lock, not by run).
      { name: 'scratch', reap: () => scratch.reap() },
      // The pids cgroups of bubblewrap commands a dead worker process left (a live one removes its own).
      ...(runtime.sweep ? [{ name: 'sandbox cgroups', reap: () => runtime.sweep!() }] : []),
      // Markers that keep a stopped agent's late turns from running; a day outlives any of them.
      { name: 'stopped-turn markers', reap: () => deps.turnsInFlight.sweepStopped() },
      // First the final status of runs closed from outside (Web UI, CLI, timeout), then their records' TTL.
      ...valkeyRecordTargets({ states: deps.states, redis, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE, ttlSeconds: config.STATE_TTL_SECONDS }),
    ],
    log,
  });

  const stop = () => {
    stopping = true;
    log.info('shutting down');
    worker.shutdown();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  log.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, identity: worker.identity, host: host.id, hostTaskQueue: host.taskQueue, address: config.TEMPORAL_ADDRESS, sandboxRuntime: runtimeKind, slots }, 'worker started');
  try {
    await worker.run();
  } finally {
    reaper.stop();
    await scratch.close().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'removing this process scratch failed'));
    await connection.close();
    await client.connection.close();
    redis.disconnect();
  }
}

/** Files the worker reads later, checked now: a missing key would fail every clone, a missing bundle the start after a long wait. */
function assertReadableFiles(config: ReturnType<typeof loadConfig>): void {
  for (const [name, file] of [
    ['GIT_SSH_KEY_PATH', config.GIT_SSH_KEY_PATH],
    ['WORKFLOW_BUNDLE_PATH', config.WORKFLOW_BUNDLE_PATH],
  ] as const) {
    if (file === undefined) continue;
    try {
      accessSync(file, constants.R_OK);
      if (!statSync(file).isFile()) throw Object.assign(new Error('not a file'), { code: 'not a file' });
    } catch (err) {
      throw new Error(`${name}=${JSON.stringify(file)}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
  }
}

main().catch((err: unknown) => {
  // Bootstrap errors only: configuration errors name the variable, never a secret value.
  process.stderr.write(`worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
