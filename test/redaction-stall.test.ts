/**
 * An agent whose tool output is crafted to be slow to redact: one answer asking for 16 bash calls
 * at once, each printing a 30 KB or 60 KB line repeating a keyword of the scanner's rules
 * ('LS0tLS1CRUdJTi', base64 of '-----BEGIN'), between two lines naming a GitHub token. The worker
 * cuts each output over TOOL_OUTPUT_MAX_BYTES where no secret is split (finding them), and the API
 * redacts each one as it serves the transcript; both run on an event loop other agents and
 * requests share. Real workflow, in-process worker, the scripted fake model, the API over HTTP.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ScriptedReply } from './support/fake-model';
import { createRemoteRepo, nodeProjectFiles } from './support/git-fixtures';
import { startHarness, type Harness } from './support/harness';
import { startHarnessApi, type HarnessApi } from './support/harness-api';

const TOKEN = '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';
const KEYWORD = 'LS0tLS1CRUdJTi';
const WITHHELD = /\[\.\.\. \d+ characters withheld: finding the secrets in them took too long \.\.\.\]/;

/** A token line, `times` repetitions of the keyword on one line, a token line. */
const hostile = (times: number) => `echo "first ${TOKEN}"; printf '${KEYWORD}%.0s' $(seq 1 ${times}); echo; echo "last ${TOKEN}"`;

/** The longest the event loop was held while `run` ran (a 10 ms ticker's lateness), and the median. */
async function loopDelayWhile<T>(run: () => Promise<T>): Promise<{ value: T; maxMs: number; p50Ms: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  try {
    const value = await run();
    return { value, maxMs: histogram.max / 1e6, p50Ms: histogram.percentile(50) / 1e6 };
  } finally {
    histogram.disable();
  }
}

describe('tool output crafted to be slow to redact', () => {
  let h: Harness;
  let api: HarnessApi;
  const apiKey = 'redaction-stall-api-key-0123456789';
  beforeAll(async () => {
    h = await startHarness({ ORCHESTRATOR_API_KEY: apiKey });
    api = await startHarnessApi(h, apiKey);
  });
  afterAll(async () => {
    await api?.close();
    await h?.close();
  });

  it('16 parallel calls of it hold neither the worker nor the API for seconds: what redaction did not get to in time is withheld, no token is served', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-redaction-stall';
    // 8 outputs of about 60 KB (cut by the worker) and 8 of about 30 KB (kept whole, under the cap).
    const wide: ScriptedReply = { tools: Array.from({ length: 16 }, (_, i) => ({ name: 'bash' as const, input: { command: hostile(i % 2 === 0 ? 4_300 : 2_100) } })) };
    h.fakeModel.script(taskId, [wide, { tools: [{ name: 'bash', input: { command: 'echo done > done.txt' } }] }, { text: 'Done.' }]);

    const run = await loopDelayWhile(async () => {
      const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', budgets: { maxTurns: 10, maxOutputTokens: 1_000_000, maxWallTimeSeconds: 600 } });
      return { handle, final: await handle.result() };
    });
    expect(run.value.final.status).toBe('completed');

    const agentId = run.value.handle.workflowId.replace('agent-', '');
    const served = await loopDelayWhile(async () => {
      const started = performance.now();
      const res = await api.request('GET', `/agents/${agentId}/transcript?limit=500`);
      return { res, ms: performance.now() - started };
    });
    // Printed, not asserted (a loaded CI run held the API's loop 2.3 s, other work included): before,
    // the worker's loop was held up to 3.4 s at a time, the page took 6.7 s; after, 0.13 s and 0.34 s here.
    // What is asserted is what bounds the time: redaction that ran out of it withheld the rest.
    console.log(
      `worker run: event loop held up to ${run.maxMs.toFixed(0)} ms (median ${run.p50Ms.toFixed(0)} ms); ` +
        `transcript page: ${served.value.ms.toFixed(0)} ms, loop held up to ${served.maxMs.toFixed(0)} ms`,
    );
    expect(served.value.res.status).toBe(200);
    const messages = served.value.res.body.messages as { content: unknown }[];
    expect(JSON.stringify(messages)).not.toContain(TOKEN);
    const batch = messages.map((m) => m.content).find((c): c is { type: string; content: string }[] => Array.isArray(c) && c.filter((b) => b.type === 'tool_result').length === 16);
    expect(batch).toBeDefined();
    for (const [i, result] of batch!.entries()) {
      // What redaction read in time is served redacted: the first token's line.
      expect([i, result.content]).toEqual([i, expect.stringContaining(`first ${TOKEN.slice(0, 4)}…`)]);
      if (i % 2 === 0) {
        // Over the cap: the worker's cut stops before the line it could not read in time, and drops the rest.
        expect([i, result.content.includes(KEYWORD), result.content.includes('bytes of output truncated')]).toEqual([i, false, true]);
      } else {
        // Whole: the API withholds, with a note, what it could not redact in time.
        expect([i, result.content]).toEqual([i, expect.stringMatching(WITHHELD)]);
      }
    }
  }, 300_000);
});
