/**
 * What prompt caching and context compaction save on a long agent session, measured from the fake
 * model's accounting of what it received (test/support/fake-model.ts bills like the API: tokens by
 * an approximate tokenizer, cache hits by prefix within the 20-block lookback, writes up to the
 * last breakpoint).
 *
 * One 40-turn scripted session with realistic tool outputs (a generated TypeScript repository:
 * listings, file views of 3-14 KB, greps, test runs, a build log, small edits) runs through the real
 * `agentRun` workflow (real Temporal, Valkey, git, the real SDK) four ways:
 *   none        PROMPT_CACHE=off, no compaction
 *   cache       PROMPT_CACHE=5m, no compaction
 *   cache+compaction
 *               PROMPT_CACHE=5m, compaction at the defaults (CONTEXT_WINDOW_TOKENS=200000,
 *               CONTEXT_COMPACT_AT=0.5, CONTEXT_COMPACT_TO=0.2, CONTEXT_KEEP_RECENT_TURNS=3)
 *   cache+compaction 0.3/0.1
 *               the same with a tighter bound (compact at 60,000 estimated tokens, down to 20,000)
 * "No compaction" is CONTEXT_WINDOW_TOKENS=10000000 (a bound the session never reaches).
 * USD at the built-in price of claude-sonnet-5-5. Prints a table and one JSON line.
 * Run: npm run bench:tokens (needs the Temporal dev server and Valkey of scripts/test.sh).
 * BENCH_ONLY_COMPACTION=AT/TO runs only a compaction mode at those shares (for tuning).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { DEFAULT_PRICES, costUsd, type ModelPrice } from '../domain/pricing';
import type { ScriptedReply, ToolCall } from '../test/support/fake-model';
import { createRemoteRepo } from '../test/support/git-fixtures';
import { startHarness } from '../test/support/harness';

const TURNS = 40;
const MODEL = 'claude-sonnet-5-5';
const PRICE: ModelPrice = DEFAULT_PRICES[MODEL]!;
const progress = (msg: string) => process.stderr.write(`${msg}\n`);

/** A small deterministic generator, so every mode sees the same repository and session. */
function prng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

const MODULES = 24;

/** A TypeScript-looking module of roughly `kb` kilobytes, with a unique marker line to edit. */
function moduleSource(i: number, kb: number, rand: () => number): string {
  const lines = [`// src/module${i}.ts: generated for the token benchmark`, `import { helper${(i + 1) % MODULES} } from './module${(i + 1) % MODULES}';`, ''];
  let fn = 0;
  while (lines.join('\n').length < kb * 1024) {
    const name = `compute${i}x${fn++}`;
    lines.push(
      `/** ${name}: folds the input with a weight of ${(rand() * 100).toFixed(2)} and reports progress. */`,
      `export function ${name}(values: number[], weight = ${(rand() * 10).toFixed(3)}): number {`,
      `  let total = 0;`,
      `  for (const [index, value] of values.entries()) {`,
      `    total += value * weight + index * ${Math.floor(rand() * 1000)};`,
      `    if (total > ${Math.floor(rand() * 1e6)}) total = helper${(i + 1) % MODULES}(total);`,
      `  }`,
      `  return total;`,
      `}`,
      '',
    );
  }
  lines.push(`export function helper${i}(x: number): number {`, `  return x / 2; // MARKER-${i}`, `}`, '');
  return lines.join('\n');
}

function repository(): Record<string, string> {
  const rand = prng(7);
  const files: Record<string, string> = {
    'package.json': JSON.stringify({ name: 'bench-app', version: '1.0.0', scripts: { test: 'node test/run.js' } }, null, 2),
    'README.md': `# bench-app\n\n${'A service that folds numbers. '.repeat(40)}\n`,
    // A test run that prints a realistic report: one line per test, a summary.
    'test/run.js': [
      "const names = Array.from({ length: 140 }, (_, i) => `module${i % 24} > compute${i % 24}x${i % 9} folds values with weight ${(i * 0.37).toFixed(2)}`);",
      "for (const n of names) console.log(`  \\u2713 ${n} (${(n.length % 17) + 1} ms)`);",
      "console.log(`\\nTest Suites: 24 passed, 24 total\\nTests:       ${names.length} passed, ${names.length} total\\nTime:        3.412 s`);",
    ].join('\n'),
    // A build log the agent reads once, as agents do when something fails.
    'logs/build.log': Array.from({ length: 300 }, (_, i) => `[${String(i).padStart(4, '0')}] tsc: compiled src/module${i % MODULES}.ts (${(i * 13) % 97} ms), 0 errors, emitted dist/module${i % MODULES}.js`).join('\n'),
  };
  for (let i = 0; i < MODULES; i++) files[`src/module${i}.ts`] = moduleSource(i, 3 + Math.floor(rand() * 11), rand);
  return files;
}

const bash = (command: string): ToolCall => ({ name: 'bash', input: { command } });
const view = (p: string): ToolCall => ({ name: 'str_replace_based_edit_tool', input: { command: 'view', path: p } });
const edit = (i: number): ToolCall => ({ name: 'str_replace_based_edit_tool', input: { command: 'str_replace', path: `src/module${i}.ts`, old_str: `return x / 2; // MARKER-${i}`, new_str: `return x / 3; // MARKER-${i} (tuned)` } });

