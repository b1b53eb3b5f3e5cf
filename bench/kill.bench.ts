/**
 * Killswitch latency against the real Temporal dev server and Valkey: single kills (request to
 * `killed`) and kill-all of 20 live agents, through the HTTP API on a random port.
 * Run: npx tsx bench/kill.bench.ts [--with-worker]   (one JSON line on stdout; progress on stderr)
 *
 * Default mode has no worker on the task queue, so every kill takes the forced path (wait for
 * KILL_DEADLINE_SECONDS, then terminate): it measures the worst case the killswitch promises.
 * `--with-worker` runs the real `agentRun` workflow on an in-process worker (test/support/harness)
 * against a file:// repository and the scripted fake model, whose first answer hangs: every agent
 * is killed while `running`, inside its model call, so kills take the signal path (cancel the
 * activity, clean up the worktree, record `killed`). The deadline is 30 s there, so a forced
 * kill would show as one.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import Redis from 'ioredis';
import pino from 'pino';
import { loadConfig } from '../config';
import { AgentStateStore } from '../state/agent-state-store';
import { createApp } from '../api/app';
import { startEventFeed } from '../api/event-feed';
import { createRemoteRepo, nodeProjectFiles } from '../test/support/git-fixtures';
import { startHarness } from '../test/support/harness';

const SINGLE_KILLS = 5;
const KILL_ALL_AGENTS = 20;
const API_KEY = `bench-${randomUUID()}`;

const progress = (msg: string) => process.stderr.write(`${msg}\n`);

interface Mode {
  name: 'forced' | 'with-worker';
  taskQueue: string;
  /** Configuration the API runs with, before the task queue and key are set. */
  apiEnv: Record<string, string | undefined>;
  repository: string;
  /** Called before an agent on `taskId` is spawned. */
  prepare(taskId: string): void;
  /** Resolves once the agents on these tasks are where a kill should find them. */
  waitLive(taskIds: readonly string[]): Promise<void>;
  stop(): Promise<void>;
}

