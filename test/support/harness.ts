/**
 * One worker on a fresh task queue against the real Temporal dev server and Valkey, with the
 * scripted fake model, built through the same wiring as worker/main.ts.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import Redis from 'ioredis';
import { Client, Connection, type Workflow, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, type WorkflowBundle } from '@temporalio/worker';
import { loadConfig, sandboxRuntime, type Config } from '../../config';
import { DEFAULT_GATE_PROFILE, workflowIdFor, type AgentRunInput, type WorkerHost } from '../../domain/agent';
import { SA } from '../../domain/search-attributes';
import { buildActivities } from '../../worker/wiring';
import type { Activities } from '../../activities';
import { createWorkers, slotsFromConfig, type AgentWorkers } from '../../worker/create-worker';
import type { agentRun } from '../../workflows';
import { testEnv } from './env';
import { FakeModelServer, type FakeModelOptions } from './fake-model';
import { connectTestRedis } from './redis';

// Only warnings and errors from the SDK: expected retries in tests would drown the output otherwise.
try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // already installed in this process
}

let bundle: Promise<WorkflowBundle> | undefined;
/** Bundles workflows/ once per test file. */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietLogger });
  return bundle;
}

const quietLogger = { trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, log: () => {} };

export const TEST_MODEL_KEY = 'sk-ant-api03-fake-key-for-the-scripted-server-only';

export interface Harness {
  config: Config;
  env: Record<string, string>;
  client: Client;
  redis: Redis;
  fakeModel: FakeModelServer;
  workspaceRoot: string;
  taskQueue: string;
  services: ReturnType<typeof buildActivities>;
  /** This harness's worker host (its own queue gets the host-bound activities). */
  host: WorkerHost;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  spawn(overrides: Partial<AgentRunInput> & { taskId: string; repository: string }): Promise<WorkflowHandle<typeof agentRun>>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  worker?: boolean;
  /** Lets a test interpose on activities (e.g. fail one after it did its work, to force a retry). */
  wrapActivities?: (activities: Activities) => Activities;
  fakeModel?: FakeModelOptions;
}

