/**
 * Whole-process scan speed on real source (`npm run bench:scan -- speed`): each scanner is
 * started as its own process on the same directory of non-minified, non-generated source
 * (JavaScript/TypeScript from node_modules, then Python, Perl and C headers from the machine;
 * bench/real-source.ts; SCAN_BENCH_MB sets the size, default 200), after a read that warms
 * the page cache. Prints
 * wall-clock MB/s and CPU seconds for ours (all cores, and one thread), secretlint and, when
 * installed, gitleaks; and our findings by rule, which on real code are nearly all false positives.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { realSourceCorpus, sourceRoots } from './real-source';
import { findGitleaks, secretlintConfig } from './scan-tools';
import { walkFiles } from '../scanner/walk';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..');
const MB = 1024 * 1024;

interface Timing {
  tool: string;
  seconds: number;
  mbPerSec: number;
  cpuSeconds: number;
  findings: number;
}

/** Runs a command under /usr/bin/time; returns wall seconds, user+system CPU seconds and stdout. */
async function timed(command: string, args: readonly string[]): Promise<{ seconds: number; cpuSeconds: number; stdout: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'scan-time-'));
  const timeFile = path.join(dir, 'time');
  try {
    const start = performance.now();
    const { stdout } = await run('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, command, ...args], { maxBuffer: 1 << 30, cwd: ROOT }).catch(
      (err: { code?: number; stdout?: string }) => {
        // Scanners exit 1 when they report findings: a finished run.
        if (err.code === 1 && err.stdout !== undefined) return { stdout: err.stdout };
        throw err;
      },
    );
    const seconds = (performance.now() - start) / 1000;
    const [user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    return { seconds, cpuSeconds: (user ?? 0) + (sys ?? 0), stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function round(x: number, digits = 1): number {
  return Number(x.toFixed(digits));
}

export async function runSpeed(): Promise<void> {
  const targetMB = Number(process.env.SCAN_BENCH_MB ?? 200);
  const corpus = await realSourceCorpus(sourceRoots(ROOT), path.join(tmpdir(), `scan-bench-real-${targetMB}mb`), targetMB * MB);
  const mb = corpus.bytes / MB;
  process.stdout.write(`corpus ${round(mb)} MB in ${corpus.files} files (target ${targetMB} MB):\n`);
  for (const r of corpus.roots) {
    process.stdout.write(`  ${r.label.padEnd(20)} ${String(round(r.bytes / MB)).padStart(6)} MB  ${String(r.files).padStart(6)} files  from ${r.dir}\n`);
  }
  if (mb < targetMB) process.stdout.write(`  (short of the target: the roots on this machine hold no more)\n`);
  // Compile the CLI if needed, and warm the page cache, outside the timed runs.
  await run(process.execPath, [path.join(ROOT, 'scripts', 'scan.mjs'), '--help'], { cwd: ROOT });
  for (const f of walkFiles(corpus.dir)) readFileSync(path.join(corpus.dir, f));

  const timings: Timing[] = [];
  const ours = async (tool: string, extra: string[]): Promise<Map<string, number>> => {
    const r = await timed(process.execPath, [path.join(ROOT, 'dist', 'scanner', 'cli.js'), ...extra, corpus.dir]);
    const byRule = new Map<string, number>();
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    for (const l of lines) {
      const id = (JSON.parse(l) as { ruleId: string }).ruleId;
      byRule.set(id, (byRule.get(id) ?? 0) + 1);
    }
    timings.push({ tool, seconds: round(r.seconds, 2), mbPerSec: round(mb / r.seconds), cpuSeconds: round(r.cpuSeconds, 2), findings: lines.length });
    return byRule;
  };
  const byRule = await ours('ours', []);
  await ours('ours --threads 1', ['--threads', '1']);

  const configDir = mkdtempSync(path.join(tmpdir(), 'secretlint-'));
  try {
    const r = await timed(process.execPath, [
      path.join(ROOT, 'node_modules', 'secretlint', 'bin', 'secretlint.js'),
      '--secretlintrc', secretlintConfig(configDir), '--format', 'json', '--no-color', `${corpus.dir}/**/*`,
    ]);
    const findings = (JSON.parse(r.stdout || '[]') as { messages: unknown[] }[]).reduce((n, f) => n + f.messages.length, 0);
    timings.push({ tool: 'secretlint', seconds: round(r.seconds, 2), mbPerSec: round(mb / r.seconds), cpuSeconds: round(r.cpuSeconds, 2), findings });
  } finally {
    rmSync(configDir, { recursive: true, force: true });
  }

  const gitleaks = findGitleaks();
  if (gitleaks !== undefined) {
    const r = await timed(gitleaks, ['dir', corpus.dir, '--no-banner', '--log-level', 'error', '--report-format', 'json', '--report-path', '-', '--exit-code', '0']);
    const findings = (JSON.parse(r.stdout || '[]') as unknown[]).length;
    timings.push({ tool: 'gitleaks', seconds: round(r.seconds, 2), mbPerSec: round(mb / r.seconds), cpuSeconds: round(r.cpuSeconds, 2), findings });
  }

  for (const t of timings) {
    process.stdout.write(
      `${t.tool.padEnd(18)} ${String(t.mbPerSec).padStart(7)} MB/s  ${String(t.seconds).padStart(7)} s wall  ${String(t.cpuSeconds).padStart(7)} s CPU  ${t.findings} findings\n`,
    );
  }
  const mine = timings.find((t) => t.tool === 'ours') as Timing;
  const theirs = timings.find((t) => t.tool === 'secretlint') as Timing;
  process.stdout.write(
    JSON.stringify({
      corpusMB: round(mb),
      files: corpus.files,
      corpusMBByRoot: Object.fromEntries(corpus.roots.map((r) => [r.label, round(r.bytes / MB)])),
      cores: cpus().length,
      loadAverageAfter: round(loadavg()[0] ?? 0),
      timings,
      gitleaks: gitleaks === undefined ? 'not installed' : 'installed',
      speedRatioVsSecretlint: round(mine.mbPerSec / theirs.mbPerSec),
      cpuRatioVsSecretlint: round(theirs.cpuSeconds / mine.cpuSeconds),
      ourFindingsOnRealCodeByRule: Object.fromEntries([...byRule].sort((a, b) => b[1] - a[1])),
    }) + '\n',
  );
}