async function main(): Promise<void> {
  const withWorker = process.argv.includes('--with-worker');
  const mode: Mode = withWorker ? await startWorkerMode() : forcedMode();
  const taskQueue = mode.taskQueue;
  const config = loadConfig({ ...mode.apiEnv, TEMPORAL_TASK_QUEUE: taskQueue, ORCHESTRATOR_API_KEY: API_KEY, ORCHESTRATOR_AUTH_DISABLED: 'false' });
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const redis = new Redis({ host: config.VALKEY_HOST, port: config.VALKEY_PORT, password: config.VALKEY_PASSWORD, maxRetriesPerRequest: 1 });
  const store = new AgentStateStore(redis, { terminalTtlSeconds: 3600 });
  const eventFeed = startEventFeed(redis);
  const app = createApp({ client, redis, store, config, logger: pino({ level: 'silent' }), eventFeed });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  try {
    const api = async (path: string, body?: unknown): Promise<Record<string, unknown>> => {
      const res = await fetch(`${baseUrl}${path}`, {
        method: 'POST',
        headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' },
        body: JSON.stringify(body ?? {}),
      });
      const json = (await res.json()) as Record<string, unknown>;
      if (!res.ok) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(json)}`);
      return json;
    };
    const spawn = async (taskId: string): Promise<string> => {
      mode.prepare(taskId);
      return (await api('/agents/spawn', {
        taskId,
        agentType: 'worker',
        gateProfile: 'minimal',
        context: { repository: mode.repository, branch: 'main', workItems: ['bench'], skills: [] },
      })).agentId as string;
    };
    const newTaskId = () => `B-${randomUUID().slice(0, 8)}`;

    progress(`mode ${mode.name}, deadline ${config.KILL_DEADLINE_SECONDS}s: ${SINGLE_KILLS} single kills`);
    const singleMs: number[] = [];
    let singleForced = 0;
    const breakdowns: KillBreakdown[] = [];
    for (let i = 0; i < SINGLE_KILLS; i++) {
      const taskId = newTaskId();
      const agentId = await spawn(taskId);
      await mode.waitLive([taskId]);
      const started = performance.now();
      const result = await api(`/agents/${agentId}/kill`, { reason: 'bench' });
      singleMs.push(performance.now() - started);
      if (result.status !== 'killed') throw new Error(`agent ${agentId} ended ${String(result.status)}`);
      if (result.forced) singleForced++;
      if (withWorker) breakdowns.push(await killBreakdown(client, agentId));
    }

    progress(`kill-all of ${KILL_ALL_AGENTS} agents`);
    const taskIds = Array.from({ length: KILL_ALL_AGENTS }, newTaskId);
    const spawnStarted = performance.now();
    await Promise.all(taskIds.map(spawn));
    await mode.waitLive(taskIds);
    await waitUntilVisible(client, taskQueue, KILL_ALL_AGENTS);
    const spawnToLiveMs = performance.now() - spawnStarted;
    const started = performance.now();
    const killAll = await api('/agents/kill-all', { reason: 'bench' });
    const killAllMs = performance.now() - started;

    console.log(
      JSON.stringify({
        bench: 'kill',
        mode: mode.name,
        deadlineSeconds: config.KILL_DEADLINE_SECONDS,
        ...(withWorker ? { killedWhile: 'running, in the model call (fake model answer pending)' } : {}),
        singleKill: {
          samples: singleMs.length,
          minMs: round(Math.min(...singleMs)),
          p50Ms: round(median(singleMs)),
          maxMs: round(Math.max(...singleMs)),
          forced: singleForced,
          ...(withWorker
            ? {
                // p50 of each step, from the Temporal server's event times in each run's history.
                p50SignalToActivityCancelledMs: round(median(breakdowns.map((b) => b.signalToActivityCancelledMs))),
                p50ActivityCancelledToClosedMs: round(median(breakdowns.map((b) => b.activityCancelledToClosedMs))),
              }
            : {}),
        },
        killAll: {
          agents: KILL_ALL_AGENTS,
          ms: round(killAllMs),
          total: killAll.total,
          killed: killAll.killed,
          forced: killAll.forced,
          failed: killAll.failed,
          ...(withWorker ? { spawnToAllLiveMs: round(spawnToLiveMs) } : {}),
        },
        node: process.version,
        cpus: os.cpus().length,
      }),
    );
  } finally {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await mode.stop();
    await connection.close();
    await eventFeed.stop();
    redis.disconnect();
  }
}

/** No worker: agents stay `spawning` and every kill is forced at the deadline. */
function forcedMode(): Mode {
  const taskQueue = `bench-kill-${randomUUID()}`;
  return {
    name: 'forced',
    taskQueue,
    apiEnv: { KILL_DEADLINE_SECONDS: '2', ...process.env },
    repository: 'https://git.example.com/bench.git',
    prepare: () => undefined,
    // Single kills go out at once (nothing will run them); kill-all waits for visibility in main.
    waitLive: async () => undefined,
    stop: async () => undefined,
  };
}

/**
 * The real workflow on an in-process worker (the test harness: fresh task queue, fake model,
 * workspace in a temp dir) and a local bare repository with a passing `npm test`.
 */
async function startWorkerMode(): Promise<Mode> {
  const h = await startHarness();
  const remote = createRemoteRepo(nodeProjectFiles());
  return {
    name: 'with-worker',
    taskQueue: h.taskQueue,
    apiEnv: { KILL_DEADLINE_SECONDS: '30', ...process.env, GIT_ALLOWED_SCHEMES: 'file,https,ssh' },
    repository: remote.url,
    // The first model call never answers before the kill (the fake model drops it when the client goes away).
    prepare: (taskId) => h.fakeModel.script(taskId, [{ text: 'still thinking', delayMs: 600_000 }]),
    async waitLive(taskIds) {
      const deadline = Date.now() + 120_000;
      const inModelCall = () => taskIds.every((t) => h.fakeModel.requestsFor(t).length > 0);
      while (!inModelCall()) {
        if (Date.now() > deadline) throw new Error(`not all of ${taskIds.length} agents reached their model call`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      // Killed runs close a moment after the API saw `killed` in Valkey: let them, then terminate any leftover.
      const running = async () => {
        const ids: string[] = [];
        for await (const e of h.client.workflow.list({ query: `ExecutionStatus = 'Running' AND TaskQueue = '${h.taskQueue}'` })) ids.push(e.workflowId);
        return ids;
      };
      const deadline = Date.now() + 10_000;
      let left = await running();
      while (left.length > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        left = await running();
      }
      for (const workflowId of left) {
        await h.client.workflow
          .getHandle(workflowId)
          .terminate('bench cleanup')
          .catch(() => undefined);
      }
      await h.close();
      rmSync(path.dirname(remote.dir), { recursive: true, force: true });
    },
  };
}

interface KillBreakdown {
  /** Kill signal recorded to the in-flight model activity reported cancelled (it learns it from a heartbeat). */
  signalToActivityCancelledMs: number;
  /** Activity cancelled to the workflow closed (cleanup: salvage, worktree removal, `killed` recorded). */
  activityCancelledToClosedMs: number;
}

async function killBreakdown(client: Client, agentId: string): Promise<KillBreakdown> {
  const handle = client.workflow.getHandle(`agent-${agentId}`);
  await handle.result(); // the API answers once Valkey says `killed`, just before the workflow closes
  const history = await handle.fetchHistory();
  const timeOf = (pick: (e: NonNullable<typeof history.events>[number]) => unknown): number => {
    const event = history.events?.find((e) => pick(e));
    const t = event?.eventTime;
    if (!t) throw new Error(`agent ${agentId}: an expected history event is missing`);
    return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
  };
  const signalled = timeOf((e) => e.workflowExecutionSignaledEventAttributes);
  const cancelled = timeOf((e) => e.activityTaskCanceledEventAttributes);
  const closed = timeOf((e) => e.workflowExecutionCompletedEventAttributes);
  return { signalToActivityCancelledMs: cancelled - signalled, activityCancelledToClosedMs: closed - cancelled };
}

async function waitUntilVisible(client: Client, taskQueue: string, count: number): Promise<void> {
  const query = `WorkflowType = 'agentRun' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    let n = 0;
    for await (const _ of client.workflow.list({ query })) n++;
    if (n >= count) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`only some of ${count} agents became visible`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (ms: number) => Math.round(ms);

main()
  // The fake model's pending replies hold timers (600 s) even after their requests were abandoned.
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    progress(`kill bench failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
