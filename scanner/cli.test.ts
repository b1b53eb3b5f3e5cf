import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SAMPLERS, createRng } from '../test/support/scanner/samples';

const ROOT = path.resolve(__dirname, '..');
/** What `npm run scan` runs: the compiled CLI, compiled first when stale. */
const LAUNCHER = path.join(ROOT, 'scripts', 'scan.mjs');

function scan(args: string[], cwd = ROOT): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [LAUNCHER, ...args], { cwd, encoding: 'utf8' });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

function git(cwd: string, ...args: string[]): void {
  const res = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`git ${args.join(' ')}: ${res.stderr}`);
}

const rng = createRng(7);
const token = (): string => SAMPLERS['github-pat']!.make(rng);

describe('scan CLI', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'scan-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('prints one JSON finding per line with paths relative to PATH and exits 1', () => {
    const secret = token();
    mkdirSync(path.join(dir, 'src'));
    mkdirSync(path.join(dir, 'node_modules', 'dep'), { recursive: true });
    mkdirSync(path.join(dir, '.git'));
    writeFileSync(path.join(dir, 'src', 'app.ts'), `const a = 1;\nconst token = "${secret}";\n`);
    writeFileSync(path.join(dir, '.gitignore'), 'build/\n*.log\n');
    mkdirSync(path.join(dir, 'build'));
    writeFileSync(path.join(dir, 'build', 'out.js'), `t="${token()}"`);
    writeFileSync(path.join(dir, 'debug.log'), `t="${token()}"`);
    writeFileSync(path.join(dir, 'node_modules', 'dep', 'index.js'), `t="${token()}"`);
    writeFileSync(path.join(dir, '.git', 'config'), `t="${token()}"`);

    const res = scan([dir]);
    expect(res.status).toBe(1);
    expect(res.stdout).not.toContain(secret);
    const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({ file: 'src/app.ts', line: 2, column: 16, ruleId: 'github-pat', match: 'ghp_…', fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) }),
    ]);
  });

  it('scans a larger tree on worker threads with the same findings as on one thread', () => {
    const planted: string[] = [];
    for (let d = 0; d < 10; d++) {
      mkdirSync(path.join(dir, `pkg${d}`));
      for (let f = 0; f < 20; f++) {
        const body = Array.from({ length: 50 }, (_, i) => `export const value${i} = compute(${i}, 'task');`);
        if (f % 7 === 0) {
          const secret = token();
          planted.push(secret);
          body.splice(10, 0, `const t = "${secret}";`);
        }
        writeFileSync(path.join(dir, `pkg${d}`, `file${f}.ts`), body.join('\n'));
      }
    }
    writeFileSync(path.join(dir, '.secretsignore'), 'pkg9/\n');
    const parallel = scan(['--threads', '2', dir]);
    const single = scan(['--threads', '1', dir]);
    expect(parallel.status).toBe(1);
    expect(parallel.stdout).toBe(single.stdout);
    const found = parallel.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; line: number });
    // 10 dirs x 3 planted files, less pkg9 which the allowlist skips.
    expect(found).toHaveLength(27);
    expect(found.every((f) => f.line === 11 && !f.file.startsWith('pkg9/'))).toBe(true);
    for (const s of planted) expect(parallel.stdout).not.toContain(s);
    expect(scan(['--threads', '0', dir])).toMatchObject({ status: 2, stderr: expect.stringMatching(/^scan: --threads must be/) });
  });

  it('exits 0 with no output on a clean tree, and honours .secretsignore fingerprints', () => {
    writeFileSync(path.join(dir, 'clean.py'), 'print("hello")\n');
    expect(scan([dir])).toMatchObject({ status: 0, stdout: '' });

    writeFileSync(path.join(dir, 'fixture.ts'), `export const t = "${token()}";\n`);
    const first = scan([dir]);
    const { fingerprint } = JSON.parse(first.stdout.trim()) as { fingerprint: string };
    writeFileSync(path.join(dir, '.secretsignore'), `# test fixture\n${fingerprint}\n`);
    expect(scan([dir])).toMatchObject({ status: 0, stdout: '' });
  });

  it('prints a SARIF 2.1.0 document with --format sarif', () => {
    writeFileSync(path.join(dir, 'a.env'), `GITHUB_TOKEN=${token()}\n`);
    const res = scan(['--format', 'sarif', dir]);
    expect(res.status).toBe(1);
    const sarif = JSON.parse(res.stdout) as { version: string; runs: { results: { ruleId: string; locations: unknown[] }[] }[] };
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0]?.results).toEqual([
      expect.objectContaining({
        ruleId: 'github-pat',
        locations: [{ physicalLocation: { artifactLocation: { uri: 'a.env' }, region: { startLine: 1, startColumn: 14 } } }],
      }),
    ]);
  });

  it('exits 2 with a one-line message for a missing path or a bad option', () => {
    const missing = scan([path.join(dir, 'nope')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/^scan: no such file or directory/);
    const bad = scan(['--frobnicate', dir]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^scan: unknown option --frobnicate/);
    expect(scan([]).status).toBe(2);
  });

  it('--staged scans only the added lines of the index, at their new line numbers', () => {
    git(dir, 'init', '-q');
    git(dir, 'config', 'user.email', 't@example.com');
    git(dir, 'config', 'user.name', 't');
    writeFileSync(path.join(dir, 'config.env'), 'A=1\nB=2\n');
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', 'init');
    const staged = token();
    writeFileSync(path.join(dir, 'config.env'), `A=1\nGITHUB_TOKEN=${staged}\nB=2\n`);
    git(dir, 'add', 'config.env');
    writeFileSync(path.join(dir, 'unstaged.env'), `T=${token()}\n`);

    const res = scan(['--staged'], dir);
    expect(res.status).toBe(1);
    const findings = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(findings).toEqual([expect.objectContaining({ file: 'config.env', line: 2, column: 14, ruleId: 'github-pat' })]);
    expect(res.stdout).not.toContain(staged);

    git(dir, 'reset', '-q');
    expect(scan(['--staged'], dir)).toMatchObject({ status: 0, stdout: '' });
  });

  it('--staged outside a repository is an error', () => {
    const res = scan(['--staged'], dir);
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/^scan: git /);
  });
});
