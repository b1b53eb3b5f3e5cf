/**
 * How long the commit's secret scan holds the worker's event loop (`npm run bench:scan-stall`):
 * a hostile blob of short base64 runs (SCAN_STALL_MB, default 64, the largest blob the scan
 * reads), as one line and as many lines, scanned by the synchronous scanContent and by
 * scanContentYielding (what activities/git/scan-changes.ts calls). Prints the scan's total time
 * and the longest gap between two turns of the event loop.
 */
import { scanContent, scanContentYielding } from '../scanner/content';

const MB = Number(process.env.SCAN_STALL_MB ?? 64);
const encoded = (s: string) => Buffer.from(s).toString('base64');
const unit = `x="${encoded(`ghp_${'a'.repeat(10)}`)}" ${encoded('password=')} ${encoded('AKIA')} `;
const oneLine = unit.repeat(Math.ceil((MB * 1024 * 1024) / unit.length));
const manyLines = oneLine.replace(/ /g, '\n');

/** The scan's wall time, and the longest time the event loop took no turn meanwhile. */
async function measure(scan: () => Promise<unknown>): Promise<{ totalMs: number; worstStallMs: number }> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 5);
  const started = performance.now();
  await scan();
  clearInterval(timer);
  worst = Math.max(worst, performance.now() - last);
  return { totalMs: Math.round(performance.now() - started), worstStallMs: Math.round(worst) };
}

async function main(): Promise<void> {
  console.log(`| ${MB} MB of short base64 runs | scan | total | longest event-loop stall |`);
  console.log('|---|---|---|---|');
  for (const [shape, text] of [['one line', oneLine], ['many lines', manyLines]] as const) {
    const sync = await measure(async () => scanContent(text, 'f', { honourInlineAllow: false }));
    console.log(`| ${shape} | scanContent (synchronous) | ${sync.totalMs} ms | ${sync.worstStallMs} ms |`);
    const yielding = await measure(() => scanContentYielding(text, 'f', { honourInlineAllow: false }));
    console.log(`| ${shape} | scanContentYielding | ${yielding.totalMs} ms | ${yielding.worstStallMs} ms |`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:scan-stall: ${(err as Error).message}\n`);
  process.exit(1);
});
