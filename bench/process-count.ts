/**
 * How many host processes one agent run starts, per activity type and git subcommand
 * (npm run bench:processes). The capacity bench's run shape (five turns: four `echo >> notes.txt`
 * bash calls and the final answer, the minimal profile with a `test -e notes.txt` gate, scan,
 * commit, merge check, push, cleanup), one agent at a time, through the real worker process
 * (`worker/main.ts`) whose PATH starts with logging wrappers for `git` and `bwrap`. Each logged
 * start is attributed to the activity whose window (started -> closed, from the run's history)
 * holds it; the first run (mirror clone, workflow bundle) is a warm-up and not counted.
 *
 * Uses the Temporal server at TEMPORAL_ADDRESS and Valkey at VALKEY_HOST:VALKEY_PORT (source
 * /work/devsrv/env.sh); PROCESS_COUNT_RUNS (default 3) counted runs; PROCESS_COUNT_KILLED=1 kills each
 * run through POST /kill while it waits on its second model call, to count what a kill costs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { workflowIdFor } from '../domain/agent';
import { HARDENED_CONFIG } from '../activities/git/hardening';
import { subcommandOf } from '../activities/git/run-git';
import { findExecutable } from '../activities/sandbox/bubblewrap-runner';
import { startTestApi } from '../test/api/api-harness';
import { activityRecords, type ActivityRecord } from '../test/support/activity-history';
import { FakeModelServer } from '../test/support/fake-model';
import { createRemoteRepo } from '../test/support/git-fixtures';
import { benchWorkerEnv } from './service-env';

const ROOT = path.resolve(__dirname, '..');
const RUNS = Number(process.env.PROCESS_COUNT_RUNS ?? 3);
const TURNS = 5;
/** PROCESS_COUNT_KILLED=1: each run is killed while it waits on its second model call (what a kill's cleanup starts). */
const KILLED = ['1', 'clean'].includes(process.env.PROCESS_COUNT_KILLED ?? '');
/** PROCESS_COUNT_KILLED=clean: killed while it waits on its first model call (the capacity bench's kill-all shape). */
const KILLED_CLEAN = process.env.PROCESS_COUNT_KILLED === 'clean';
const GATES_JSON = JSON.stringify({ gates: { tests: { command: 'test -e notes.txt' } } });

