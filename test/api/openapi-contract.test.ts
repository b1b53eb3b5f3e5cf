/**
 * The OpenAPI document against the running API: schemathesis (PyPI, installed into
 * .tools/schemathesis by scripts/test.sh) generates valid and invalid requests for every operation
 * from the document and checks every answer: no 5xx, documented status codes, bodies and headers
 * matching the document, invalid input refused, valid input accepted, 405 for other methods.
 * A live worker runs the stand-in workflow on the API's task queue, so readiness is green and spawns,
 * status queries and kills reach a real workflow.
 *
 * In the suite the run is bounded (a fixed seed and a few examples per operation, well under a
 * minute on a loaded 2-core machine) so CI stays fast; `npm run test:contract` sets
 * SCHEMATHESIS_EXHAUSTIVE=1 for the full run (100 examples per operation, every phase, a fresh seed),
 * which takes minutes.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { keys } from '../../state/keys';
import { eventually, spawnBody, startTestApi, TEST_API_KEY, type TestApi } from './api-harness';
import { startStandInWorker, type StandInWorker } from './stand-in-worker';
import { COMPLETE_IMMEDIATELY } from './stand-in-workflow';

const ROOT = path.resolve(__dirname, '../..');
const SCHEMATHESIS = process.env.SCHEMATHESIS_BIN ?? path.join(ROOT, '.tools/schemathesis/bin/st');
const EXHAUSTIVE = process.env.SCHEMATHESIS_EXHAUSTIVE === '1';
/** The bounded run: few examples per operation, one seed; the stateful phase (sequences of calls) only in the full run. */
const BOUNDED = ['--max-examples', '5', '--phases', 'examples,fuzzing,stateful', '--seed', '15', '--no-shrink'];
const FULL = ['--max-examples', '100'];
try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // already installed in this process
}

describe('the OpenAPI contract', () => {
  let api: TestApi;
  let worker: StandInWorker;

  beforeAll(async () => {
    api = await startTestApi({ env: { LOG_LEVEL: 'silent' } });
    worker = await startStandInWorker(api);
  });
  afterAll(async () => {
    await worker?.stop();
    await api?.close();
  });

  it('documents every route as OpenAPI 3.1', async () => {
    const res = await api.request('GET', '/openapi.json', { anonymous: true });
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const operations = Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`));
    expect(operations.sort()).toEqual(
      [
        'GET /health',
        'GET /health/ready',
        'GET /metrics',
        'GET /openapi.json',
        'POST /agents/spawn',
        'POST /agents/kill-all',
        'GET /agents/events',
        'GET /agents/{agentId}/status',
        'POST /agents/{agentId}/kill',
        'GET /agents/{agentId}/events',
        'GET /agents/{agentId}/transcript',
        'POST /agents/{agentId}/retry',
        'POST /agents/{agentId}/fork',
      ].sort(),
    );
    // The spawn body is the request schema itself: the git formats and the custom-gates rule are in it.
    const spawn = res.body.paths['/agents/spawn'].post.requestBody.content['application/json'].schema;
    expect(spawn.properties.context.properties.repository.pattern).toContain('https:');
    expect(spawn.allOf[0].if.properties.gateProfile.const).toBe('custom');
  });

  it('answers 405 with Allow for a documented path called with another method', async () => {
    const res = await api.request('DELETE', '/agents/spawn');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(res.body.error.code).toBe('method_not_allowed');
  });

  it('passes schemathesis over the whole document with no failure', async () => {
    if (!existsSync(SCHEMATHESIS)) throw new Error(`schemathesis is not installed at ${SCHEMATHESIS}: run npm test (scripts/test.sh installs it) or set SCHEMATHESIS_BIN`);
    // One finished agent whose id schemathesis mixes into the generated ones (schemathesis.toml), so
    // the per-agent operations reach past 404 even with few examples.
    const body = spawnBody({ context: { repository: 'https://git.example.com/r.git', branch: 'main', workItems: [COMPLETE_IMMEDIATELY], skills: [] } });
    const spawned = await api.request('POST', '/agents/spawn', { body });
    expect(spawned.status).toBe(202);
    const agentId = spawned.body.agentId as string;
    await eventually(async () => (await api.request('GET', `/agents/${agentId}/status`)).body.status === 'completed', 'the contract agent to complete', 30_000);
    // A conversation of as many turns as the server allows, so every schema-valid fork of the agent is accepted.
    const messages = Array.from({ length: 2 * api.config.AGENT_MAX_TURNS + 1 }, (_, i) => [String(i), JSON.stringify({ role: i % 2 ? 'assistant' : 'user', content: `message ${i}` })]);
    await api.redis.multi().hset(keys.transcript(agentId), Object.fromEntries(messages)).expire(keys.transcript(agentId), 3600).exec();
    const configFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'contract-')), 'schemathesis.toml');
    const settings = readFileSync(path.join(__dirname, 'schemathesis.toml'), 'utf8');
    writeFileSync(configFile, `${settings}\n[dictionaries.agents]\nvalues = [${JSON.stringify(agentId)}]\n`);
    const args = [
      '--config-file',
      configFile,
      '--no-color',
      'run',
      `${api.baseUrl}/openapi.json`,
      '--header',
      `X-API-Key: ${TEST_API_KEY}`,
      ...(EXHAUSTIVE ? FULL : BOUNDED),
      // One worker: with two, hypothesis describes lambdas from two threads at once and CPython
      // 3.11.7's ast.parse can fail under threads (cpython#106905: "AST constructor recursion depth mismatch",
      // seen in CI), which schemathesis reports as a runtime error of the run.
      '--workers',
      '1',
      '--request-timeout',
      '10',
    ];
    const { code, output } = await run(SCHEMATHESIS, args, 8 * 60_000);
    rmSync(path.dirname(configFile), { recursive: true, force: true });
    const lines = output.split('\n').map((line) => line.trim());
    const summary = lines.filter((line) => /^=+ .+ in [\d.]+s =+$/.test(line)).pop() ?? '(no summary line)';
    const cases = lines.find((line) => /^\d+ generated/.test(line)) ?? '';
    process.stdout.write(`schemathesis (${EXHAUSTIVE ? 'exhaustive' : 'bounded'}): ${summary} (${cases})\n`);
    if (code !== 0) throw new Error(`schemathesis exited ${code}:\n${output.slice(-20_000)}`);
    // A warning (e.g. an operation that only ever answered 4xx) exits 0 but is not a clean run.
    if (!/No issues found/.test(summary)) throw new Error(`schemathesis: ${summary}\n${output.slice(-20_000)}`);
    // Every operation schemathesis found (all but /openapi.json, the document it reads) was tested.
    const total = Number(/^Operations:\s+\d+ selected \/ (\d+) total$/m.exec(lines.join('\n'))?.[1]);
    expect(total).toBeGreaterThanOrEqual(11);
    expect(lines).toContain(`Tested: ${total}`);
  }, 10 * 60_000);
});

function run(file: string, args: string[], timeoutMs: number): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}
