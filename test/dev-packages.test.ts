/**
 * What `npm run dev` installs for the sandbox the worker will use (scripts/lib.sh), beside the
 * worker's own choice (config/index.ts sandboxRuntime): a worker whose sandbox is missing refuses
 * to start, so a fresh machine's first `npm run dev` must install bubblewrap, the default. And the
 * Node.js both scripts accept: the one package.json asks for, not an older one apt-get may give.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sandboxRuntime, type SandboxRuntime } from '../config';

const LIB = path.resolve(__dirname, '../scripts/lib.sh');

function shellChoice(env: Record<string, string>): { runtime: string; packages: string[] } {
  const clean = { ...process.env };
  delete clean.SANDBOX_RUNTIME;
  delete clean.SANDBOX_ENABLED;
  const out = execFileSync('bash', ['-c', `source "${LIB}"; printf '%s|%s' "$(sandbox_runtime)" "$(sandbox_packages)"`], { env: { ...clean, ...env }, encoding: 'utf8' });
  const [runtime, packages] = out.split('|') as [string, string];
  return { runtime, packages: packages.split(' ').filter(Boolean) };
}

const NEEDS: Record<SandboxRuntime, string[]> = { bubblewrap: ['bubblewrap'], docker: ['docker.io', 'debootstrap'], none: [] };

describe('the packages npm run dev installs for the sandbox', () => {
  it.each<Record<string, string>>([{}, { SANDBOX_ENABLED: 'true' }, { SANDBOX_ENABLED: 'false' }, { SANDBOX_RUNTIME: 'docker' }, { SANDBOX_RUNTIME: 'bubblewrap' }, { SANDBOX_RUNTIME: 'none' }])(
    'are those of the runtime the worker picks, with %j',
    (env) => {
      const worker = sandboxRuntime({ SANDBOX_RUNTIME: env.SANDBOX_RUNTIME as SandboxRuntime | undefined, SANDBOX_ENABLED: env.SANDBOX_ENABLED === 'true' });
      expect(shellChoice(env)).toEqual({ runtime: worker, packages: NEEDS[worker] });
    },
  );

  it('include bubblewrap on the embedded defaults', () => {
    expect(shellChoice({}).packages).toEqual(['bubblewrap']);
  });
});

describe('the Node.js npm run dev and npm test accept', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'node-version-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** require_node with a `node` on PATH that says it is `version`. */
  function requireNode(version: string): { status: number | null; stderr: string } {
    const bin = path.join(dir, version);
    rmSync(bin, { recursive: true, force: true });
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(bin, 'node'), `#!/bin/sh\necho ${version}\n`);
    chmodSync(path.join(bin, 'node'), 0o755);
    const run = spawnSync('bash', ['-c', `source "${LIB}"; require_node`], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' });
    return { status: run.status, stderr: run.stderr };
  }

  it('is the minimum package.json names', () => {
    const engines = (JSON.parse(readFileSync(path.resolve(__dirname, '../package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    const min = execFileSync('bash', ['-c', `source "${LIB}"; printf %s "$NODE_MIN"`], { encoding: 'utf8' });
    expect(engines).toBe(`>=${min}`);
  });

  it.each(['v20.3.0', 'v20.20.2', 'v22.1.0', process.version])('accepts %s', (version) => {
    expect(requireNode(version)).toEqual({ status: 0, stderr: '' });
  });

  it.each(['v18.20.4', 'v20.2.0', 'v12.22.9'])('stops at once on %s, naming it and the minimum', (version) => {
    const { status, stderr } = requireNode(version);
    expect(status).toBe(1);
    expect(stderr).toContain(`Node.js ${version} is too old: this service needs 20.3 or later`);
  });
});
