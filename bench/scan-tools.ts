/**
 * The other secret scanners the scan benchmark compares with: secretlint (a devDependency,
 * recommended preset) and gitleaks (when a `gitleaks` binary is on PATH or in ~/go/bin).
 * Each reports the 1-based lines it flags per file; secrets they print are never kept.
 */
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Reported lines per file path (relative to the scanned root, '/'-separated). */
export type Report = Map<string, number[]>;

function add(report: Report, file: string, line: number): void {
  const lines = report.get(file) ?? [];
  lines.push(line);
  report.set(file, lines);
}

/** Path of a gitleaks binary, or undefined when none is installed. */
export function findGitleaks(): string | undefined {
  const candidates = [process.env.GITLEAKS, path.join(homedir(), 'go', 'bin', 'gitleaks'), '/usr/local/bin/gitleaks', '/usr/bin/gitleaks'];
  return candidates.find((c): c is string => c !== undefined && c !== '' && existsSync(c));
}

/** Runs `gitleaks dir` on `root` (its default rules) and collects the reported lines. */
export async function gitleaksReport(binary: string, root: string): Promise<Report> {
  const { stdout } = await run(binary, ['dir', root, '--no-banner', '--log-level', 'error', '--report-format', 'json', '--report-path', '-', '--exit-code', '0'], {
    maxBuffer: 1 << 30,
  });
  const report: Report = new Map();
  for (const f of JSON.parse(stdout || '[]') as { File: string; StartLine: number }[]) {
    add(report, path.relative(root, f.File).split(path.sep).join('/'), f.StartLine);
  }
  return report;
}

const SECRETLINT_BIN = path.join(__dirname, '..', 'node_modules', 'secretlint', 'bin', 'secretlint.js');

/** Writes a secretlint configuration with the recommended preset; returns its path. */
export function secretlintConfig(dir: string): string {
  const file = path.join(dir, '.secretlintrc.json');
  writeFileSync(file, JSON.stringify({ rules: [{ id: '@secretlint/secretlint-rule-preset-recommend' }] }));
  return file;
}

/** Runs the secretlint CLI on every file under `root` and collects the reported lines. */
export async function secretlintReport(root: string, configFile: string): Promise<Report> {
  const res = await run(process.execPath, [SECRETLINT_BIN, '--secretlintrc', configFile, '--format', 'json', '--no-color', `${root}/**/*`], {
    maxBuffer: 1 << 30,
    cwd: path.join(__dirname, '..'),
  }).catch((err: { stdout?: string; code?: number }) => {
    // Exit status 1 means findings.
    if (err.code === 1 && err.stdout !== undefined) return { stdout: err.stdout };
    throw err;
  });
  const report: Report = new Map();
  for (const f of JSON.parse(res.stdout || '[]') as { filePath: string; messages: { loc: { start: { line: number } } }[] }[]) {
    for (const m of f.messages) add(report, path.relative(root, f.filePath).split(path.sep).join('/'), m.loc.start.line);
  }
  return report;
}
