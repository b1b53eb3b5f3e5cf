/**
 * What `npm run dev` installs for the sandbox the worker will use (scripts/lib.sh), beside the
 * worker's own choice (config/index.ts sandboxRuntime): a worker whose sandbox is missing refuses
 * to start, so a fresh machine's first `npm run dev` must install bubblewrap, the default.
 */
import { execFileSync } from 'node:child_process';
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
