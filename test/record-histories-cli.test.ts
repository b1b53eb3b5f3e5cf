/**
 * `npm run record-histories -- NAME...`: a scenario name it does not know stops it before any
 * harness starts, exit 1, with one stderr line listing the known names (no stack trace).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

it('refuses an unknown scenario with one stderr line naming it and the known ones', async () => {
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(path.join(ROOT, 'node_modules/.bin/tsx'), ['scripts/record-histories.ts', 'no-such-scenario'], { cwd: ROOT, timeout: 60_000 }, (err, out, errOut) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout: out, stderr: errOut });
    });
  });
  expect(code).toBe(1);
  expect(stdout).toBe('');
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/^record-histories: unknown scenario\(s\): no-such-scenario; known: completed-with-tools, /);
});
