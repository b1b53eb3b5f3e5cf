/**
 * Start-up refusals: a worker with the sandbox enabled and no Docker engine, or with an invalid
 * variable, exits 1 with one clear line; readiness names the missing engine.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { loadConfig } from '../config';
import { AgentStateStore } from '../state/agent-state-store';
import { createApp } from '../api/app';
import { testEnv } from './support/env';
import { connectTestRedis } from './support/redis';

const run = promisify(execFile);

async function startWorker(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  try {
    await run('node_modules/.bin/tsx', ['worker/main.ts'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TEMPORAL_ADDRESS: testEnv.temporalAddress, VALKEY_HOST: testEnv.valkeyHost, VALKEY_PORT: String(testEnv.valkeyPort), LOG_LEVEL: 'error', ...env },
      timeout: 60_000,
    });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

describe('worker start-up', () => {
  it('refuses to start with SANDBOX_ENABLED=true and no Docker engine', async () => {
    const res = await startWorker({ SANDBOX_ENABLED: 'true', DOCKER_SOCKET: '/nonexistent/docker.sock', TEMPORAL_TASK_QUEUE: `startup-${randomUUID()}` });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('SANDBOX_ENABLED=true but no Docker engine answers at /nonexistent/docker.sock');
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
    const app = createApp({
      client: new Client({ connection }),
      redis,
      store: new AgentStateStore(redis, { terminalTtlSeconds: 60 }),
      config,
      logger: pino({ level: 'silent' }),
      pingSandbox: () => Promise.reject(new Error('connect ENOENT /nonexistent/docker.sock')),
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/health/ready`);
      const body = (await res.json()) as { down: string[]; checks: Record<string, { status: string; error?: string }> };
      expect(res.status).toBe(503);
      expect(body.down).toContain('sandbox');
      expect(body.checks.sandbox?.error).toContain('docker.sock');
      expect(body.checks.valkey?.status).toBe('up');
    } finally {
      server.close();
      await redis.quit();
      await connection.close();
    }
  });
});
