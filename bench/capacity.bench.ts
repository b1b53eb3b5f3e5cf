/**
 * Capacity and latency of the service beside a bare-Temporal floor, in one run (npm run bench).
 *
 * Everything real: a Temporal dev server of its own (SQLite file; BENCH_TEMPORAL_ADDRESS to use
 * another), Valkey at VALKEY_HOST:VALKEY_PORT, the service's worker as its own process
 * (`dist/worker/main.js`, compiled as deployed; default slots), the API in this process on a random port, git on a file://
 * remote, the scripted fake model. The floor is a worker process of its own (bench/floor/, under tsx) that
 * runs the same shapes as bare workflows and no-op activities.
 *
 *  - spawn: 50 concurrent clients; POST /agents/spawn vs a bare `workflow.start` (no worker polls).
 *  - runs at 1, 20, 50 concurrent agents: five turns (four bash tool calls, then the final
 *    answer), the minimal gate (`test -e`), scan, commit, push, cleanup; runs/min from the first
 *    spawn to the last `completed` event; per turn = between consecutive model requests of a run
 *    (p50); tail = final model request to the `completed` event (p50). Floor: `floorRun(5)`.
 *  - kill: single kills of live agents (waiting on the model) through POST /kill, request to the
 *    answer (`killed`), p50/p99; kill-all of 100 live agents; a kill with no worker (forced after
 *    KILL_ACK_TIMEOUT_SECONDS). Floor: signal to the closed result of `floorWait`.
 *  - 500 agents waiting on the model: how many reach `running` (Valkey); the RSS of the worker's process tree idle, holding them, and at its peak while they were set up.
 *    Floor: 500 `floorWait` runs, the floor worker's RSS.
 *  - where the runs' CPU goes, service beside floor: the worker (its node process; the spawn helper,
 *    git and sandboxes), the Temporal server, this process; and what the server did per run, from
 *    its Prometheus counters: workflow state writes in the table, requests by operation below it.
 * Prints the machine's load before and after, then the table; progress goes to stderr.
 * BENCH_SCALE=0.2 shrinks every count (a quick look; not the issue's figures). BENCH_PARTS=runs (or
 * spawn,runs,kills,waiting: any of them) measures only those parts; the table leaves the others out.
 * BENCH_TEMPORAL_DB=memory runs the dev server without its SQLite file; BENCH_WORKER_NODE_ARGS
 * passes node flags to the service's worker (`--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import Redis from 'ioredis';
import pino from 'pino';
import { createApp } from '../api/app';
import { startEventFeed } from '../api/event-feed';
import { loadConfig } from '../config';
import { AgentStateStore } from '../state/agent-state-store';
import { keys } from '../state/keys';
import { workflowIdFor } from '../domain/agent';
import { activityRecords } from '../test/support/activity-history';
import { FakeModelServer, type RecordedRequest } from '../test/support/fake-model';
import { createRemoteRepo } from '../test/support/git-fixtures';
import type { FloorRunResult } from './floor/workflows';
import { accountCpu, liveChildren, ownSeconds, type CpuAccount, type ProcessCpu } from './process-cpu';
import { benchWorkerEnv } from './service-env';

const ROOT = path.resolve(__dirname, '..');
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const scaled = (n: number, min = 1) => Math.max(min, Math.round(n * SCALE));
const TURNS = 5;
const SPAWNS = scaled(150, 10);
const SPAWN_CLIENTS = 50;
const RUN_LEVELS: { agents: number; runs: number }[] = [
  { agents: 1, runs: scaled(3) },
  { agents: scaled(20), runs: scaled(40) },
  { agents: scaled(50), runs: scaled(50) },
];
const SINGLE_KILLS = scaled(20, 5);
const KILL_ALL = scaled(100, 5);
const WAITING = scaled(500, 10);
const API_KEY = `bench-${randomUUID()}`;
const GATES_JSON = JSON.stringify({ gates: { tests: { command: 'test -e notes.txt' } } });
const HANG = { text: 'never sent', delayMs: 3_600_000 };
const PARTS = new Set((process.env.BENCH_PARTS ?? 'spawn,runs,kills,waiting').split(',').map((p) => p.trim()));

const progress = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const loadBefore = loadavg();
  const temporal: { address: string; pid?: number; metricsUrl?: string; stop: () => Promise<void> } = process.env.BENCH_TEMPORAL_ADDRESS
    ? { address: process.env.BENCH_TEMPORAL_ADDRESS, stop: async () => undefined }
    : await startDevServer();
  const fake = new FakeModelServer();
  const baseUrl = await fake.start();
  const receivedAt = stampRequests(fake);
  const workspaceRoot = mkdtempSync(path.join(os.tmpdir(), 'bench-capacity-'));
  const remote = createRemoteRepo({ '.orchestrator/gates.json': GATES_JSON, 'README.md': '# capacity bench\n' }, mkdtempSync(path.join(workspaceRoot, 'remote-')));
  const id = randomUUID().slice(0, 8);
  const queues = { service: `bench-svc-${id}`, floor: `bench-floor-${id}`, spawnService: `bench-spawn-svc-${id}`, spawnFloor: `bench-spawn-floor-${id}`, noWorker: `bench-noworker-${id}` };
  const serviceEnv: Record<string, string> = {
    ...benchWorkerEnv({ temporalAddress: temporal.address, taskQueue: queues.service, root: workspaceRoot, modelBaseUrl: baseUrl }),
    ORCHESTRATOR_API_KEY: API_KEY,
    // Slot and cache settings given to the bench go to the worker (how a bigger host is tuned: README).
    ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('WORKER_') && e[1] !== undefined)),
  };
  const children: ChildProcess[] = [];
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const redis = new Redis({ host: serviceEnv.VALKEY_HOST, port: Number(serviceEnv.VALKEY_PORT), maxRetriesPerRequest: 1 });
  const events = await subscribeEvents();
  const apis: Api[] = [];
  try {
    // The worker as it is deployed: compiled JavaScript (scripts/dev.sh, the Dockerfile).
    progress('compiling the worker (npm run build)');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    const serviceWorker = startProcess('dist/worker/main.js', serviceEnv, children);
    const floorWorker = startProcess('bench/floor/worker.ts', { TEMPORAL_ADDRESS: temporal.address, FLOOR_TASK_QUEUE: queues.floor }, children);
    const api = await startApi(serviceEnv, {}, apis);
    const repository = remote.url;

    const spawnAgent = async (a: Api, script: Parameters<FakeModelServer['script']>[1]): Promise<{ agentId: string; taskId: string }> => {
      const taskId = `B-${randomUUID().slice(0, 12)}`;
      fake.script(taskId, script);
      const res = await a.post('/agents/spawn', { taskId, agentType: 'worker', gateProfile: 'minimal', context: { repository, branch: 'main', workItems: ['bench'], skills: [] } });
      return { agentId: res.agentId as string, taskId };
    };
    const fiveTurns = () => [
      ...Array.from({ length: TURNS - 1 }, (_, i) => ({ tools: [{ name: 'bash' as const, input: { command: `echo ${i} >> notes.txt` } }] })),
      { text: 'Done.' },
    ];
    const serviceRun = async (): Promise<RunSample> => {
      const { agentId, taskId } = await spawnAgent(api, fiveTurns());
      const end = await events.waitFor(agentId, ['completed', 'failed', 'killed'], 600_000);
      if (end.to !== 'completed') {
        const records = await activityRecords(client.workflow.getHandle(workflowIdFor(agentId))).catch(() => []);
        const unfinished = records.filter((r) => r.outcome !== 'completed').map((r) => `${r.type} on ${r.taskQueue}: ${r.outcome ?? 'open'} (scheduled ${new Date(r.scheduledAtMs).toISOString()}, started ${r.startedAtMs ? new Date(r.startedAtMs).toISOString() : '-'})`);
        throw new Error(`agent ${agentId} ended ${end.to}: ${end.reason ?? ''}; activities not completed: ${unfinished.join('; ') || 'none'}`);
      }
      const times = fake.requestsFor(taskId).map((r) => receivedAt.get(r)!);
      return { turnsMs: diffs(times), tailMs: end.at - times[times.length - 1]!, agentId };
    };
    const floorRun = async (): Promise<RunSample> => {
      const handle = await client.workflow.start('floorRun', { taskQueue: queues.floor, workflowId: `floor-${randomUUID()}`, args: [TURNS] });
      const r = (await handle.result()) as FloorRunResult;
      return { turnsMs: diffs(r.modelStarts), tailMs: Date.now() - r.lastModelEnd };
    };

    progress('warming up: one service run (bundles the workflows, clones the mirror) and one floor run');
    await serviceRun();
    await floorRun();

    // 1. Spawn.
    let spawnFigures: Report['spawn'];
    if (PARTS.has('spawn')) {
      progress(`spawn: ${SPAWNS} spawns from ${SPAWN_CLIENTS} concurrent clients, API vs bare workflow.start`);
      const spawnApi = await startApi({ ...serviceEnv, TEMPORAL_TASK_QUEUE: queues.spawnService }, {}, apis);
      const apiSpawn = await timedPool(SPAWNS, SPAWN_CLIENTS, () => spawnAgent(spawnApi, [HANG]));
      const bareSpawn = await timedPool(SPAWNS, SPAWN_CLIENTS, () => client.workflow.start('floorWait', { taskQueue: queues.spawnFloor, workflowId: `floor-${randomUUID()}` }));
      await terminateAll(client, [queues.spawnService, queues.spawnFloor]);
      progress(`spawn: api ${JSON.stringify(apiSpawn)} bare ${JSON.stringify(bareSpawn)}`);
      spawnFigures = { api: apiSpawn, bare: bareSpawn };
    }

    // 2. Runs.
    const runRows: RunRow[] = [];
    for (const level of PARTS.has('runs') ? RUN_LEVELS : []) {
      progress(`runs: ${level.runs} runs at ${level.agents} concurrent agents (service, then floor)`);
      const cpuBefore = cpuSeconds(serviceWorker.pid!);
      const sharedBefore = sharedCpu(temporal.pid);
      const requestsBefore = await serverRequests(temporal.metricsUrl);
      const service = await closedLoop(level.runs, level.agents, serviceRun);
      const cpuAfter = cpuSeconds(serviceWorker.pid!);
      service.workerCpu = { node: (cpuAfter.own - cpuBefore.own) / level.runs, processes: (cpuAfter.children - cpuBefore.children) / level.runs };
      service.sharedCpu = perRun(sharedBefore, sharedCpu(temporal.pid), level.runs);
      const floorBefore = { worker: cpuSeconds(floorWorker.pid!), shared: sharedCpu(temporal.pid), requests: await serverRequests(temporal.metricsUrl) };
      service.serverRequests = requestsPerRun(requestsBefore, floorBefore.requests, level.runs);
      const floor = await closedLoop(level.runs, level.agents, floorRun);
      const floorWorkerAfter = cpuSeconds(floorWorker.pid!);
      floor.workerCpu = { node: (floorWorkerAfter.own - floorBefore.worker.own) / level.runs, processes: (floorWorkerAfter.children - floorBefore.worker.children) / level.runs };
      floor.sharedCpu = perRun(floorBefore.shared, sharedCpu(temporal.pid), level.runs);
      floor.serverRequests = requestsPerRun(floorBefore.requests, await serverRequests(temporal.metricsUrl), level.runs);
      const breakdown = await activityBreakdown(client, service.agentIds);
      runRows.push({ ...level, service, floor, breakdown });
      progress(`runs at ${level.agents}: service ${JSON.stringify({ ...service, agentIds: undefined })} floor ${JSON.stringify({ ...floor, agentIds: undefined })} (load ${loadavg()})`);
      progress(`runs at ${level.agents}, service activities (p50 wait for a slot / p50 run, ms): ${breakdown.map((b) => `${b.type} x${b.count} ${b.waitP50}/${b.runP50}`).join(', ')}`);
    }

    // 3. Kills.
    let killFigures: Report['kill'];
    if (PARTS.has('kills')) {
      progress(`kill: ${SINGLE_KILLS} single kills of live agents, then kill-all of ${KILL_ALL}`);
      const live = async (n: number): Promise<string[]> => {
        const spawned = await pool(n, 20, () => spawnAgent(api, [HANG]));
        await waitFor(async () => spawned.every((s) => fake.requestsFor(s.taskId).length > 0), 600_000, `${n} agents to wait on the model`);
        return spawned.map((s) => s.agentId);
      };
      const singleMs: number[] = [];
      let singleForced = 0;
      for (let i = 0; i < SINGLE_KILLS; i++) {
        const [agentId] = await live(1);
        const t0 = performance.now();
        const res = await api.post(`/agents/${agentId}/kill`, { reason: 'bench' });
        singleMs.push(performance.now() - t0);
        if (res.status !== 'killed') throw new Error(`kill of ${agentId} answered ${String(res.status)}`);
        if (res.forced) singleForced++;
    }
    const killAllIds = await live(KILL_ALL);
    await waitUntilVisible(client, queues.service, KILL_ALL);
    let t0 = performance.now();
    const killAllAt = Date.now();
    const killAllCpuBefore = { worker: cpuSeconds(serviceWorker.pid!), shared: sharedCpu(temporal.pid) };
    const killAllRequestsBefore = await serverRequests(temporal.metricsUrl);
    const killAll = await api.post('/agents/kill-all', { reason: 'bench' });
    const killAllMs = performance.now() - t0;
    const killAllCpu = cpuDuring(killAllCpuBefore, serviceWorker.pid!, temporal.pid);
    const killAllRequests = requestsPerRun(killAllRequestsBefore, await serverRequests(temporal.metricsUrl), KILL_ALL);
    // How the kills spread over the request: a steady rate (bound by the server's workflow tasks) or a late tail.
    const killedAt = killAllIds.map((a) => (events.seenAt(a, 'killed') ?? NaN) - killAllAt).filter(Number.isFinite);
    progress(`kill-all: each agent's 'killed' event seen ${JSON.stringify(spread(killedAt))} ms after the request`);
    if (killAllRequests) progress(`kill-all: frontend requests per agent while it ran: ${describeRequests(killAllRequests.frontend)}`);
    progress(`kill-all: where each kill's time went (ms, p10/p50/p90): ${JSON.stringify(await killSteps(client, killAllIds, killAllAt, (a) => events.seenAt(a, 'killed')))}`);

    const floorSingleMs: number[] = [];
    for (let i = 0; i < SINGLE_KILLS; i++) {
      const handle = await startFloorWaiting(client, queues.floor);
      t0 = performance.now();
      await handle.signal('kill');
      await handle.result();
      floorSingleMs.push(performance.now() - t0);
    }
    const floorHandles = await pool(KILL_ALL, 20, () => startFloorWaiting(client, queues.floor));
    t0 = performance.now();
    const floorKillAllCpuBefore = { worker: cpuSeconds(floorWorker.pid!), shared: sharedCpu(temporal.pid) };
    const floorKillAllRequestsBefore = await serverRequests(temporal.metricsUrl);
    await pool(KILL_ALL, 10, async (i) => floorHandles[i]!.signal('kill'));
    await Promise.all(floorHandles.map((h) => h.result()));
    const floorKillAllMs = performance.now() - t0;
    const floorKillAllCpu = cpuDuring(floorKillAllCpuBefore, floorWorker.pid!, temporal.pid);
    const floorKillAllRequests = requestsPerRun(floorKillAllRequestsBefore, await serverRequests(temporal.metricsUrl), KILL_ALL);
    if (floorKillAllRequests) progress(`floor kill-all: frontend requests per agent: ${describeRequests(floorKillAllRequests.frontend)}`);
    progress(`kills: single ${JSON.stringify(stats(singleMs))} (${singleForced} forced), floor ${JSON.stringify(stats(floorSingleMs))}; kill-all ${Math.round(killAllMs)} ms ${JSON.stringify(killAll)}, floor ${Math.round(floorKillAllMs)} ms (load ${loadavg()})`);

    progress('kill with no worker (forced after the acknowledgement timeout)');
    const noWorkerApi = await startApi({ ...serviceEnv, TEMPORAL_TASK_QUEUE: queues.noWorker }, {}, apis);
    const orphan = await spawnAgent(noWorkerApi, [HANG]);
    t0 = performance.now();
    const forced = await noWorkerApi.post(`/agents/${orphan.agentId}/kill`, { reason: 'bench' });
    const forcedMs = performance.now() - t0;
    if (!forced.forced) throw new Error('the kill with no worker was not forced');
    killFigures = {
      single: stats(singleMs),
      singleForced,
      floorSingle: stats(floorSingleMs),
      killAllMs,
      killAllCounts: `${String(killAll.killed)}/${String(killAll.total)} killed, ${String(killAll.forced)} forced`,
      floorKillAllMs,
      killAllCpu,
      floorKillAllCpu,
      forcedMs,
      ackTimeoutSeconds: loadConfig(serviceEnv).KILL_ACK_TIMEOUT_SECONDS,
    };
    }

    // 4. Waiting agents.
    let waitingFigures: Report['waiting'];
    if (PARTS.has('waiting')) {
      await sleep(3000); // let killed runs finish their cleanup
      const idleRss = rssMb(serviceWorker.pid!);
      progress(`waiting: ${WAITING} agents waiting on the model (worker idle RSS ${idleRss} MB)`);
      const waitingStarted = performance.now();
      const waitingAgents = await pool(WAITING, 25, () => spawnAgent(api, [HANG]));
      let peakRss = idleRss;
      const runningCount = async () => countRunning(redis, waitingAgents.map((a) => a.agentId));
      let running = 0;
      const deadline = Date.now() + 30 * 60_000;
      while (Date.now() < deadline) {
        peakRss = Math.max(peakRss, rssMb(serviceWorker.pid!));
        running = await runningCount();
        const waitingOnModel = waitingAgents.filter((a) => fake.requestsFor(a.taskId).length > 0).length;
        if (running === WAITING && waitingOnModel === WAITING) break;
        await sleep(1000);
    }
    const allRunningMs = performance.now() - waitingStarted;
    // Holding them: every agent waits on the model, no git or sandbox process runs.
    let holdRss = 0;
    for (let i = 0; i < 5; i++) {
      holdRss = Math.max(holdRss, rssMb(serviceWorker.pid!));
      await sleep(1000);
    }
    peakRss = Math.max(peakRss, holdRss);
    running = await runningCount();
    progress(`waiting: ${running}/${WAITING} running after ${Math.round(allRunningMs)} ms; worker RSS idle ${idleRss}, holding ${WAITING} ${holdRss}, peak while they were set up ${peakRss} MB (load ${loadavg()})`);
    const floorIdleRss = rssMb(floorWorker.pid!);
    const floorWaiting = await pool(WAITING, 25, () => startFloorWaiting(client, queues.floor));
    await waitFor(async () => (await countRunningWorkflows(client, queues.floor)) >= WAITING, 600_000, 'floor runs to wait');
    let floorPeakRss = floorIdleRss;
    for (let i = 0; i < 5; i++) {
      floorPeakRss = Math.max(floorPeakRss, rssMb(floorWorker.pid!));
      await sleep(1000);
    }
    void floorWaiting;
    waitingFigures = { running, idleRss, holdRss, peakRss, allRunningMs, floorIdleRss, floorPeakRss };
    }

    const loadAfter = loadavg();
    printTable({ loadBefore, loadAfter, spawn: spawnFigures, runRows, kill: killFigures, waiting: waitingFigures });
  } finally {
    progress('cleaning up');
    await terminateAll(client, Object.values(queues)).catch((err: unknown) => progress(`terminate failed: ${String(err)}`));
    for (const a of apis) await a.close();
    for (const c of children) c.kill('SIGTERM');
    await sleep(process.env.BENCH_WORKER_NODE_ARGS ? 15_000 : 2000); // a profile is written at exit
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await events.stop();
    redis.disconnect();
    for (const account of cpuAccounts.values()) await account.close();
    await connection.close();
    await fake.stop();
    await temporal.stop();
    rmSync(workspaceRoot, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Measurement helpers

interface RunSample {
  turnsMs: number[];
  tailMs: number;
  agentId?: string;
}

interface LoopResult {
  runs: number;
  elapsedMs: number;
  runsPerMin: number;
  turnP50Ms: number;
  tailP50Ms: number;
  agentIds: string[];
  /** CPU the service's worker process and the commands it waited for (git, sandboxes, gates) spent per run. */
  /** CPU seconds per run of the worker's node process and of the processes it ran (git, sandboxes, gates). */
  workerCpu?: { node: number; processes: number };
  /** CPU seconds per run of the Temporal server (when the bench started it) and of this process (the API, the fake model, the clients). */
  sharedCpu?: { server?: number; bench: number };
  /** What the Temporal server did per run (when the bench started it): requests to its frontend by operation, and writes and reads of its database. */
  serverRequests?: ServerRequests;
}

