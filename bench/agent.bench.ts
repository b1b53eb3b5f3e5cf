/**
 * Agent latency with the real `agentRun` workflow on an in-process worker (test/support/harness:
 * real Temporal dev server, real Valkey, real git on a file:// remote, the scripted fake model),
 * with the sandbox off (LocalRunner) and on (Docker, the busybox test image):
 *  - running -> first tool call: from the agent's `spawning -> running` event on Valkey's
 *    `orchestrator:events` (its arrival at this process) to the fake model receiving model request 2,
 *    the one that carries the bash tool's result; split into running -> model request 1 ->
 *    command start (the command reads /proc/uptime, 10 ms resolution, same kernel clock as the host)
 *    -> model request 2;
 *  - spawn -> running and spawn -> completed (workflow start call to the workflow's result).
 * Turn 1 is one bash call that writes a file, turn 2 ends the turn; the only gate is a one-line
 * `test -e` from .orchestrator/gates.json (so busybox can run it). Agents run one after another,
 * after one warm-up agent per mode that is not counted (it clones the mirror, creates the image's
 * first container). Prints one JSON line; progress on stderr.
 * Run: npx tsx bench/agent.bench.ts
 */
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { RecordedRequest } from '../test/support/fake-model';
import { createRemoteRepo } from '../test/support/git-fixtures';
import { startHarness, type Harness } from '../test/support/harness';
import { connectTestRedis } from '../test/support/redis';
import { keys } from '../state/keys';

const AGENTS_PER_MODE = 5;
const SANDBOX_IMAGE = 'orchestrator-sandbox-test:busybox';
const MARKER = 'made-by-agent.txt';
const GATES_JSON = JSON.stringify({ gates: { tests: { command: `test -e ${MARKER}` } } });
// Prints the kernel's uptime when the command starts (busybox `date` has no sub-second format).
const COMMAND = `read up _ < /proc/uptime; echo "uptime=$up"; echo bench > ${MARKER}`;

const progress = (msg: string) => process.stderr.write(`${msg}\n`);

interface Sample {
  spawnToRunningMs: number;
  runningToFirstToolMs: number;
  runningToModelRequest1Ms: number;
  modelRequest1ToCommandStartMs: number;
  commandStartToModelRequest2Ms: number;
  spawnToCompletedMs: number;
}

/** Epoch milliseconds of the kernel's boot, to turn /proc/uptime (seconds, 2 decimals) into wall time. */
function bootEpochMs(): number {
  const reads = Array.from({ length: 5 }, () => Date.now() - Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000);
  return reads.reduce((a, b) => a + b, 0) / reads.length;
}

