/**
 * Secret-scanner benchmark (`npm run bench:scan`): writes a ≥100 MB labelled corpus of realistic
 * code with sparse secrets to a temp dir, scans it with our scanner and with secretlint
 * (recommended preset, through its Node API), and prints one JSON line with throughput,
 * precision and recall of each. Both tools scan the same in-memory contents, alternating batch
 * by batch; reading the files is not timed. Secretlint stops after SECRETLINT_BUDGET_MS and is
 * then scored on what it scanned (`secretlintCorpusMB`).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { corpusFiles, scoreFindings, type CorpusFile } from '../test/support/scanner/corpus';
import { scanText } from '../scanner';
import { runEvaluation } from './scan-eval';

const TARGET_BYTES = Number(process.env.SCAN_BENCH_MB ?? 100) * 1024 * 1024;
const SECRETLINT_BUDGET_MS = 300_000;
const MB = 1024 * 1024;

/**
 * A full collection before each timed batch, so that neither tool pays for the other's
 * garbage (tsx gives no way to pass --expose-gc, hence the flag set at run time).
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

interface Measured {
  mbPerSec: number;
  precision: number;
  recall: number;
}

function writeCorpus(dir: string): CorpusFile[] {
  const labelled: CorpusFile[] = [];
  let bytes = 0;
  for (const file of corpusFiles({ seed: 20240601, files: Number.MAX_SAFE_INTEGER, fileBytes: 25_000, secretsPerFile: 0.1, decoysPerFile: 3 })) {
    const target = path.join(dir, file.path);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, file.content);
    // Keep labels only; contents are read back from disk like a real scan would.
    labelled.push({ path: file.path, content: '', secrets: file.secrets });
    bytes += Buffer.byteLength(file.content);
    if (bytes >= TARGET_BYTES) break;
  }
  return labelled;
}

function score(files: readonly CorpusFile[], lines: Map<string, number[]>): { precision: number; recall: number } {
  const { precision, recall } = scoreFindings(files, (f) => lines.get(f.path) ?? []);
  return { precision: round(precision, 4), recall: round(recall, 4) };
}

function round(x: number, digits: number): number {
  return Number(x.toFixed(digits));
}

type Lint = (f: CorpusFile) => Promise<number[]>;

async function secretlintLinter(dir: string, contents: Map<string, string>): Promise<Lint> {
  const { lintSource } = await import('@secretlint/core');
  const { creator } = await import('@secretlint/secretlint-rule-preset-recommend');
  const config = { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: creator }] };
  return async (f) => {
    const result = await lintSource({
      source: { content: contents.get(f.path) ?? '', filePath: path.join(dir, f.path), contentType: 'text' },
      options: { config, maskSecrets: true },
    });
    return result.messages.map((m) => m.loc.start.line);
  };
}

/**
 * Runs both tools batch by batch, alternating, so that both see the same machine load (CI
 * machines are shared); each tool's time is summed over its own batches.
 */
async function compare(
  files: readonly CorpusFile[],
  contents: Map<string, string>,
  lint: Lint,
): Promise<{ ours: Measured; secretlint: Measured; secretlintBytes: number; bytes: number }> {
  const ourLines = new Map<string, number[]>();
  const theirLines = new Map<string, number[]>();
  const theirFiles: CorpusFile[] = [];
  let ourMs = 0;
  let theirMs = 0;
  let bytes = 0;
  let theirBytes = 0;
  // Warm-up, so both are measured with compiled code.
  for (const f of files.slice(0, 200)) {
    scanText(contents.get(f.path) ?? '', f.path);
    await lint(f);
  }
  const BATCH = 1000;
  for (let b = 0; b < files.length; b += BATCH) {
    const batch = files.slice(b, b + BATCH);
    const batchBytes = batch.reduce((n, f) => n + Buffer.byteLength(contents.get(f.path) ?? ''), 0);
    collectGarbage();
    let t = performance.now();
    for (const f of batch) ourLines.set(f.path, scanText(contents.get(f.path) ?? '', f.path).findings.map((x) => x.line));
    ourMs += performance.now() - t;
    bytes += batchBytes;
    if (theirMs > SECRETLINT_BUDGET_MS) continue;
    collectGarbage();
    t = performance.now();
    for (const f of batch) theirLines.set(f.path, await lint(f));
    theirMs += performance.now() - t;
    theirFiles.push(...batch);
    theirBytes += batchBytes;
  }
  return {
    ours: { mbPerSec: round(bytes / MB / (ourMs / 1000), 1), ...score(files, ourLines) },
    secretlint: { mbPerSec: round(theirBytes / MB / (theirMs / 1000), 1), ...score(theirFiles, theirLines) },
    secretlintBytes: theirBytes,
    bytes,
  };
}

async function main(): Promise<void> {
  const mode = process.argv[2] ?? 'all';
  if (mode === 'eval' || mode === 'all') await runEvaluation();
  if (mode === 'eval') return;
  const dir = mkdtempSync(path.join(tmpdir(), 'scan-bench-'));
  try {
    const files = writeCorpus(dir);
    const contents = new Map<string, string>();
    for (const f of files) contents.set(f.path, readFileSync(path.join(dir, f.path), 'utf8'));
    const { ours, secretlint, secretlintBytes, bytes } = await compare(files, contents, await secretlintLinter(dir, contents));
    process.stdout.write(
      JSON.stringify({
        corpusMB: round(bytes / MB, 1),
        files: files.length,
        plantedSecrets: files.reduce((n, f) => n + f.secrets.length, 0),
        ours,
        secretlint,
        secretlintCorpusMB: round(secretlintBytes / MB, 1),
        speedRatio: round(ours.mbPerSec / secretlint.mbPerSec, 1),
        loadAverage: round(loadavg()[0] ?? 0, 1),
      }) + '\n',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`scan bench failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
