/**
 * Secret-scanner benchmark: `npm run bench:scan [-- eval|speed]` (default: both).
 * - eval: the labelled evaluation set (bench/scan-eval.ts): recall, precision and decoy
 *   false-positive rate per family, for ours, secretlint and gitleaks when installed.
 * - speed: whole-process MB/s on real source (bench/scan-speed.ts), same tools side by side.
 */
import { runEvaluation } from './scan-eval';
import { runSpeed } from './scan-speed';

async function main(): Promise<void> {
  const mode = process.argv[2] ?? 'all';
  if (!['all', 'eval', 'speed'].includes(mode)) throw new Error(`unknown mode ${mode}; use eval or speed`);
  if (mode !== 'speed') await runEvaluation();
  if (mode !== 'eval') await runSpeed();
}

main().catch((err: unknown) => {
  process.stderr.write(`scan bench failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