interface Start {
  atMs: number;
  /** `git <subcommand>` or `bwrap`. */
  what: string;
  /** Its arguments after the hardening every git call has. */
  args: string[];
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'process-count-'));
  const log = path.join(root, 'starts.log');
  const wrappers = path.join(root, 'bin');
  writeWrappers(wrappers, log);
  const fake = new FakeModelServer();
  const baseUrl = await fake.start();
  const remote = createRemoteRepo({ '.orchestrator/gates.json': GATES_JSON, 'README.md': '# process count\n' }, mkdtempSync(path.join(root, 'remote-')));
  const env = benchWorkerEnv({ temporalAddress: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233', taskQueue: `process-count-${randomUUID().slice(0, 8)}`, root, modelBaseUrl: baseUrl });
  const worker = startWorker({ ...env, PATH: `${wrappers}:${process.env.PATH ?? '/usr/bin:/bin'}` });
  const api = await startTestApi({ env: { TEMPORAL_TASK_QUEUE: env.TEMPORAL_TASK_QUEUE!, GIT_ALLOWED_SCHEMES: env.GIT_ALLOWED_SCHEMES!, LOG_LEVEL: 'warn' } });
  const { client } = api;
  try {
    const run = async () => {
      const taskId = `P-${randomUUID().slice(0, 12)}`;
      fake.script(
        taskId,
        KILLED
          ? [...(KILLED_CLEAN ? [] : [{ tools: [{ name: 'bash' as const, input: { command: 'echo 0 >> notes.txt' } }] }]), { text: 'never sent', delayMs: 3_600_000 }]
          : [...Array.from({ length: TURNS - 1 }, (_, i) => ({ tools: [{ name: 'bash' as const, input: { command: `echo ${i} >> notes.txt` } }] })), { text: 'Done.' }],
      );
      const res = await api.request('POST', '/agents/spawn', { body: { taskId, agentType: 'worker', gateProfile: 'minimal', context: { repository: remote.url, branch: 'main', workItems: ['count'], skills: [] } } });
      if (res.status >= 300) throw new Error(`spawn answered ${res.status}: ${JSON.stringify(res.body)}`);
      const agentId = String(res.body.agentId);
      const handle = client.workflow.getHandle(workflowIdFor(agentId));
      if (KILLED) {
        // Killed while it waits on its second model call (one turn done, its checkpoint saved).
        while (fake.requestsFor(taskId).length < (KILLED_CLEAN ? 1 : 2)) await new Promise((r) => setTimeout(r, 50));
        const kill = await api.request('POST', `/agents/${agentId}/kill`, { body: { reason: 'process count' } });
        if (kill.status !== 200) throw new Error(`kill answered ${kill.status}: ${JSON.stringify(kill.body)}`);
      }
      const outcome = (await handle.result()) as { status?: string };
      if (outcome.status !== (KILLED ? 'killed' : 'completed')) throw new Error(`run ended ${JSON.stringify(outcome).slice(0, 500)}`);
      return activityRecords(handle);
    };
    process.stderr.write('warm-up run (bundles the workflows, clones the mirror)\n');
    await run();
    const records: ActivityRecord[] = [];
    const firstCounted = Date.now();
    let lastRun: ActivityRecord[] = [];
    for (let i = 0; i < RUNS; i++) {
      process.stderr.write(`run ${i + 1}/${RUNS}\n`);
      lastRun = await run();
      records.push(...lastRun);
    }
    const starts = readStarts(log).filter((s) => s.atMs >= firstCounted);
    printTable(attribute(starts, records), RUNS);
    if (process.env.PROCESS_COUNT_DETAIL) printLastRun(starts, lastRun);
  } finally {
    await api.close();
    // The worker may still be writing below `root` until it has exited.
    const exited = worker.exitCode !== null ? Promise.resolve() : new Promise((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    await fake.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/** `git` and `bwrap` wrappers that log each start (time and arguments), then run the real program. */
function writeWrappers(dir: string, log: string): void {
  const realGit = findExecutable('git');
  const realBwrap = findExecutable('bwrap');
  if (!realGit || !realBwrap) throw new Error('git and bwrap must be on PATH');
  mkdirSync(dir, { recursive: true });
  // bwrap starts with an empty environment and git with an allowlisted one: the log path is fixed here.
  const wrapper = (name: string, real: string) =>
    `#!/bin/bash\nIFS=$'\\x1f'\nprintf '%s\\t${name}\\t%s\\n' "$EPOCHREALTIME" "$*" >> ${JSON.stringify(log)}\nexec ${JSON.stringify(real)} "$@"\n`;
  for (const [name, real] of [['git', realGit], ['bwrap', realBwrap]] as const) {
    const file = path.join(dir, name);
    writeFileSync(file, wrapper(name, real));
    chmodSync(file, 0o755);
  }
}

function readStarts(log: string): Start[] {
  let text = '';
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [at = '0', name = '', args = ''] = line.split('\t');
      const argv = args.split('\x1f');
      const own = HARDENED_CONFIG.every((a, i) => argv[i] === a) ? argv.slice(HARDENED_CONFIG.length) : argv;
      return { atMs: Number(at) * 1000, what: name === 'git' ? `git ${subcommandOf(argv)}` : name, args: own };
    });
}

/** Every start of the last run in order, with its activity (PROCESS_COUNT_DETAIL=1). */
function printLastRun(starts: Start[], records: ActivityRecord[]): void {
  const from = Math.min(...records.map((r) => r.scheduledAtMs));
  console.log('\nthe last run, start by start:');
  for (const s of starts.filter((x) => x.atMs >= from)) {
    const owner = records.find((w) => w.startedAtMs !== undefined && s.atMs >= w.startedAtMs - 1 && s.atMs <= (w.closedAtMs ?? Infinity) + 1)?.type ?? '-';
    console.log(`  ${owner.padEnd(20)} ${s.what.padEnd(16)} ${s.args.join(' ').replace(/\n/g, ' ').slice(0, 200)}`);
  }
}

/** Per activity type, per process kind: how many starts fell into its windows. */
function attribute(starts: Start[], records: ActivityRecord[]): Map<string, Map<string, number>> {
  const table = new Map<string, Map<string, number>>();
  const windows = records.filter((r) => r.startedAtMs !== undefined && r.closedAtMs !== undefined);
  for (const s of starts) {
    // History times are in whole milliseconds; a start at the edge still belongs to its activity.
    const owner = windows.find((w) => s.atMs >= w.startedAtMs! - 1 && s.atMs <= w.closedAtMs! + 1)?.type ?? '(outside activities)';
    const row = table.get(owner) ?? new Map<string, number>();
    row.set(s.what, (row.get(s.what) ?? 0) + 1);
    table.set(owner, row);
  }
  return table;
}

function printTable(table: Map<string, Map<string, number>>, runs: number): void {
  const per = (n: number) => (Number.isInteger(n / runs) ? String(n / runs) : (n / runs).toFixed(2));
  let total = 0;
  console.log(`process starts per run (${runs} runs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}):`);
  for (const [type, row] of [...table].sort(([a], [b]) => a.localeCompare(b))) {
    const sum = [...row.values()].reduce((a, b) => a + b, 0);
    total += sum;
    const detail = [...row].sort(([, a], [, b]) => b - a).map(([what, n]) => `${what} ${per(n)}`).join(', ');
    console.log(`  ${type.padEnd(22)} ${per(sum).padStart(6)}  ${detail}`);
  }
  console.log(`  ${'total'.padEnd(22)} ${per(total).padStart(6)}`);
}

function startWorker(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], { cwd: ROOT, env: { HOME: process.env.HOME ?? ROOT, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (c: Buffer) => process.stderr.write(`[worker] ${c.toString()}`));
  return child;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