async function runMode(name: 'local' | 'docker', env: Record<string, string>): Promise<Sample[]> {
  const h: Harness = await startHarness(env);
  const remote = createRemoteRepo({ '.orchestrator/gates.json': GATES_JSON, 'README.md': '# agent bench\n' });
  const boot = bootEpochMs();

  // The fake model's receipt time of each request (the body fully read), by wrapping its record.
  const receivedAt = new WeakMap<RecordedRequest, number>();
  const requests = h.fakeModel.requests;
  const record = requests.push.bind(requests);
  requests.push = (...items: RecordedRequest[]) => {
    const now = Date.now();
    for (const r of items) receivedAt.set(r, now);
    return record(...items);
  };

  // Arrival time of each agent's `running` event.
  const runningAt = new Map<string, number>();
  const sub = connectTestRedis();
  sub.on('message', (_channel: string, message: string) => {
    const now = Date.now();
    const event = JSON.parse(message) as { agentId: string; to: string };
    if (event.to === 'running') runningAt.set(event.agentId, now);
  });
  await sub.subscribe(keys.events());

  const samples: Sample[] = [];
  try {
    for (let i = 0; i <= AGENTS_PER_MODE; i++) {
      const taskId = `BA-${name}-${randomUUID().slice(0, 8)}`;
      h.fakeModel.script(taskId, [{ tools: [{ name: 'bash', input: { command: COMMAND } }] }, { text: 'Done.' }]);
      const spawnedAt = Date.now();
      const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
      const final = await handle.result();
      const completedAt = Date.now();
      const agentId = handle.workflowId.replace(/^agent-/, '');
      if (final.status !== 'completed') throw new Error(`${name} agent ${agentId} ended ${final.status}: ${final.error ?? ''}`);

      const [req1, req2] = h.fakeModel.requestsFor(taskId);
      const running = runningAt.get(agentId);
      const t1 = req1 && receivedAt.get(req1);
      const t2 = req2 && receivedAt.get(req2);
      const uptime = req2 && /uptime=(\d+(?:\.\d+)?)/.exec(JSON.stringify(req2.body.messages[2]))?.[1];
      if (!running || !t1 || !t2 || !uptime) throw new Error(`${name} agent ${agentId}: missing a timestamp`);
      const commandStart = boot + Number(uptime) * 1000;
      const sample: Sample = {
        spawnToRunningMs: running - spawnedAt,
        runningToFirstToolMs: t2 - running,
        runningToModelRequest1Ms: t1 - running,
        modelRequest1ToCommandStartMs: commandStart - t1,
        commandStartToModelRequest2Ms: t2 - commandStart,
        spawnToCompletedMs: completedAt - spawnedAt,
      };
      if (i === 0) {
        progress(`${name}: warm-up agent done in ${sample.spawnToCompletedMs} ms (not counted)`);
        continue;
      }
      progress(`${name} ${i}/${AGENTS_PER_MODE}: running -> first tool ${sample.runningToFirstToolMs} ms, spawn -> completed ${sample.spawnToCompletedMs} ms`);
      samples.push(sample);
    }
  } finally {
    await sub.quit();
    await h.close();
    rmSync(path.dirname(remote.dir), { recursive: true, force: true });
  }
  return samples;
}

function stats(values: number[]): { p50Ms: number; minMs: number; maxMs: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const p50 = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { p50Ms: Math.round(p50), minMs: Math.round(sorted[0]!), maxMs: Math.round(sorted[sorted.length - 1]!) };
}

function summary(samples: Sample[]) {
  const of = (k: keyof Sample) => samples.map((s) => s[k]);
  return {
    agents: samples.length,
    runningToFirstTool: stats(of('runningToFirstToolMs')),
    breakdownP50Ms: {
      runningToModelRequest1: stats(of('runningToModelRequest1Ms')).p50Ms,
      modelRequest1ToCommandStart: stats(of('modelRequest1ToCommandStartMs')).p50Ms,
      commandStartToModelRequest2: stats(of('commandStartToModelRequest2Ms')).p50Ms,
    },
    spawnToRunning: stats(of('spawnToRunningMs')),
    spawnToCompleted: stats(of('spawnToCompletedMs')),
  };
}

async function main(): Promise<void> {
  const local = await runMode('local', {});
  const docker = await runMode('docker', {
    SANDBOX_ENABLED: 'true',
    SANDBOX_IMAGE,
    SANDBOX_GRACEFUL_STOP_TIMEOUT_SECONDS: '2',
    SANDBOX_MEMORY_MB: '256',
  });
  console.log(
    JSON.stringify({
      bench: 'agent',
      agentsPerMode: AGENTS_PER_MODE,
      sequential: true,
      runningToFirstTool:
        "from the agent's spawning->running event arriving on orchestrator:events to the fake model receiving model request 2 (which carries the bash tool result): writing the initial prompt, model turn 1 (the fake model answers at once), the tool-batch activity (the command, in the container when sandboxed) and scheduling model turn 2",
      spawnToCompleted: 'client.workflow.start call to the workflow result: workspace, sandbox start, 2 model turns, 1 tool call, gate, secret scan, commit, push, cleanup',
      commandStartClock: '/proc/uptime read by the command, 10 ms resolution',
      local: summary(local),
      docker: { image: SANDBOX_IMAGE, ...summary(docker) },
      node: process.version,
      cpus: os.cpus().length,
    }),
  );
}

main().catch((err: unknown) => {
  progress(`agent bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
