/**
 * Labelled evaluation of the secret scanners (`npm run bench:scan -- eval`): the cases of
 * test/support/scanner/eval, written from vendors' formats independently of the rule table,
 * scanned by ours, secretlint and gitleaks (when installed); prints recall, precision and the
 * decoy false-positive rate per family for each.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { scanText } from '../scanner';
import { buildEvaluation, scoreEvaluation, type EvalFile, type FamilyScore } from '../test/support/scanner/eval/evaluation';
import { findGitleaks, gitleaksReport } from './scan-tools';

type Lines = (f: EvalFile) => readonly number[];

async function secretlintLines(files: readonly EvalFile[]): Promise<Lines> {
  const { lintSource } = await import('@secretlint/core');
  const { creator } = await import('@secretlint/secretlint-rule-preset-recommend');
  const config = { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: creator }] };
  const lines = new Map<string, number[]>();
  for (const f of files) {
    const result = await lintSource({
      source: { content: f.content, filePath: path.join('/eval', f.path), contentType: 'text' },
      options: { config, maskSecrets: true },
    });
    lines.set(f.path, result.messages.map((m) => m.loc.start.line));
  }
  return (f) => lines.get(f.path) ?? [];
}

async function gitleaksLines(binary: string, files: readonly EvalFile[]): Promise<Lines> {
  const dir = mkdtempSync(path.join(tmpdir(), 'scan-eval-'));
  try {
    for (const f of files) {
      const target = path.join(dir, f.path);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, f.content);
    }
    const report = await gitleaksReport(binary, dir);
    return (f) => report.get(f.path) ?? [];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function table(name: string, scores: readonly FamilyScore[]): string {
  const rows = scores.map(
    (s) =>
      `${name.padEnd(10)} ${s.family.padEnd(18)} recall ${s.recall.toFixed(3)} (${String(s.found).padStart(4)}/${String(s.secrets).padEnd(4)})` +
      `  precision ${s.precision.toFixed(3)}  decoy FP ${s.decoyFpRate.toFixed(3)} (${s.decoyFilesFlagged}/${s.decoyFiles})`,
  );
  return rows.join('\n');
}

/** Scores every available scanner; prints one table per scanner and a JSON summary line. */
export async function runEvaluation(): Promise<void> {
  const files = buildEvaluation(Number(process.env.SCAN_EVAL_SEED ?? 1), Number(process.env.SCAN_EVAL_COPIES ?? 8));
  const scanners: [string, Lines][] = [['ours', (f) => scanText(f.content, f.path).findings.map((x) => x.line)]];
  scanners.push(['secretlint', await secretlintLines(files)]);
  const gitleaks = findGitleaks();
  if (gitleaks !== undefined) scanners.push(['gitleaks', await gitleaksLines(gitleaks, files)]);
  const summary: Record<string, unknown> = {
    evalFiles: files.length,
    secrets: files.reduce((n, f) => n + f.secretLines.length, 0),
    decoyFiles: files.filter((f) => f.decoy).length,
  };
  if (gitleaks === undefined) summary.gitleaks = 'not installed';
  for (const [name, lines] of scanners) {
    const scores = scoreEvaluation(files, lines);
    process.stdout.write(table(name, scores) + '\n\n');
    const all = scores.find((s) => s.family === 'all') as FamilyScore;
    summary[name] = { recall: all.recall, precision: all.precision, decoyFpRate: all.decoyFpRate };
  }
  process.stdout.write(JSON.stringify(summary) + '\n');
}