interface ServerRequests {
  frontend: Record<string, number>;
  persistence: number;
  persistenceByOp: Record<string, number>;
}

interface RunRow {
  agents: number;
  runs: number;
  service: LoopResult;
  floor: LoopResult;
  breakdown: ActivityFigures[];
}

interface ActivityFigures {
  type: string;
  count: number;
  /** Scheduled -> started: the wait for a worker slot (and the server's dispatch). */
  waitP50: number;
  /** Started -> closed. */
  runP50: number;
}

/** Where a run's time goes, from the runs' histories: per activity type (local activities are not in it). */
async function activityBreakdown(client: Client, agentIds: string[]): Promise<ActivityFigures[]> {
  const records = (await Promise.all(agentIds.map((id) => activityRecords(client.workflow.getHandle(workflowIdFor(id)))))).flat();
  const types = [...new Set(records.map((r) => r.type))];
  return types.map((type) => {
    const of = records.filter((r) => r.type === type && r.startedAtMs !== undefined && r.closedAtMs !== undefined);
    return {
      type,
      count: of.length,
      waitP50: percentile(of.map((r) => r.startedAtMs! - r.scheduledAtMs), 50),
      runP50: percentile(of.map((r) => r.closedAtMs! - r.startedAtMs!), 50),
    };
  });
}

