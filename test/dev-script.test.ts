/**
 * scripts/dev.sh (`npm run dev`) on its own ports and a temporary data directory.
 *
 * Back-to-back start / Ctrl-C cycles: each waits for the script's "ready" line (the API answers
 * /health/ready), then sends SIGINT, alternately to the script's process group (a terminal's
 * Ctrl-C) and to the script alone (`kill -INT`). After each: the script returned 130, every
 * process it started has exited, nothing holds a file in the data directory, no port answers.
 * Before the first cycle the data directory holds a dump.rdb, as the dev script left it before
 * Valkey had an append-only file; the first cycle writes a Valkey key and starts a workflow; the
 * last finds all three (the dump carried into Valkey's append-only file, Temporal's SQLite file). DEV_CYCLES sets the count (at least 2):
 * the suite runs 2, `npm run test:dev-cycles` runs 20 and prints the figures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { Client, Connection } from '@temporalio/client';
import { accepts, freeFixedPort } from './support/ports';
import { descendants, holdersOfFilesUnder, isAlive, type ProcessIdentity } from './support/processes';

const ROOT = path.resolve(__dirname, '..');
const CYCLES = Math.max(2, Number(process.env.DEV_CYCLES ?? 2));
/** Longest the test waits for one start; the script itself allows 300 s per step. */
const START_LIMIT_MS = 330_000;
const STOP_LIMIT_MS = 120_000;

interface DevPorts {
  temporal: number;
  ui: number;
  valkey: number;
  api: number;
  metrics: number;
}

