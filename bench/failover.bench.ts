/**
 * Failover and checkpoint cost, measured against the real Temporal dev server, Valkey and git:
 *
 *  1. Host death -> next tool call on another host. Two worker hosts are real `tsx worker/main.ts`
 *     processes (own WORKSPACE_ROOT and WORKER_HOST_ID); an agent runs a tool batch on host A,
 *     A is SIGKILLed (and its disk removed), and the time is taken from the kill to the start of
 *     the agent's next tool batch on host B (its ActivityTaskStarted event). It is split into
 *     detection (kill -> the rebuildWorkspace activity is scheduled: the batch's heartbeat timeout,
 *     then the retry's schedule-to-start deadline, HOST_FAILOVER_SECONDS) and moving (rebuild,
 *     sandbox, the batch starting on B).
 *  2. The added cost per turn of the workspace checkpoint (it runs inside the tool-batch activity,
 *     so it adds no round trip of its own): WorkspaceCheckpoints.save timed over a 20-turn run,
 *     with small changes, with 10 MB of changes that stay (one small edit per turn), and with
 *     10 MB rewritten every turn. Median and p95 per turn, and the bytes stored in Valkey.
 *
 * Run: npm run bench:failover (prints one JSON line; progress on stderr).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWorkspaceCheckpoints } from '../activities/checkpoints';
import { createGitWorkspaces } from '../activities/git';
import { CheckpointStore } from '../state/checkpoint-store';
import { keys } from '../state/keys';
import { toolsThenModel } from '../workflows/activity-options';
import { activityRecords } from '../test/support/activity-history';
import { createRemoteRepo } from '../test/support/git-fixtures';
import { hostTurnTaskQueue } from '../domain/task-queues';
import { eventually, startHarness } from '../test/support/harness';
import { connectTestRedis } from '../test/support/redis';
import { WorkerProcess, workflowBundleFile } from '../test/support/worker-process';

/** A tool batch: alone (runs recorded before turns were one activity, or right after a move) or with the next model call. */
const isToolBatch = (type: string) => type === 'executeTools' || type === 'toolsThenModel';

const FAILOVER_ROUNDS = 3;
const AGENTS_PER_ROUND = 2;
const FAILOVER_SECONDS = 5;
const TURNS = 20;
const GATES_JSON = JSON.stringify({ gates: { tests: { command: 'true' } } });

const progress = (msg: string) => process.stderr.write(`${msg}\n`);
const bash = (command: string) => ({ name: 'bash' as const, input: { command } });

function stats(values: number[]): { median: number; p95: number; max: number; n: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  const round = (v: number) => Math.round(v * 10) / 10;
  return { median: round(at(0.5)), p95: round(at(0.95)), max: round(sorted.at(-1) ?? NaN), n: sorted.length };
}