/** `runs` runs, at most `concurrency` at a time; figures from the samples. */
async function closedLoop(runs: number, concurrency: number, run: () => Promise<RunSample>): Promise<LoopResult> {
  const t0 = performance.now();
  const samples = await pool(runs, concurrency, run);
  const elapsedMs = performance.now() - t0;
  return {
    runs,
    elapsedMs,
    runsPerMin: (runs / elapsedMs) * 60_000,
    turnP50Ms: percentile(samples.flatMap((s) => s.turnsMs), 50),
    tailP50Ms: percentile(samples.map((s) => s.tailMs), 50),
    agentIds: samples.flatMap((s) => (s.agentId ? [s.agentId] : [])),
  };
}

async function pool<T>(count: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return out;
}

async function timedPool(count: number, concurrency: number, fn: () => Promise<unknown>): Promise<{ totalMs: number; p50Ms: number }> {
  const latencies: number[] = [];
  const t0 = performance.now();
  await pool(count, concurrency, async () => {
    const s = performance.now();
    await fn();
    latencies.push(performance.now() - s);
  });
  return { totalMs: performance.now() - t0, p50Ms: percentile(latencies, 50) };
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function stats(values: number[]): { p50: number; p99: number; max: number } {
  return { p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values) };
}

const diffs = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