interface DevRun {
  child: ChildProcess;
  output(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function devPorts(): Promise<DevPorts> {
  const distinct = new Set<number>();
  while (distinct.size < 5) distinct.add(await freeFixedPort());
  const [temporal, ui, valkey, api, metrics] = [...distinct] as [number, number, number, number, number];
  return { temporal, ui, valkey, api, metrics };
}

/** The variables that point dev.sh at the test's ports and directory, and nothing inherited from the test servers. */
function devEnv(dataDir: string, ports: DevPorts, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['TEMPORAL_ADDRESS', 'VALKEY_HOST', 'VALKEY_PORT', 'ORCHESTRATOR_API_KEY', 'WORKSPACE_ROOT', 'SANDBOX_ENABLED', 'TEMPORAL_TASK_QUEUE']) delete env[name];
  return {
    ...env,
    ORCHESTRATOR_DATA_DIR: dataDir,
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    TEMPORAL_UI_PORT: String(ports.ui),
    VALKEY_PORT: String(ports.valkey),
    ORCHESTRATOR_PORT: String(ports.api),
    // Its own, not the default: a worker of a real `npm run dev` on this machine may hold that.
    WORKER_METRICS_ADDRESS: `127.0.0.1:${ports.metrics}`,
    ...extra,
  };
}

function startDev(env: NodeJS.ProcessEnv): DevRun {
  // Its own process group, so the test can signal the group as a terminal does.
  const child = spawn('bash', ['scripts/dev.sh'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-200_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return { child, output: () => output, exit };
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** Resolves when the script printed a line matching `pattern`; rejects when it exited first or took too long. */
async function waitForOutput(run: DevRun, pattern: RegExp, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!pattern.test(run.output())) {
    if (run.child.exitCode !== null || run.child.signalCode !== null) {
      throw new Error(`dev.sh exited (${run.child.exitCode ?? run.child.signalCode}) before printing ${pattern}:\n${tail(run.output())}`);
    }
    if (Date.now() > deadline) throw new Error(`dev.sh did not print ${pattern} within ${limitMs} ms:\n${tail(run.output())}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function waitForExit(run: DevRun, limitMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`dev.sh did not return within ${limitMs} ms after SIGINT:\n${tail(run.output())}`)), limitMs);
  });
  try {
    return (await Promise.race([run.exit, timeout])).code;
  } finally {
    clearTimeout(timer);
  }
}

/** The leftovers after dev.sh returned: processes it started still alive, files held, ports open. */
async function leftovers(started: ProcessIdentity[], dataDir: string, ports: Partial<DevPorts>): Promise<string[]> {
  const found = started.filter(isAlive).map((p) => `still running: pid ${p.pid} ${p.command}`);
  found.push(...holdersOfFilesUnder(dataDir).map((p) => `holds a file in the data directory: pid ${p.pid} ${p.command}`));
  for (const [name, port] of Object.entries(ports)) if (port !== undefined && (await accepts(port))) found.push(`port ${port} (${name}) still answers`);
  return found;
}

/** Kills what a failed run left behind, so one failure does not leak processes into the machine. */
function killLeftovers(run: DevRun, started: ProcessIdentity[]): void {
  try {
    process.kill(-run.child.pid!, 'SIGKILL');
  } catch {
    // the group is gone
  }
  for (const p of started) if (isAlive(p)) process.kill(p.pid, 'SIGKILL');
}

describe('npm run dev (scripts/dev.sh)', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'dev-script-'));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  test(
    `${CYCLES} back-to-back start / Ctrl-C cycles come up every time, stop everything they started, and keep Valkey's and Temporal's data`,
    async () => {
      const ports = await devPorts();
      const env = devEnv(dataDir, ports, { LOG_LEVEL: 'warn' });
      const probeKey = `dev-script-probe-${Date.now()}`;
      const probeWorkflowId = `dev-script-probe-${Date.now()}`;
      const figures: Array<{ startMs: number; stopMs: number }> = [];
      await seedDump(path.join(dataDir, 'valkey'), ports.valkey, `${probeKey}-dump`);

      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        const startedAt = Date.now();
        const run = startDev(env);
        let started: ProcessIdentity[] = [];
        try {
          await waitForOutput(run, /\[dev\.sh\] ready: /, START_LIMIT_MS);
          const startMs = Date.now() - startedAt;
          started = descendants(run.child.pid!);
          expect(started.map((p) => p.command).join('\n')).toMatch(/temporal server start-dev[\s\S]*redis-server|redis-server[\s\S]*temporal server start-dev/);

          if (cycle === 1) await writeProbes(ports, probeKey, probeWorkflowId);
          if (cycle === CYCLES) await expectProbes(ports, probeKey, probeWorkflowId);

          const stopAt = Date.now();
          const toGroup = cycle % 2 === 1;
          process.kill(toGroup ? -run.child.pid! : run.child.pid!, 'SIGINT');
          const code = await waitForExit(run, STOP_LIMIT_MS);
          const stopMs = Date.now() - stopAt;
          expect({ cycle, code }).toEqual({ cycle, code: 130 });
          expect(await leftovers(started, dataDir, ports)).toEqual([]);
          expect(run.output()).toMatch(/\[dev\.sh\] stopped/);
          figures.push({ startMs, stopMs });
        } catch (err) {
          killLeftovers(run, started);
          throw new Error(`cycle ${cycle} of ${CYCLES} failed: ${(err as Error).message}`);
        }
      }
      expect(existsSync(path.join(dataDir, 'valkey', 'appendonlydir'))).toBe(true);

      const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
      process.stdout.write(
        `dev.sh cycles: ${figures.length}, failures: 0, start mean ${mean(figures.map((f) => f.startMs))} ms ` +
          `(max ${Math.max(...figures.map((f) => f.startMs))}), stop mean ${mean(figures.map((f) => f.stopMs))} ms ` +
          `(max ${Math.max(...figures.map((f) => f.stopMs))})\n`,
      );
    },
    CYCLES * (START_LIMIT_MS + STOP_LIMIT_MS),
  );

  test('a start that finds the SQLite database held waits for it, and names the holder when it is not released', async () => {
    const ports = await devPorts();
    const db = path.join(dataDir, 'temporal.db');
    writeFileSync(db, '');

    // Held for good: the script gives up after DEV_DB_WAIT_SECONDS, naming the holder.
    const holder = spawn('bash', ['-c', 'exec 3<"$0"; exec sleep 120', db], { stdio: 'ignore' });
    try {
      await waitUntilHeld(db);
      const run = startDev(devEnv(dataDir, ports, { DEV_DB_WAIT_SECONDS: '1' }));
      expect(await waitForExit(run, STOP_LIMIT_MS)).toBe(1);
      expect(run.output()).toContain(`is still held by pid ${holder.pid} (sleep 120`);
      expect(await leftovers(descendants(run.child.pid!), dataDir, ports)).toEqual([
        `holds a file in the data directory: pid ${holder.pid} sleep 120`,
      ]);
    } finally {
      holder.kill('SIGKILL');
      await once(holder, 'exit');
    }

    // Released after a moment (a server still closing): the script waits, then starts Temporal.
    const brief = spawn('bash', ['-c', 'exec 3<"$0"; exec sleep 3', db], { stdio: 'ignore' });
    await waitUntilHeld(db);
    const run = startDev(devEnv(dataDir, ports));
    try {
      await waitForOutput(run, new RegExp(`waiting for pid ${brief.pid} \\(sleep 3`), START_LIMIT_MS);
      await waitForOutput(run, /starting the Temporal dev server/, START_LIMIT_MS);
    } finally {
      process.kill(-run.child.pid!, 'SIGINT');
      expect(await waitForExit(run, STOP_LIMIT_MS)).toBe(130);
    }
    expect(holdersOfFilesUnder(dataDir)).toEqual([]);
  }, 2 * START_LIMIT_MS);

  test('a process that dies while starting ends the script at once, with that process’s own error', async () => {
    const ports = await devPorts();
    // Something else holds the Web UI port: the Temporal dev server exits at once.
    const squatter = createServer().listen(ports.ui, '127.0.0.1');
    await once(squatter, 'listening');
    try {
      const run = startDev(devEnv(dataDir, ports));
      await waitForOutput(run, /starting the Temporal dev server/, START_LIMIT_MS);
      const started = descendants(run.child.pid!);
      expect(await waitForExit(run, START_LIMIT_MS)).toBe(1);
      const output = run.output();
      expect(output).toMatch(/\[dev\.sh\] error: the Temporal dev server exited \(status 1\)/);
      expect(output).toContain(`can't set UI port ${ports.ui}`);
      expect(output).not.toMatch(/still waiting|was not ready within/);
      expect(await leftovers(started, dataDir, { temporal: ports.temporal, valkey: ports.valkey, api: ports.api })).toEqual([]);
    } finally {
      squatter.close();
    }
  }, START_LIMIT_MS + STOP_LIMIT_MS);
});

async function waitUntilHeld(file: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (holdersOfFilesUnder(path.dirname(file)).length === 0) {
    if (Date.now() > deadline) throw new Error(`nothing opened ${file}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A dump.rdb holding one key, as dev.sh left its data before Valkey had an append-only file. */
async function seedDump(dir: string, port: number, key: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const redis = new Redis({ host: '127.0.0.1', port }); // retries until the server listens
  try {
    await redis.set(key, 'from-dump');
    await redis.save();
  } finally {
    redis.disconnect();
    server.kill('SIGTERM');
    await once(server, 'exit');
  }
  expect(existsSync(path.join(dir, 'dump.rdb'))).toBe(true);
}

/** Cycle 1: a Valkey key and a workflow (on a task queue no worker polls, so it stays open). */
async function writeProbes(ports: DevPorts, key: string, workflowId: string): Promise<void> {
  const redis = new Redis({ host: '127.0.0.1', port: ports.valkey, lazyConnect: true });
  try {
    await redis.connect();
    await redis.set(key, 'kept');
  } finally {
    redis.disconnect();
  }
  const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
  try {
    await new Client({ connection }).workflow.start('devScriptProbe', { taskQueue: 'dev-script-probe', workflowId, args: [] });
  } finally {
    await connection.close();
  }
}

/** The last cycle: both survived every restart in between. */
async function expectProbes(ports: DevPorts, key: string, workflowId: string): Promise<void> {
  const redis = new Redis({ host: '127.0.0.1', port: ports.valkey, lazyConnect: true });
  try {
    await redis.connect();
    expect(await redis.mget(key, `${key}-dump`)).toEqual(['kept', 'from-dump']);
  } finally {
    redis.disconnect();
  }
  const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
  try {
    const description = await new Client({ connection }).workflow.getHandle(workflowId).describe();
    expect(description.status.name).toBe('RUNNING');
  } finally {
    await connection.close();
  }
}