/** 39 tool turns as an agent would take them (explore, read, test, edit, re-test), then a final answer. */
function session(): ScriptedReply[] {
  const rand = prng(11);
  const calls: ToolCall[] = [
    bash('ls -R src test logs'),
    bash('cat package.json README.md'),
    bash('grep -rn "export function" src | head -120'),
    view('src/module0.ts'),
    view('src/module1.ts'),
    bash('npm test'),
    view('src/module2.ts'),
    bash('grep -rn "helper" src | head -80'),
    view('src/module3.ts'),
    bash('cat logs/build.log'),
  ];
  for (let i = 0; calls.length < TURNS - 1; i++) {
    const m = (i * 5) % MODULES;
    calls.push(i % 4 === 3 ? bash('npm test') : i % 4 === 2 ? edit(m) : view(`src/module${m}.ts`));
  }
  const replies: ScriptedReply[] = calls.map((call, i) => ({ text: `Step ${i + 1}: next I look at this.`, tools: [call], outputTokens: 150 + Math.floor(rand() * 450) }));
  replies.push({ text: 'Done: the helpers are tuned and the tests pass.', outputTokens: 300 });
  return replies;
}

interface ModeResult {
  mode: string;
  requests: number;
  inputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  outputTokens: number;
  peakRequestTokens: number;
  usd: number;
  agentReportedUsd?: number;
  status: string;
}

async function runMode(mode: string, env: Record<string, string>): Promise<ModeResult> {
  const h = await startHarness({ AGENT_MODEL: MODEL, ...env });
  const remote = createRemoteRepo(repository());
  try {
    const taskId = `BT-${mode.replace(/\W/g, '')}-${randomUUID().slice(0, 8)}`;
    h.fakeModel.script(taskId, session());
    const handle = await h.spawn({
      taskId,
      repository: remote.url,
      gateProfile: 'minimal',
      budgets: { maxTurns: TURNS + 5, maxOutputTokens: 1_000_000, maxWallTimeSeconds: 1800, maxCostUsd: 50 },
    });
    const final = await handle.result();
    const account = h.fakeModel.accountFor(taskId);
    const usd = h.fakeModel
      .requestsFor(taskId)
      .filter((r) => r.usage)
      .reduce(
        (sum, r) =>
          sum +
          costUsd(
            {
              inputTokens: r.usage!.input_tokens,
              outputTokens: r.usage!.output_tokens,
              cacheCreationInputTokens: r.usage!.cache_creation_input_tokens,
              cacheCreation1hInputTokens: r.usage!.cache_creation.ephemeral_1h_input_tokens,
              cacheReadInputTokens: r.usage!.cache_read_input_tokens,
            },
            PRICE,
          ),
        0,
      );
    const reported = (final.result as { costUsd?: number } | undefined)?.costUsd;
    progress(`${mode}: ${final.status}, ${account.requests} requests, $${usd.toFixed(4)}`);
    return {
      mode,
      requests: account.requests,
      inputTokens: account.inputTokens,
      cacheWriteTokens: account.cacheCreationInputTokens,
      cacheReadTokens: account.cacheReadInputTokens,
      outputTokens: account.outputTokens,
      peakRequestTokens: account.peakRequestTokens,
      usd: Math.round(usd * 1e4) / 1e4,
      ...(reported === undefined ? {} : { agentReportedUsd: reported }),
      status: final.status,
    };
  } finally {
    await h.close();
    rmSync(path.dirname(remote.dir), { recursive: true, force: true });
  }
}

function table(results: ModeResult[]): string {
  const header = ['mode', 'requests', 'input (full price)', 'cache writes', 'cache reads', 'output', 'peak request', 'USD', 'vs none'];
  const base = results[0]!.usd;
  const rows = results.map((r) => [
    r.mode,
    String(r.requests),
    r.inputTokens.toLocaleString('en-US'),
    r.cacheWriteTokens.toLocaleString('en-US'),
    r.cacheReadTokens.toLocaleString('en-US'),
    r.outputTokens.toLocaleString('en-US'),
    r.peakRequestTokens.toLocaleString('en-US'),
    `$${r.usd.toFixed(4)}`,
    `${((r.usd / base) * 100).toFixed(1)}%`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const noCompaction = { CONTEXT_WINDOW_TOKENS: '10000000' };
  const only = process.env.BENCH_ONLY_COMPACTION; // e.g. "0.5/0.2": only the compaction mode, at these shares (for tuning)
  const [at, to] = only?.split('/') ?? [];
  const results = only
    ? [await runMode(`cache+compaction ${only}`, { PROMPT_CACHE: '5m', CONTEXT_COMPACT_AT: at!, CONTEXT_COMPACT_TO: to! })]
    : [
        await runMode('none', { PROMPT_CACHE: 'off', ...noCompaction }),
        await runMode('cache', { PROMPT_CACHE: '5m', ...noCompaction }),
        await runMode('cache+compaction', { PROMPT_CACHE: '5m' }),
        await runMode('cache+compaction 0.3/0.1', { PROMPT_CACHE: '5m', CONTEXT_COMPACT_AT: '0.3', CONTEXT_COMPACT_TO: '0.1' }),
      ];
  console.log(`\n${TURNS}-turn session, ${MODEL} at $${PRICE.input}/$${PRICE.output} per MTok (cache write $${PRICE.cacheWrite5m}, read $${PRICE.cacheRead}); tokens from the fake model's accounting\n`);
  console.log(table(results));
  console.log(`\n${JSON.stringify({ bench: 'tokens', turns: TURNS, model: MODEL, price: PRICE, results })}`);
}

main().catch((err: unknown) => {
  progress(`tokens bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