/** When each request reached the fake model (its body read), by wrapping its record. */
function stampRequests(fake: FakeModelServer): WeakMap<RecordedRequest, number> {
  const receivedAt = new WeakMap<RecordedRequest, number>();
  const record = fake.requests.push.bind(fake.requests);
  fake.requests.push = (...items: RecordedRequest[]) => {
    for (const r of items) receivedAt.set(r, Date.now());
    return record(...items);
  };
  return receivedAt;
}

interface LifecycleEvent {
  agentId: string;
  to: string;
  reason?: string;
  /** Arrival here, epoch ms. */
  at: number;
}

/** Lifecycle events from Valkey, as a coordinator sees them, with their arrival time. */
async function subscribeEvents() {
  const sub = new Redis({ host: process.env.VALKEY_HOST ?? '127.0.0.1', port: Number(process.env.VALKEY_PORT ?? 6379) });
  const seen = new Map<string, LifecycleEvent[]>();
  const waiters = new Set<() => void>();
  sub.on('message', (_c: string, message: string) => {
    const e = JSON.parse(message) as Omit<LifecycleEvent, 'at'>;
    const list = seen.get(e.agentId) ?? [];
    list.push({ ...e, at: Date.now() });
    seen.set(e.agentId, list);
    for (const w of waiters) w();
  });
  await sub.subscribe(keys.events());
  return {
    async waitFor(agentId: string, to: string[], timeoutMs: number): Promise<LifecycleEvent> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = seen.get(agentId)?.find((e) => to.includes(e.to));
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`agent ${agentId} did not reach ${to.join('|')}`);
        await new Promise<void>((resolve) => {
          const done = () => {
            waiters.delete(done);
            resolve();
          };
          waiters.add(done);
          setTimeout(done, 1000);
        });
      }
    },
    /** When this process saw the agent's first move to `to` (epoch ms). */
    seenAt(agentId: string, to: string): number | undefined {
      return seen.get(agentId)?.find((e) => e.to === to)?.at;
    },
    stop: async () => {
      await sub.quit();
    },
  };
}

