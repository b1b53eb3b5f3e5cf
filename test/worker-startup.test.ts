/**
 * Start-up refusals: a worker with the sandbox enabled and no Docker engine, or with an invalid
 * variable, exits 1 with one clear line; readiness names the missing engine.
 */
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { loadConfig } from '../config';
import { AgentStateStore } from '../state/agent-state-store';
import { createApp } from '../api/app';
import { startEventFeed } from '../api/event-feed';
import { testEnv } from './support/env';
import { OwnRedisServer } from './support/own-redis-server';
import { connectTestRedis } from './support/redis';

const run = promisify(execFile);

const workerEnv = (env: Record<string, string>) => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  TEMPORAL_ADDRESS: testEnv.temporalAddress,
  VALKEY_HOST: testEnv.valkeyHost,
  VALKEY_PORT: String(testEnv.valkeyPort),
  LOG_LEVEL: 'error',
  // Not the default port: a worker of `npm run dev` on this machine holds it.
  WORKER_METRICS_ADDRESS: 'off',
  ...env,
});

async function startWorker(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  try {
    await run('node_modules/.bin/tsx', ['worker/main.ts'], { env: workerEnv(env), timeout: 60_000 });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

describe('worker SDK metrics', () => {
  it("serves Temporal's SDK metrics for Prometheus on WORKER_METRICS_ADDRESS", async () => {
    const port = await freePort();
    const child = spawn('node_modules/.bin/tsx', ['worker/main.ts'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        TEMPORAL_ADDRESS: testEnv.temporalAddress,
        VALKEY_HOST: testEnv.valkeyHost,
        VALKEY_PORT: String(testEnv.valkeyPort),
        TEMPORAL_TASK_QUEUE: `metrics-${randomUUID()}`,
        WORKER_METRICS_ADDRESS: `127.0.0.1:${port}`,
        LOG_LEVEL: 'error',
      },
      stdio: 'ignore',
    });
    try {
      const deadline = Date.now() + 60_000;
      // The core's client series come first (the worker's own follow once its workflows are bundled).
      const workerSeries = /^temporal_request(_latency_bucket|_total)?\{/m;
      let text = '';
      while (Date.now() < deadline && !workerSeries.test(text)) {
        text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(text).toMatch(workerSeries);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('worker start-up', () => {
  it('refuses to start with SANDBOX_ENABLED=true and no Docker engine', async () => {
    const res = await startWorker({ SANDBOX_ENABLED: 'true', DOCKER_SOCKET: '/nonexistent/docker.sock', TEMPORAL_TASK_QUEUE: `startup-${randomUUID()}` });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('but no Docker engine answers at /nonexistent/docker.sock');
  });

  it("refuses a WORKSPACE_ROOT another namespace's deployment holds: its reaper would remove this one's live work", async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'shared-root-'));
    writeFileSync(path.join(root, 'deployment.json'), JSON.stringify({ namespace: 'team-a' }));
    const res = await startWorker({ WORKSPACE_ROOT: root, TEMPORAL_NAMESPACE: 'default', TEMPORAL_TASK_QUEUE: `startup-${randomUUID()}` });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`WORKSPACE_ROOT ${root} belongs to the deployment of Temporal namespace "team-a"`);
  });

  it('refuses to start without isolation when bubblewrap (the default) is missing, saying how to fix it', async () => {
    // A PATH with node and nothing else: no bwrap to find.
    const bin = mkdtempSync(path.join(os.tmpdir(), 'no-bwrap-'));
    symlinkSync(process.execPath, path.join(bin, 'node'));
    try {
      const res = await startWorker({ PATH: bin, TEMPORAL_TASK_QUEUE: `startup-${randomUUID()}` });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('SANDBOX_RUNTIME=bubblewrap: bwrap is not installed');
      expect(res.stderr).toContain('opt out of isolation with SANDBOX_RUNTIME=none');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('runs without isolation only when SANDBOX_RUNTIME=none says so, and warns loudly', async () => {
    const child = spawn('node_modules/.bin/tsx', ['worker/main.ts'], {
      env: workerEnv({ SANDBOX_RUNTIME: 'none', LOG_LEVEL: 'warn', TEMPORAL_TASK_QUEUE: `startup-${randomUUID()}` }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      const deadline = Date.now() + 60_000;
      while (!out.includes('NO ISOLATION') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain('SANDBOX_RUNTIME=none: NO ISOLATION');
      expect(out).toContain('"level":40');
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('starts with a warning naming the reason when bubblewrap commands cannot have a pids cgroup of their own', async () => {
    const notCgroup = mkdtempSync(path.join(os.tmpdir(), 'not-a-cgroup-'));
    const child = spawn('node_modules/.bin/tsx', ['worker/main.ts'], {
      env: workerEnv({ SANDBOX_CGROUP_PARENT: notCgroup, LOG_LEVEL: 'warn', TEMPORAL_TASK_QUEUE: `startup-${randomUUID()}` }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      const deadline = Date.now() + 60_000;
      while (!out.includes('pids cgroup') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain(`sandboxes get no pids cgroup of their own (${notCgroup} is not a cgroup)`);
      expect(out).toContain("one agent's fork bomb can keep every other agent's commands and gates on this host from starting");
      expect(out).toContain('"level":40');
    } finally {
      child.kill('SIGTERM');
      rmSync(notCgroup, { recursive: true, force: true });
    }
  });

  it('logs a lost Valkey as a warning while it runs, and says nothing of it once stopping (a terminal Ctrl-C stops both)', async () => {
    const valkey = await OwnRedisServer.start();
    const child = spawn('node_modules/.bin/tsx', ['worker/main.ts'], {
      env: workerEnv({ SANDBOX_RUNTIME: 'none', LOG_LEVEL: 'warn', VALKEY_PORT: String(valkey.port), TEMPORAL_TASK_QUEUE: `startup-${randomUUID()}` }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const until = async (what: () => boolean, ms: number) => {
        const deadline = Date.now() + ms;
        while (!what() && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      };
      await until(() => out.includes('NO ISOLATION'), 60_000); // started
      await valkey.stop();
      await until(() => out.includes('valkey connection error'), 10_000);
      expect(out).toContain('valkey connection error');
      child.kill('SIGINT');
      await exited;
      const afterStop = out.slice(out.indexOf('shutting down'));
      expect(afterStop).not.toContain('valkey connection error');
      expect(err).not.toContain('Unhandled error event');
    } finally {
      child.kill('SIGKILL');
      await valkey.stop();
    }
  });

  it.each([
    ['GIT_SSH_KEY_PATH', '/nonexistent/id_ed25519', 'ENOENT'],
    ['WORKFLOW_BUNDLE_PATH', '/tmp', 'not a file'],
  ])('refuses a %s it cannot read, with one line naming it', async (name, file, why) => {
    const { code, stderr } = await startWorker({ [name]: file });
    expect(code).toBe(1);
    expect(stderr).toBe(`worker: ${name}=${JSON.stringify(file)}: cannot read it (${why})\n`);
  });

  it('refuses an invalid variable, naming it and the value, and never echoes a secret', async () => {
    const res = await startWorker({ VALKEY_PORT: 'not-a-port', GIT_HTTPS_TOKEN: 'x', ORCHESTRATOR_API_KEY: 'short-secret' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('VALKEY_PORT="not-a-port"');
    expect(res.stderr).toContain('ORCHESTRATOR_API_KEY=[redacted]');
    expect(res.stderr).not.toContain('short-secret');
  });
});

describe('readiness with the sandbox enabled', () => {
  it('answers 503 naming the sandbox when the Docker engine does not answer', async () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: testEnv.temporalAddress, ORCHESTRATOR_API_KEY: 'k'.repeat(32), TEMPORAL_TASK_QUEUE: `ready-${randomUUID()}` });
    const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    const redis = connectTestRedis();
    const eventFeed = startEventFeed(redis);
    const app = createApp({
      client: new Client({ connection }),
      redis,
      store: new AgentStateStore(redis, { terminalTtlSeconds: 60 }),
      config,
      logger: pino({ level: 'silent' }),
      pingSandbox: () => Promise.reject(new Error('connect ENOENT /nonexistent/docker.sock')),
      eventFeed,
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/health/ready`);
      const body = (await res.json()) as { down: string[]; checks: Record<string, { status: string; error?: string }> };
      expect(res.status).toBe(503);
      expect(body.down).toContain('sandbox');
      // Says which check failed, never the error's text (paths, addresses) to an unauthenticated caller.
      expect(body.checks.sandbox?.error).toBe('Docker engine ping failed');
      expect(body.checks.valkey?.status).toBe('up');
    } finally {
      server.close();
      await eventFeed.stop();
      await redis.quit();
      await connection.close();
    }
  });
});