async function failover(): Promise<{ deathToNextToolMs: number[]; detectionMs: number[]; moveMs: number[] }> {
  const h = await startHarness({}, { worker: false });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-failover-'));
  const env = { ...h.env, LOG_LEVEL: 'info', WORKFLOW_BUNDLE_PATH: await workflowBundleFile(tmp) };
  const out = { deathToNextToolMs: [] as number[], detectionMs: [] as number[], moveMs: [] as number[] };
  const hosts: WorkerProcess[] = [];
  try {
    const remote = createRemoteRepo({ '.orchestrator/gates.json': GATES_JSON, 'README.md': '# failover bench\n' });
    for (let round = 0; round < FAILOVER_ROUNDS; round++) {
      const doomed = new WorkerProcess(`bench-doomed-${round}`, path.join(tmp, `doomed-${round}`), env);
      const rescuer = new WorkerProcess(`bench-rescuer-${round}`, path.join(tmp, `rescuer-${round}`), env);
      hosts.push(doomed, rescuer);
      doomed.start();
      await doomed.started();
      // The agents start on the doomed host (the only one); the rescuer joins before the death.
      const handles = await Promise.all(
        Array.from({ length: AGENTS_PER_ROUND }, async (_, i) => {
          const taskId = `BENCH-failover-${round}-${i}-${randomUUID().slice(0, 8)}`;
          h.fakeModel.script(taskId, [{ tools: [bash('echo before > before.txt')] }, { tools: [bash('echo started > started.txt; sleep 20')] }, { text: 'Done.' }]);
          return h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', hostFailoverSeconds: FAILOVER_SECONDS });
        }),
      );
      const batchStartedOn = async (handle: (typeof handles)[number], n: number) => {
        const batches = (await activityRecords(handle)).filter((r) => isToolBatch(r.type) && r.startedAtMs);
        return batches.length >= n ? batches[n - 1]!.taskQueue : undefined;
      };
      // Placed on the doomed host (the only one yet); the rescuer joins, then the doomed host dies mid-batch.
      await Promise.all(handles.map((hd) => eventually(() => batchStartedOn(hd, 1), 120_000, 'the first tool batch')));
      rescuer.start();
      await rescuer.started();
      // A batch's start reaches the history only when it ends: its first file in the worktree says it is running.
      const inFlight = (hd: (typeof handles)[number]) => existsSync(path.join(doomed.workspaceRoot, 'worktrees', hd.workflowId.replace(/^agent-/, ''), 'started.txt'));
      await Promise.all(handles.map((hd) => eventually(async () => inFlight(hd), 120_000, 'the second tool batch')));
      const onDoomed = handles;
      const killedAt = Date.now();
      await doomed.kill();
      rmSync(doomed.workspaceRoot, { recursive: true, force: true });
      await Promise.all(handles.map((hd) => hd.result()));
      for (const handle of onDoomed) {
        const records = await activityRecords(handle);
        const rebuild = records.find((r) => r.type === 'rebuildWorkspace');
        const next = records.find((r) => isToolBatch(r.type) && r.taskQueue === hostTurnTaskQueue(rescuer.taskQueue) && r.startedAtMs);
        if (!rebuild || !next?.startedAtMs) throw new Error(`${handle.workflowId}: no move to the rescuer in its history`);
        out.deathToNextToolMs.push(next.startedAtMs - killedAt);
        out.detectionMs.push(rebuild.scheduledAtMs - killedAt);
        out.moveMs.push(next.startedAtMs - rebuild.scheduledAtMs);
      }
      await rescuer.kill();
      progress(`round ${round + 1}: ${onDoomed.length} agent(s) moved, death -> next tool call ${out.deathToNextToolMs.slice(-onDoomed.length).map((v) => `${v} ms`).join(', ')}`);
    }
  } finally {
    await Promise.all(hosts.map((w) => w.kill()));
    await h.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

type ChangeKind = 'small' | '10MB-kept' | '10MB-rewritten';

async function checkpointCost(kind: ChangeKind): Promise<{ saveMs: ReturnType<typeof stats>; packBytes: ReturnType<typeof stats>; totalBytes: number }> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-checkpoint-'));
  const redis = connectTestRedis();
  const agentId = randomUUID();
  try {
    const remote = createRemoteRepo({ 'README.md': '# checkpoint bench\n', 'src/app.ts': 'export const turn = 0;\n' });
    const workspaces = createGitWorkspaces({
      workspaceRoot: path.join(tmp, 'ws'),
      host: { id: 'bench', taskQueue: 'bench@bench' },
      allowedSchemes: ['file'],
      author: { name: 'Bench', email: 'bench@example.test' },
      credentials: { httpsUsername: 'x-access-token' },
      pushEnabled: false,
    });
    const checkpoints = createWorkspaceCheckpoints({ workspaces, store: new CheckpointStore(redis, { maxTotalBytes: 2 ** 40 }) });
    const ws = await workspaces.prepare({ agentId, taskId: 'BENCH-ckpt', repository: remote.url, baseBranch: 'main' });
    const saveMs: number[] = [];
    const packBytes: number[] = [];
    let totalBytes = 0;
    for (let turn = 1; turn <= TURNS; turn++) {
      // What the agent's tool batch of this turn changed.
      writeFileSync(path.join(ws.path, 'src/app.ts'), `export const turn = ${turn};\n`);
      writeFileSync(path.join(ws.path, `notes-${turn}.md`), `turn ${turn}\n`);
      if ((kind === '10MB-kept' && turn === 1) || kind === '10MB-rewritten') {
        for (let f = 0; f < 10; f++) writeFileSync(path.join(ws.path, `data-${f}.bin`), randomBytes(1024 * 1024));
      }
      const t0 = performance.now();
      const saved = await checkpoints.save(ws, agentId, turn);
      saveMs.push(performance.now() - t0);
      packBytes.push(saved.packBytes);
      totalBytes = saved.totalBytes;
    }
    return { saveMs: stats(saveMs), packBytes: stats(packBytes), totalBytes };
  } finally {
    await redis.del(keys.checkpoints(agentId), keys.checkpointPacks(agentId));
    await redis.quit();
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const cost: Record<string, unknown> = {};
  for (const kind of ['small', '10MB-kept', '10MB-rewritten'] as const) {
    cost[kind] = await checkpointCost(kind);
    progress(`checkpoint, ${kind}: ${JSON.stringify(cost[kind])}`);
  }
  const moved = await failover();
  process.stdout.write(
    `${JSON.stringify({
      failover: {
        hostFailoverSeconds: FAILOVER_SECONDS,
        turnHeartbeat: toolsThenModel.heartbeatTimeout,
        deathToNextToolCallMs: stats(moved.deathToNextToolMs),
        detectionMs: stats(moved.detectionMs),
        rebuildAndRestartMs: stats(moved.moveMs),
      },
      checkpointPerTurn: { turns: TURNS, ...cost },
      cpus: os.cpus().length,
      loadAverage: os.loadavg().map((l) => Math.round(l * 10) / 10),
    })}\n`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:failover: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