function spread(ms: number[]): { n: number; p10?: number; p50?: number; p90?: number; max?: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
  return sorted.length ? { n: sorted.length, p10: at(0.1), p50: at(0.5), p90: at(0.9), max: Math.round(sorted[sorted.length - 1]!) } : { n: 0 };
}

async function countRunning(redis: Redis, agentIds: string[]): Promise<number> {
  let n = 0;
  for (let i = 0; i < agentIds.length; i += 100) {
    const raws = await redis.mget(...agentIds.slice(i, i + 100).map((a) => keys.agent(a)));
    n += raws.filter((raw) => raw && (JSON.parse(raw) as { status: string }).status === 'running').length;
  }
  return n;
}

async function countRunningWorkflows(client: Client, taskQueue: string): Promise<number> {
  let n = 0;
  for await (const e of client.workflow.list({ query: `ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'` })) {
    void e;
    n++;
  }
  return n;
}

async function startFloorWaiting(client: Client, taskQueue: string): Promise<WorkflowHandle> {
  return client.workflow.start('floorWait', { taskQueue, workflowId: `floor-${randomUUID()}` });
}

async function waitUntilVisible(client: Client, taskQueue: string, count: number): Promise<void> {
  await waitFor(async () => (await countRunningWorkflows(client, taskQueue)) >= count, 120_000, `${count} agents visible`);
}

async function terminateAll(client: Client, taskQueues: string[]): Promise<void> {
  for (const q of taskQueues) {
    const ids: string[] = [];
    for await (const e of client.workflow.list({ query: `ExecutionStatus = 'Running' AND TaskQueue = '${q}'` })) ids.push(e.workflowId);
    await pool(ids.length, 20, (i) => client.workflow.getHandle(ids[i]!).terminate('bench over').catch(() => undefined));
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** Resident memory of a process and every process it is running (a worker's spawn helper). */
function rssMb(pid: number): number {
  const kbOf = (p: number): number => {
    let status = '';
    try {
      status = readFileSync(`/proc/${p}/status`, 'utf8');
    } catch {
      return 0; // ended while being read
    }
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) + liveChildren(p).reduce((sum, c) => sum + kbOf(c), 0);
  };
  return Math.round(kbOf(pid) / 1024);
}

/** The dev server's request counters so far (its Prometheus endpoint); undefined for a server the bench did not start. */
async function serverRequests(metricsUrl: string | undefined): Promise<ServerRequests | undefined> {
  if (!metricsUrl) return undefined;
  const text = await (await fetch(metricsUrl)).text();
  const counts: ServerRequests = { frontend: {}, persistence: 0, persistenceByOp: {} };
  for (const line of text.split('\n')) {
    const m = /^(service_requests|persistence_requests)\{([^}]*)\} ([0-9.e+]+)$/.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    const op = /operation="([^"]+)"/.exec(m[2]!)?.[1] ?? '?';
    if (m[1] === 'persistence_requests') {
      counts.persistence += value;
      counts.persistenceByOp[op] = (counts.persistenceByOp[op] ?? 0) + value;
    } else if (m[2]!.includes('service_name="frontend"')) counts.frontend[op] = (counts.frontend[op] ?? 0) + value;
  }
  return counts;
}

