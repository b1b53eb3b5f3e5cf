/**
 * API start-up refusals: an invalid variable, or no API key, stops `api/main.ts` with exit code 1
 * and one line on stderr naming the variable: no stack trace, nothing on stdout, no secret echoed.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
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
