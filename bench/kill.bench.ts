/**
 * Killswitch latency against the real Temporal dev server and Valkey: single kills (request to
 * `killed`) and kill-all of 20 live agents, through the HTTP API on a random port.
 * Run: npx tsx bench/kill.bench.ts [--with-worker]   (one JSON line on stdout; progress on stderr)
 *
 * Default mode has no worker on the task queue, so every kill takes the forced path (wait for
 * KILL_DEADLINE_SECONDS, then terminate): it measures the worst case the killswitch promises.
 * `--with-worker` is meant to measure the signal path with the real workflow; see `startWorkerMode`.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import Redis from 'ioredis';
import pino from 'pino';
import { loadConfig, type Config } from '../config';
import { AgentStateStore } from '../activities/state/agent-state-store';
import { createApp } from '../api/app';

const SINGLE_KILLS = 5;
const KILL_ALL_AGENTS = 20;
const API_KEY = `bench-${randomUUID()}`;

const progress = (msg: string) => process.stderr.write(`${msg}\n`);

interface Mode {
  name: 'forced' | 'with-worker';
  stop(): Promise<void>;
}

async function main(): Promise<void> {
  const withWorker = process.argv.includes('--with-worker');
  const taskQueue = `bench-kill-${randomUUID()}`;
  const config = loadConfig({ KILL_DEADLINE_SECONDS: '2', ...process.env, TEMPORAL_TASK_QUEUE: taskQueue, ORCHESTRATOR_API_KEY: API_KEY, ORCHESTRATOR_AUTH_DISABLED: 'false' });
  const mode: Mode = withWorker ? await startWorkerMode(config) : { name: 'forced', stop: async () => undefined };
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const redis = new Redis({ host: config.VALKEY_HOST, port: config.VALKEY_PORT, password: config.VALKEY_PASSWORD, maxRetriesPerRequest: 1 });
  const store = new AgentStateStore(redis, { terminalTtlSeconds: 3600 });
  const app = createApp({ client, redis, store, config, logger: pino({ level: 'silent' }) });
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
    const spawn = async (): Promise<string> =>
      (await api('/agents/spawn', {
        taskId: `B-${randomUUID().slice(0, 8)}`,
        agentType: 'worker',
        context: { repository: 'https://git.example.com/bench.git', branch: 'main', workItems: ['bench'], skills: [] },
      })).agentId as string;

    progress(`mode ${mode.name}, deadline ${config.KILL_DEADLINE_SECONDS}s: ${SINGLE_KILLS} single kills`);
    const singleMs: number[] = [];
    for (let i = 0; i < SINGLE_KILLS; i++) {
      const agentId = await spawn();
      const started = performance.now();
      const result = await api(`/agents/${agentId}/kill`, { reason: 'bench' });
      singleMs.push(performance.now() - started);
      if (result.status !== 'killed') throw new Error(`agent ${agentId} ended ${String(result.status)}`);
    }

    progress(`kill-all of ${KILL_ALL_AGENTS} agents`);
    await Promise.all(Array.from({ length: KILL_ALL_AGENTS }, spawn));
    await waitUntilVisible(client, taskQueue, KILL_ALL_AGENTS);
    const started = performance.now();
    const killAll = await api('/agents/kill-all', { reason: 'bench' });
    const killAllMs = performance.now() - started;

    console.log(
      JSON.stringify({
        bench: 'kill',
        mode: mode.name,
        deadlineSeconds: config.KILL_DEADLINE_SECONDS,
        singleKill: { samples: singleMs.length, minMs: round(Math.min(...singleMs)), p50Ms: round(median(singleMs)), maxMs: round(Math.max(...singleMs)) },
        killAll: { agents: KILL_ALL_AGENTS, ms: round(killAllMs), total: killAll.total, killed: killAll.killed, forced: killAll.forced, failed: killAll.failed },
        node: process.version,
        cpus: os.cpus().length,
      }),
    );
  } finally {
    await mode.stop();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await connection.close();
    redis.disconnect();
  }
}

/**
 * The signal path needs a worker running the real `agentRun` workflow with activities that can
 * reach a repository and a model (the fake model server of test/support). Left to wire with the
 * worker: start it on `config.TEMPORAL_TASK_QUEUE` here and return its stop function.
 */
async function startWorkerMode(_config: Config): Promise<Mode> {
  throw new Error('--with-worker is not wired yet: it needs worker/create-worker with the real workflow, a repository and the fake model');
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

main().catch((err: unknown) => {
  progress(`kill bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