function requestsPerRun(before: ServerRequests | undefined, after: ServerRequests | undefined, runs: number): ServerRequests | undefined {
  if (!before || !after) return undefined;
  const deltas = (a: Record<string, number>, b: Record<string, number>) => {
    const out: Record<string, number> = {};
    for (const [op, n] of Object.entries(a)) {
      const delta = (n - (b[op] ?? 0)) / runs;
      if (delta > 0) out[op] = delta;
    }
    return out;
  };
  return { frontend: deltas(after.frontend, before.frontend), persistence: (after.persistence - before.persistence) / runs, persistenceByOp: deltas(after.persistenceByOp, before.persistenceByOp) };
}

/**
 * For kill-all: from the request to the signal in the run's history, from the signal to the
 * workflow task that took it, and from that task's start to the `killed` event (its local
 * activities and their state write).
 */
async function killSteps(client: Client, agentIds: string[], requestAt: number, killedAt: (agentId: string) => number | undefined) {
  const toSignal: number[] = [];
  const toTask: number[] = [];
  const toKilled: number[] = [];
  for (const agentId of agentIds) {
    const events = (await client.workflow.getHandle(workflowIdFor(agentId)).fetchHistory()).events ?? [];
    const at = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);
    const i = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'kill');
    const task = events.slice(i + 1).find((e) => e.workflowTaskStartedEventAttributes);
    const seen = killedAt(agentId);
    if (i < 0 || !task || seen === undefined) continue;
    if (process.env.BENCH_DUMP_KILL && toTask.length === 50) {
      const t0 = at(events[i]!);
      process.stderr.write(`history of ${agentId} around its kill:\n` + events.slice(Math.max(i - 3, 0)).map((e) => `  ${at(e) - t0} ms ${Object.keys(e).find((k) => k.endsWith('EventAttributes')) ?? '?'} ${JSON.stringify(e.activityTaskScheduledEventAttributes?.activityType?.name ?? e.markerRecordedEventAttributes?.markerName ?? '')}`).join('\n') + '\n');
    }
    toSignal.push(at(events[i]!) - requestAt);
    toTask.push(at(task) - at(events[i]!));
    toKilled.push(seen - at(task));
  }
  return { requestToSignal: spread(toSignal), signalToTask: spread(toTask), taskToKilled: spread(toKilled) };
}

/** `Operation n.n, ...`, largest first, polls left out (they wait, they do not work). */
function describeRequests(byOp: Record<string, number>): string {
  return Object.entries(byOp)
    .filter(([op]) => !op.startsWith('Poll'))
    .sort((a, b) => b[1] - a[1])
    .map(([op, n]) => `${op} ${n.toFixed(1)}`)
    .join(', ');
}

/** CPU seconds spent in a window: the worker's node process, the processes it ran, the Temporal server, this process. */
interface CpuSpent {
  node: number;
  processes: number;
  server?: number;
  bench: number;
}

function cpuDuring(before: { worker: { own: number; children: number }; shared: { server?: number; bench: number } }, workerPid: number, serverPid: number | undefined): CpuSpent {
  const worker = cpuSeconds(workerPid);
  const shared = perRun(before.shared, sharedCpu(serverPid), 1);
  return { node: worker.own - before.worker.own, processes: worker.children - before.worker.children, ...shared };
}

function cpuText(c: CpuSpent): string {
  return `${c.node.toFixed(1)} + ${c.processes.toFixed(1)} / ${c.server === undefined ? '-' : c.server.toFixed(1)} / ${c.bench.toFixed(1)} s`;
}

/** CPU seconds so far of the Temporal dev server (when this bench started it) and of this process. */
function sharedCpu(serverPid: number | undefined): { server?: number; bench: number } {
  const { user, system } = process.cpuUsage();
  return { ...(serverPid ? { server: ownSeconds(serverPid) } : {}), bench: (user + system) / 1e6 };
}

function perRun(before: { server?: number; bench: number }, after: { server?: number; bench: number }, runs: number): { server?: number; bench: number } {
  return {
    ...(before.server !== undefined && after.server !== undefined ? { server: (after.server - before.server) / runs } : {}),
    bench: (after.bench - before.bench) / runs,
  };
}

/** CPU seconds of a worker the bench started (`own`) and of every process under it (`children`): bench/process-cpu.ts. */
function cpuSeconds(pid: number): ProcessCpu {
  const account = cpuAccounts.get(pid);
  if (!account) throw new Error(`no CPU account for process ${pid}`);
  return account.read();
}
const cpuAccounts = new Map<number, CpuAccount>();

