/**
 * API start-up refusals: an invalid variable, or no API key, stops `api/main.ts` with exit code 1
 * and one line on stderr naming the variable: no stack trace, nothing on stdout, no secret echoed.
 */
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { OwnRedisServer } from '../support/own-redis-server';
import { testEnv } from '../support/env';

const run = promisify(execFile);

async function startApi(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const res = await run('node_modules/.bin/tsx', ['api/main.ts'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TEMPORAL_ADDRESS: testEnv.temporalAddress, VALKEY_HOST: testEnv.valkeyHost, VALKEY_PORT: String(testEnv.valkeyPort), ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout: res.stdout, stderr: res.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('API start-up', () => {
  it('refuses an invalid variable with one stderr line naming it, never a stack trace or a secret', async () => {
    const res = await startApi({ ORCHESTRATOR_PORT: 'eighty', ORCHESTRATOR_API_KEY: 'short-secret' });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain('ORCHESTRATOR_PORT="eighty"');
    expect(res.stderr).toContain('ORCHESTRATOR_API_KEY=[redacted]');
    expect(res.stderr).not.toContain('short-secret');
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses to start without an API key, saying how to fix it in one stderr line', async () => {
    const res = await startApi({});
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain('ORCHESTRATOR_API_KEY is not set');
  });
});

describe('API shutdown', () => {
  it('stops on SIGINT while a client follows an event stream: the stream ends (the client resumes elsewhere by its Last-Event-ID)', async () => {
    const key = 'shutdown-test-key-0123456789abcdef';
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const child = spawn('node_modules/.bin/tsx', ['api/main.ts'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        TEMPORAL_ADDRESS: testEnv.temporalAddress,
        VALKEY_HOST: testEnv.valkeyHost,
        VALKEY_PORT: String(testEnv.valkeyPort),
        ORCHESTRATOR_PORT: String(port),
        ORCHESTRATOR_HOST: '127.0.0.1',
        ORCHESTRATOR_API_KEY: key,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const stream = new AbortController();
    try {
      for (let deadline = Date.now() + 60_000; !out.includes('orchestrator API listening') && Date.now() < deadline && child.exitCode === null; ) await new Promise((r) => setTimeout(r, 100));
      const res = await fetch(`http://127.0.0.1:${port}/agents/events`, { headers: { 'X-API-Key': key }, signal: stream.signal });
      expect(res.status).toBe(200);
      const body = res.body!.getReader();
      child.kill('SIGINT');
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise<'still running'>((r) => (timer = setTimeout(() => r('still running'), 10_000)))]);
      clearTimeout(timer);
      expect(code).toBe(0);
      // The stream was ended by the server, not cut by the client.
      for (;;) if ((await body.read()).done) break;
    } finally {
      stream.abort();
      child.kill('SIGKILL');
    }
  }, 90_000);

  it('stops on SIGINT while Valkey is down (a terminal\'s Ctrl-C stops both), and says nothing of it once stopping', async () => {
    const key = 'shutdown-test-key-0123456789abcdef';
    const valkey = await OwnRedisServer.start();
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const child = spawn('node_modules/.bin/tsx', ['api/main.ts'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        TEMPORAL_ADDRESS: testEnv.temporalAddress,
        VALKEY_HOST: '127.0.0.1',
        VALKEY_PORT: String(valkey.port),
        ORCHESTRATOR_PORT: String(port),
        ORCHESTRATOR_HOST: '127.0.0.1',
        ORCHESTRATOR_API_KEY: key,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: a shutdown that hangs is killed with tsx's child
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      for (let deadline = Date.now() + 60_000; !out.includes('orchestrator API listening') && Date.now() < deadline && child.exitCode === null; ) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain('orchestrator API listening');
      await valkey.stop();
      for (let deadline = Date.now() + 10_000; !out.includes('valkey connection error') && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGINT');
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise<'still running'>((r) => (timer = setTimeout(() => r('still running'), 10_000)))]);
      clearTimeout(timer);
      // Before: the event feed's tail waited for ever on a read queued while Valkey was away, and so did the shutdown.
      expect(code).toBe(0);
      const afterStop = out.slice(out.indexOf('shutting down'));
      expect(afterStop).toContain('stopped');
      expect(afterStop).not.toContain('event stream tail');
      expect(afterStop).not.toContain('valkey connection error');
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
      await valkey.stop();
    }
  }, 90_000);
});