export async function startHarness(env: Record<string, string> = {}, opts: HarnessOptions = {}): Promise<Harness> {
  const taskQueue = `test-${randomUUID()}`;
  const fakeModel = new FakeModelServer(opts.fakeModel);
  const baseUrl = await fakeModel.start();
  const workspaceRoot = mkdtempSync(path.join(os.tmpdir(), 'agents-'));
  // The namespace sandbox runs as the sandbox user, which must be able to reach the worktrees.
  chmodSync(workspaceRoot, 0o711);
  const fullEnv: Record<string, string> = {
    TEMPORAL_ADDRESS: testEnv.temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    VALKEY_HOST: testEnv.valkeyHost,
    VALKEY_PORT: String(testEnv.valkeyPort),
    WORKSPACE_ROOT: workspaceRoot,
    GIT_ALLOWED_SCHEMES: 'file,https,ssh',
    ANTHROPIC_BASE_URL: baseUrl,
    CLAUDE_API_KEY: TEST_MODEL_KEY,
    TOOL_TIMEOUT_SECONDS: '60',
    GATE_TIMEOUT_SECONDS: '60',
    REAPER_INTERVAL_SECONDS: '3600',
    // TEST_WORKFLOW_CACHE=N: a small workflow cache makes workflow tasks replay whole histories (finds replay-only nondeterminism).
    ...(process.env.TEST_WORKFLOW_CACHE ? { WORKER_MAX_CACHED_WORKFLOWS: process.env.TEST_WORKFLOW_CACHE } : {}),
    ...env,
  };
  const config = loadConfig(fullEnv);
  const redis = config.VALKEY_PORT === testEnv.valkeyPort ? connectTestRedis() : new Redis({ host: config.VALKEY_HOST, port: config.VALKEY_PORT, maxRetriesPerRequest: 1 });
  const docker = sandboxRuntime(config) === 'docker' ? new Docker({ socketPath: config.DOCKER_SOCKET }) : undefined;
  const client = new Client({ connection: await Connection.connect({ address: config.TEMPORAL_ADDRESS }), namespace: config.TEMPORAL_NAMESPACE });
  const services = buildActivities(config, { redis, temporal: client.connection, docker });
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  let worker: AgentWorkers | undefined;
  let running: Promise<void> | undefined;

  const h: Harness = {
    config,
    env: fullEnv,
    client,
    redis,
    fakeModel,
    workspaceRoot,
    taskQueue,
    services,
    host: services.host,
    async startWorker() {
      const activities = opts.wrapActivities ? opts.wrapActivities(services.activities) : services.activities;
      worker = await createWorkers({ connection, namespace: config.TEMPORAL_NAMESPACE, taskQueue, host: services.host, activities, slots: slotsFromConfig(config), workflowBundle: await workflowBundle() });
      running = worker.run();
    },
    async stopWorker() {
      if (!worker) return;
      worker.shutdown();
      await running;
      worker = undefined;
    },
    async spawn(o) {
      const agentId = o.agentId ?? randomUUID();
      const agentType = o.agentType ?? 'worker';
      const input: AgentRunInput = {
        agentId,
        taskId: o.taskId,
        agentType,
        gateProfile: o.gateProfile ?? DEFAULT_GATE_PROFILE[agentType],
        priority: o.priority ?? 5,
        context: o.context ?? { repository: o.repository, branch: 'main', workItems: ['US-001 say hello'], skills: ['typescript'] },
        spawnedAt: new Date().toISOString(),
        budgets: o.budgets ?? { maxTurns: 20, maxOutputTokens: 100_000, maxWallTimeSeconds: 600 },
        maxFeedbackRounds: o.maxFeedbackRounds ?? 2,
        ...(o.missingGates ? { missingGates: o.missingGates } : {}),
        turnsPerRun: o.turnsPerRun,
        hostFailoverSeconds: o.hostFailoverSeconds,
        ...(o.forkOf ? { forkOf: o.forkOf } : {}),
        ...(o.retryOf ? { retryOf: o.retryOf } : {}),
      };
      return client.workflow.start<typeof agentRun>('agentRun', {
        workflowId: workflowIdFor(agentId),
        taskQueue,
        args: [input],
        typedSearchAttributes: [
          { key: SA.taskId, value: input.taskId },
          { key: SA.agentType, value: agentType },
          { key: SA.agentStatus, value: 'spawning' },
          { key: SA.repository, value: input.context.repository },
          { key: SA.gateProfile, value: input.gateProfile },
        ],
        staticSummary: `${agentType} on ${input.taskId}`,
        priority: { priorityKey: input.priority },
      });
    },
    async close() {
      await h.stopWorker();
      await connection.close();
      await client.connection.close();
      await fakeModel.stop();
      await redis.quit();
      rmSync(workspaceRoot, { recursive: true, force: true });
    },
  };
  if (opts.worker !== false) await h.startWorker();
  return h;
}

/** Polls `fn` until it returns a truthy value or the deadline passes. */
/**
 * The result of a run, or after `timeoutMs` an error that says where it stands (status, pending
 * activities with their attempts and last failures) instead of a bare test timeout.
 */
export async function resultWithin<W extends Workflow>(handle: WorkflowHandle<W>, timeoutMs: number): Promise<Awaited<ReturnType<W>>> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    const outcome = await Promise.race([handle.result(), timedOut]);
    if (outcome !== 'timeout') return outcome as Awaited<ReturnType<W>>;
  } finally {
    clearTimeout(timer);
  }
  const d = await handle.describe().catch((err: unknown) => ({ error: String(err) }));
  const pending =
    'raw' in d
      ? (d.raw.pendingActivities ?? []).map((a) => ({ type: a.activityType?.name, state: a.state, attempt: a.attempt, lastFailure: a.lastFailure?.message }))
      : d;
  // The last events say where it stands: a failing workflow task, a timer, an activity's result.
  const events = (await handle.fetchHistory().catch(() => ({ events: [] }))).events ?? [];
  const tail = events.slice(-12).map((e) => {
    const detail = e.activityTaskScheduledEventAttributes?.activityType?.name ?? e.markerRecordedEventAttributes?.markerName ?? e.workflowTaskFailedEventAttributes?.failure?.message ?? '';
    return `${String(e.eventId)} ${String(e.eventType).replace('EVENT_TYPE_', '')}${detail ? ` (${detail.slice(0, 200)})` : ''}`;
  });
  throw new Error(`${handle.workflowId} did not close within ${timeoutMs} ms: ${'status' in d ? d.status.name : 'unknown'}; pending: ${JSON.stringify(pending)}; last events:\n${tail.join('\n')}`);
}

export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