function loadavg(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

// ---------------------------------------------------------------------------------------------
// Processes

/** A TypeScript entry point as its own node process (RSS is the process's own). */
function startProcess(entry: string, env: Record<string, string>, children: ChildProcess[]): ChildProcess {
  const nodeArgs = entry.endsWith('.js') && process.env.BENCH_WORKER_NODE_ARGS ? process.env.BENCH_WORKER_NODE_ARGS.split(' ') : [];
  const child = spawn(process.execPath, entry.endsWith('.js') ? [...nodeArgs, entry] : ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? ROOT, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (c: Buffer) => process.stderr.write(`[${path.basename(entry)}] ${c.toString()}`));
  children.push(child);
  // Counted from before it forks anything: node starts no process of its own while it boots.
  if (child.pid) cpuAccounts.set(child.pid, accountCpu(child.pid, path.basename(entry).replace(/\W+/g, '-')));
  return child;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A Temporal dev server for this run only, as scripts/lib.sh starts one. */
async function startDevServer(): Promise<{ address: string; pid?: number; metricsUrl: string; stop: () => Promise<void> }> {
  const [port, uiPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  // A SQLite file, as scripts/lib.sh runs it; BENCH_TEMPORAL_DB=memory keeps it in memory instead (the
  // floor then runs about twice as fast, the service barely faster: it is bound by its own worker).
  const dbDir = mkdtempSync(path.join(os.tmpdir(), 'bench-temporal-'));
  const db = process.env.BENCH_TEMPORAL_DB === 'memory' ? [] : ['--db-filename', path.join(dbDir, 'temporal.db')];
  const sa = ['TaskId', 'AgentType', 'AgentStatus', 'Repository', 'GateProfile'].flatMap((a) => ['--search-attribute', `${a}=Keyword`]);
  const bin = path.join(ROOT, '.tools/venv/bin/temporal');
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort), '--metrics-port', String(metricsPort), ...db, ...sa];
  const server = spawn(bin, [...args, '--dynamic-config-value', 'matching.priorityLevels=10', '--log-level', 'error'], { stdio: 'ignore' });
  const address = `127.0.0.1:${port}`;
  progress(`started a Temporal dev server at ${address}`);
  await waitFor(
    async () => {
      const c = await Connection.connect({ address, connectTimeout: 1000 });
      await c.close();
      return true;
    },
    120_000,
    'the Temporal dev server',
  );
  return {
    address,
    ...(server.pid ? { pid: server.pid } : {}),
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    async stop() {
      server.kill('SIGTERM');
      await sleep(1000);
      rmSync(dbDir, { recursive: true, force: true });
    },
  };
}

interface Api {
  post(route: string, body: unknown): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

async function startApi(env: Record<string, string>, tuning: Record<string, number>, apis: Api[]): Promise<Api> {
  const config = loadConfig(env);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const redis = new Redis({ host: config.VALKEY_HOST, port: config.VALKEY_PORT, maxRetriesPerRequest: 1 });
  const store = new AgentStateStore(redis, { terminalTtlSeconds: 3600 });
  const eventFeed = startEventFeed(redis);
  const app = createApp({ client, redis, store, config, logger: pino({ level: 'silent' }), tuning, eventFeed });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const api: Api = {
    async post(route, body) {
      const res = await fetch(`${baseUrl}${route}`, { method: 'POST', headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      const json = (await res.json()) as Record<string, unknown>;
      if (!res.ok) throw new Error(`${route} answered ${res.status}: ${JSON.stringify(json)}`);
      return json;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await connection.close();
      await eventFeed.stop();
      redis.disconnect();
    },
  };
  apis.push(api);
  return api;
}

// ---------------------------------------------------------------------------------------------
// Output

interface Report {
  loadBefore: string;
  loadAfter: string;
  spawn?: { api: { totalMs: number; p50Ms: number }; bare: { totalMs: number; p50Ms: number } };
  runRows: RunRow[];
  kill?: {
    single: { p50: number; p99: number; max: number };
    singleForced: number;
    floorSingle: { p50: number; p99: number; max: number };
    killAllMs: number;
    killAllCounts: string;
    floorKillAllMs: number;
    /** CPU seconds spent while the kill-all request ran (service) and while the floor's kills ran. */
    killAllCpu: CpuSpent;
    floorKillAllCpu: CpuSpent;
    forcedMs: number;
    ackTimeoutSeconds: number;
  };
  /** RSS of the worker's process tree (its spawn helper and whatever git or sandbox process runs at that moment), MB. */
  waiting?: { running: number; idleRss: number; holdRss: number; peakRss: number; allRunningMs: number; floorIdleRss: number; floorPeakRss: number };
}

function printTable(r: Report): void {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const rows: [string, string, string, string][] = [
    ['figure', 'service', 'floor (bare Temporal)', 'ratio / target'],
  ];
  if (r.spawn) {
    rows.push([`spawn, ${SPAWNS} from ${SPAWN_CLIENTS} clients (total; p50)`, `${s(r.spawn.api.totalMs)}; ${s(r.spawn.api.p50Ms)}`, `${s(r.spawn.bare.totalMs)}; ${s(r.spawn.bare.p50Ms)}`, x(r.spawn.api.totalMs, r.spawn.bare.totalMs)]);
  }
  for (const row of r.runRows) {
    const { service: sv, floor: fl } = row;
    rows.push([`runs/min, ${row.agents} agents (${row.runs} runs)`, sv.runsPerMin.toFixed(1), fl.runsPerMin.toFixed(1), `${x(sv.runsPerMin, fl.runsPerMin)}${row.agents === RUN_LEVELS[1]!.agents ? ' (>= 100/min)' : ''}`]);
    rows.push([`per turn p50, ${row.agents} agents`, s(sv.turnP50Ms), s(fl.turnP50Ms), `${x(sv.turnP50Ms, fl.turnP50Ms)}${row.agents === RUN_LEVELS[1]!.agents ? ' (<= 1.2x)' : ''}`]);
    rows.push([`tail p50 (last answer -> completed), ${row.agents} agents`, s(sv.tailP50Ms), s(fl.tailP50Ms), row.agents === RUN_LEVELS[1]!.agents ? '(<= 3 s)' : '']);
    if (sv.workerCpu !== undefined) {
      const total = sv.workerCpu.node + sv.workerCpu.processes;
      const ceiling = (60 * os.cpus().length) / total;
      const floorWorker = fl.workerCpu ? `${(fl.workerCpu.node + fl.workerCpu.processes).toFixed(2)} s` : '-';
      rows.push([
        `worker CPU per run (node + spawn helper, git, sandboxes), ${row.agents} agents`,
        `${total.toFixed(2)} s (${sv.workerCpu.node.toFixed(2)} + ${sv.workerCpu.processes.toFixed(2)})`,
        floorWorker,
        `${os.cpus().length} cores: <= ${ceiling.toFixed(0)} runs/min`,
      ]);
    }
    if (sv.sharedCpu?.server !== undefined && fl.sharedCpu?.server !== undefined) {
      rows.push([`Temporal server CPU per run, ${row.agents} agents`, `${sv.sharedCpu.server.toFixed(2)} s`, `${fl.sharedCpu.server.toFixed(2)} s`, x(sv.sharedCpu.server, fl.sharedCpu.server)]);
    }
    if (sv.serverRequests && fl.serverRequests) {
      // A workflow's state written on the server: each workflow task, activity start and completion, heartbeat, signal. (The
      // database's other requests include periodic reads that count per run by how long the runs took, not by what they did.)
      const writes = (r: ServerRequests) => r.persistenceByOp.UpdateWorkflowExecution ?? 0;
      rows.push([`Temporal workflow state writes per run, ${row.agents} agents`, writes(sv.serverRequests).toFixed(1), writes(fl.serverRequests).toFixed(1), x(writes(sv.serverRequests), writes(fl.serverRequests))]);
    }
    if (sv.sharedCpu && fl.sharedCpu) {
      rows.push([`bench process CPU per run (API, fake model, clients), ${row.agents} agents`, `${sv.sharedCpu.bench.toFixed(2)} s`, `${fl.sharedCpu.bench.toFixed(2)} s`, '']);
    }
  }
  const k = r.kill;
  if (k) {
    rows.push([`kill, live agent, ${SINGLE_KILLS} kills (p50 / p99)`, `${s(k.single.p50)} / ${s(k.single.p99)}${k.singleForced ? ` (${k.singleForced} forced)` : ''}`, `${s(k.floorSingle.p50)} / ${s(k.floorSingle.p99)}`, '(p99 <= 1 s)']);
    rows.push([`kill-all of ${KILL_ALL} live agents`, `${s(k.killAllMs)} (${k.killAllCounts})`, s(k.floorKillAllMs), '(<= 5 s)']);
    rows.push([`CPU during kill-all: worker node + processes / server / bench`, cpuText(k.killAllCpu), cpuText(k.floorKillAllCpu), '']);
    rows.push(['kill with no worker (forced)', s(k.forcedMs), '-', `ack timeout ${k.ackTimeoutSeconds} s`]);
  }
  const w = r.waiting;
  if (w) {
    rows.push([`${WAITING} agents waiting on the model: running`, `${w.running}/${WAITING} (all in ${s(w.allRunningMs)})`, '-', `(all ${WAITING})`]);
    rows.push([`worker RSS (with its spawn helper) idle -> holding ${WAITING} waiting`, `${w.idleRss} -> ${w.holdRss} MB`, `${w.floorIdleRss} -> ${w.floorPeakRss} MB`, '(<= 600 MB)']);
    rows.push([`worker RSS peak while the ${WAITING} were set up (with git processes)`, `${w.peakRss} MB`, '-', '']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const cpuMethods = [...new Set([...cpuAccounts.values()].map((a) => a.method))].join(', ');
  console.log(`load average (1/5/15 min) before: ${r.loadBefore}; after: ${r.loadAfter}; ${os.cpus().length} cpus; node ${process.version}; scale ${SCALE}; workers' processes' CPU counted by ${cpuMethods}`);
  console.log(line(rows[0]!));
  console.log(`|${widths.map((wd) => '-'.repeat(wd + 2)).join('|')}|`);
  for (const row of rows.slice(1)) console.log(line(row));
  for (const row of r.runRows) {
    console.log(`\nwhere a run's time goes at ${row.agents} agents (activities in the histories; p50 ms wait for a slot / run):`);
    for (const b of row.breakdown) console.log(`  ${b.type.padEnd(18)} x${String(b.count).padEnd(4)} ${String(b.waitP50).padStart(6)} / ${String(b.runP50).padStart(6)}`);
    const sv = row.service.serverRequests;
    const fl = row.floor.serverRequests;
    if (sv && fl) {
      console.log(`requests to the Temporal frontend per run at ${row.agents} agents (service / floor; polls left out):`);
      const ops = [...new Set([...Object.keys(sv.frontend), ...Object.keys(fl.frontend)])].filter((op) => !op.startsWith('Poll')).sort();
      for (const op of ops) console.log(`  ${op.padEnd(40)} ${(sv.frontend[op] ?? 0).toFixed(1).padStart(6)} / ${(fl.frontend[op] ?? 0).toFixed(1).padStart(6)}`);
      console.log(`requests to the Temporal database per run at ${row.agents} agents (service / floor; operations at least 0.5 apart):`);
      const dbOps = [...new Set([...Object.keys(sv.persistenceByOp), ...Object.keys(fl.persistenceByOp)])].sort();
      for (const op of dbOps) {
        const [a, b] = [sv.persistenceByOp[op] ?? 0, fl.persistenceByOp[op] ?? 0];
        if (Math.abs(a - b) >= 0.5) console.log(`  ${op.padEnd(40)} ${a.toFixed(1).padStart(6)} / ${b.toFixed(1).padStart(6)}`);
      }
    }
  }
}

main()
  // The fake model's hanging replies keep timers; the workers are already stopped.
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    progress(`capacity bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  });
