/**
 * The worker's output as a process writes it: Temporal core's own log lines (Rust, written by the
 * native runtime, not by the SDK's JavaScript) go through the same redacting logger as ours.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually, startHarness, type Harness } from './support/harness';
import { WorkerProcess, workflowBundleFile } from './support/worker-process';

const SECRET = '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';

describe("the worker's log", () => {
  let h: Harness;
  let tmp: string;
  beforeAll(async () => {
    h = await startHarness({}, { worker: false });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'worker-logs-'));
  });
  afterAll(async () => {
    await h?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("writes core's warning of a failed workflow task as a redacted JSON line, not raw to stderr", async () => {
    const worker = new WorkerProcess('host-logs', path.join(tmp, 'ws'), { ...h.env, LOG_LEVEL: 'info', WORKFLOW_BUNDLE_PATH: await workflowBundleFile(tmp) });
    worker.start();
    let probe: { terminate(): Promise<unknown> } | undefined;
    try {
      await worker.started();
      // A workflow type the bundle does not export fails its first workflow task; core logs the failure, message and stack.
      probe = await h.client.workflow.start(`probe ${SECRET}`, { taskQueue: h.env.TEMPORAL_TASK_QUEUE!, workflowId: `worker-logs-${Date.now()}`, args: [] });
      const coreLine = await eventually(async () => worker.output.split('\n').find((l) => l.includes('Failing workflow task')), 30_000, "core's warning");
      expect(JSON.parse(coreLine)).toMatchObject({ level: 40, source: 'temporal', sdkComponent: 'core', msg: 'Failing workflow task' });
      expect(coreLine).toContain('probe ghp_…');
      expect(worker.output).not.toContain(SECRET.slice(4));
    } finally {
      await probe?.terminate().catch(() => undefined);
      await worker.kill();
    }
  }, 120_000);
});
