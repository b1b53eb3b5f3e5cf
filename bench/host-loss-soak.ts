/**
 * Host-loss soak: three real worker processes (`tsx worker/main.ts`, own WORKSPACE_ROOT and
 * WORKER_HOST_ID each) against the dev Temporal server and Valkey, agents spawned through the
 * real REST API, each doing several turns of file-writing bash calls (scripted fake model), and a
 * chaos loop that SIGKILLs a worker's process group at chosen moments: mid tool call, right after
 * a tool batch (its checkpoint), mid gates, mid push (a pre-receive hook holds it), during
 * cleanup (final status written, worktree still there), or at random; the host comes back after
 * a few seconds (same root and id) or stays down a while and the others take its agents.
 *
 * Afterwards it checks what "lose nothing" means: every agent completed; its pushed branch is one
 * commit on main holding every turn's files with the right bytes (chain.txt proves each turn saw
 * the files of the turns before it); the Valkey projection and the event stream end in the state
 * Temporal reports; and once the reapers ran, nothing is left: worktrees, gate checkouts, homes,
 * orphaned dirs, mirrors' agent branches and worktree registrations, bwrap processes, checkpoint
 * keys without expiry. Prints one JSON line (stdout), progress on stderr; exits 1 on a finding.
 *
 * Run: npm run bench:host-loss-soak -- [agents=12] [kills=8] (SOAK_KEEP=1 keeps the hosts' roots to look at).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { agentRun } from '../workflows';
import { keys } from '../state/keys';
import { activityRecords } from '../test/support/activity-history';
import { createRemoteRepo, git, showFile } from '../test/support/git-fixtures';
import { parents } from '../test/support/processes';
import { eventually, startHarness } from '../test/support/harness';
import { startHarnessApi } from '../test/support/harness-api';
import { WorkerProcess, workflowBundleFile } from '../test/support/worker-process';

const AGENTS = Number(process.argv[2] ?? 12);
const KILLS = Number(process.argv[3] ?? 8);
const TURNS = 4;
const API_KEY = 'host-loss-soak-api-key-0123456789';
const progress = (msg: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const bash = (command: string) => ({ name: 'bash' as const, input: { command } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];

type Target = 'tool' | 'checkpoint' | 'gates' | 'push' | 'cleanup' | 'random';
const TARGETS: Target[] = ['tool', 'push', 'gates', 'checkpoint', 'cleanup', 'random', 'tool', 'push', 'gates', 'checkpoint', 'cleanup'];

const turnFile = (taskId: string, k: number) => `turn ${k} of ${taskId}\n`;
const dataFile = (taskId: string, k: number) => Array.from({ length: 4000 }, (_, i) => `${taskId}-${k}-${i + 1}\n`).join('');

async function main(): Promise<void> {
  const findings: string[] = [];
  const h = await startHarness({ ORCHESTRATOR_API_KEY: API_KEY, HOST_FAILOVER_SECONDS: '5', KILL_DEADLINE_SECONDS: '60' }, { worker: false });
  const api = await startHarnessApi(h, API_KEY);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'host-loss-soak-'));
  const marks = path.join(tmp, 'push-marks');
  execFileSync('mkdir', ['-p', marks]);
  const env = { ...h.env, LOG_LEVEL: 'info', WORKFLOW_BUNDLE_PATH: await workflowBundleFile(tmp), REAPER_INTERVAL_SECONDS: '5', HOST_FAILOVER_SECONDS: '5' };
  const hosts = ['soak-a', 'soak-b', 'soak-c'].map((id) => new WorkerProcess(id, path.join(tmp, id), env));
  const kills: { target: Target; host: string; atMs: number; agents: string[]; downMs: number }[] = [];
  const t0 = Date.now();
  try {
    for (const w of hosts) w.start();
    await Promise.all(hosts.map((w) => w.started(120_000)));
    const gates = JSON.stringify({ gates: { tests: { command: `sleep 2; test -e turn-${TURNS}.txt` } } });
    const remote = createRemoteRepo({ '.orchestrator/gates.json': gates, 'README.md': '# soak\n', '.gitignore': '.in-tool\n' });
    writeFileSync(path.join(remote.dir, 'hooks', 'pre-receive'), `#!/bin/sh\ncat > /dev/null\ntouch ${marks}/$$\nsleep 3\nrm -f ${marks}/$$\n`, { mode: 0o755 });
    const baseSha = git(remote.dir, 'rev-parse', 'refs/heads/main');

    // Spawned through the API, a second apart, so the agents are in different phases when a host dies.
    const agents: { taskId: string; agentId: string; handle: WorkflowHandle<typeof agentRun> }[] = [];
    for (let i = 0; i < AGENTS; i++) {
      const taskId = `T-soak-${i}-${randomUUID().slice(0, 6)}`;
      const turns = Array.from({ length: TURNS }, (_, j) => {
        const k = j + 1;
        const chain = k > 1 ? `cat turn-${k - 1}.txt >> chain.txt; ` : '';
        return {
          tools: [bash(`touch .in-tool; ${chain}printf 'turn ${k} of ${taskId}\\n' > turn-${k}.txt; seq 1 4000 | sed 's/^/${taskId}-${k}-/' > data-${k}.txt; sleep ${1 + (i % 3)}; rm -f .in-tool`)],
        };
      });
      h.fakeModel.script(taskId, [...turns, { text: 'Done.' }], { byTurn: true });
      const res = await api.request('POST', '/agents/spawn', {
        body: { taskId, agentType: 'worker', gateProfile: 'minimal', context: { repository: remote.url, branch: 'main', workItems: ['US-001 soak'], skills: ['bash'] } },
      });
      if (res.status !== 202) throw new Error(`spawn ${taskId}: ${res.status} ${JSON.stringify(res.body)}`);
      const agentId = res.body.agentId as string;
      agents.push({ taskId, agentId, handle: h.client.workflow.getHandle<typeof agentRun>(`agent-${agentId}`) });
      await sleep(1000);
    }
    progress(`${AGENTS} agents spawned`);
    const closed = new Set<string>();
    const results = new Map<string, Awaited<ReturnType<WorkflowHandle<typeof agentRun>['result']>>>();
    for (const a of agents) {
      void a.handle.result().then(
        (r) => {
          results.set(a.agentId, r);
          closed.add(a.agentId);
          progress(`${a.taskId}: ${r.status}${r.error ? ` (${r.error.slice(0, 160)})` : ''}`);
        },
        (err: unknown) => {
          closed.add(a.agentId);
          findings.push(`${a.taskId}: workflow did not complete: ${String(err)}`);
        },
      );
    }

    const live = () => hosts.filter((w) => w.running);
    const worktree = (w: WorkerProcess, agentId: string) => path.join(w.workspaceRoot, 'worktrees', agentId);
    const holders = (w: WorkerProcess) => agents.filter((a) => existsSync(worktree(w, a.agentId))).map((a) => a.taskId);
    /** The live host the moment calls for, or undefined while none is there yet. */
    const find = async (target: Target): Promise<WorkerProcess | undefined> => {
      const open = agents.filter((a) => !closed.has(a.agentId));
      switch (target) {
        case 'tool':
          return live().find((w) => open.some((a) => existsSync(path.join(worktree(w, a.agentId), '.in-tool'))));
        case 'checkpoint': {
          // The batch ends (its marker goes), then the checkpoint is saved inside the same activity.
          const inTool = live().flatMap((w) => open.filter((a) => existsSync(path.join(worktree(w, a.agentId), '.in-tool'))).map((a) => ({ w, a })));
          const one = pick(inTool);
          if (!one) return undefined;
          await eventually(async () => !existsSync(path.join(worktree(one.w, one.a.agentId), '.in-tool')), 30_000, 'the batch to end').catch(() => undefined);
          return one.w.running ? one.w : undefined;
        }
        case 'gates':
          return live().find((w) => readdirSync(path.join(w.workspaceRoot, 'gate-checkouts'), { withFileTypes: true }).length > 0);
        case 'push': {
          const pids = readdirSync(marks).map(Number);
          if (pids.length === 0) return undefined;
          const ppid = parents();
          for (const pid of pids)
            for (let p = ppid.get(pid); p !== undefined && p > 1; p = ppid.get(p)) {
              const w = live().find((x) => x.pid === p);
              if (w) return w;
            }
          return undefined;
        }
        case 'cleanup': {
          for (const a of open) {
            const stored = await api.store.getAgent(a.agentId);
            if (stored?.status !== 'completed') continue;
            const w = live().find((x) => existsSync(worktree(x, a.agentId)));
            if (w) return w;
          }
          return undefined;
        }
        case 'random':
          await sleep(Math.random() * 5000);
          return pick(live());
      }
    };

    let next = 0;
    while (closed.size < agents.length && kills.length < KILLS && Date.now() - t0 < 15 * 60_000) {
      // At most one host down at a time, so two are there to take its agents.
      await eventually(async () => live().length === hosts.length || closed.size === agents.length, 120_000, 'the hosts back');
      const target = TARGETS[next++ % TARGETS.length]!;
      const deadline = Date.now() + 60_000;
      let victim: WorkerProcess | undefined;
      while (!victim && Date.now() < deadline && closed.size < agents.length) {
        victim = await find(target).catch(() => undefined);
        if (!victim) await sleep(50);
      }
      if (!victim) {
        progress(`no moment for '${target}' within a minute; next`);
        continue;
      }
      const held = holders(victim);
      await victim.kill();
      const downMs = Math.random() < 0.3 ? 40_000 : 2000 + Math.random() * 8000;
      kills.push({ target, host: victim.hostId, atMs: Date.now() - t0, agents: held, downMs: Math.round(downMs) });
      progress(`kill #${kills.length} '${target}': ${victim.hostId} (holding ${held.length}); back in ${Math.round(downMs / 1000)} s`);
      const back = victim;
      setTimeout(() => {
        back.start();
        back.started(120_000).catch((err: unknown) => findings.push(`restart of ${back.hostId}: ${String(err)}`));
      }, downMs);
      await sleep(3000);
    }
    progress(`chaos done after ${kills.length} kills; waiting for the runs`);
    await eventually(async () => closed.size === agents.length, 20 * 60_000, 'every run to close');
    await eventually(async () => hosts.every((w) => w.running), 120_000, 'every host back');
    const settledAt = Date.now();

    // What each agent delivered.
    for (const a of agents) {
      const r = results.get(a.agentId);
      if (!r) continue;
      if (r.status !== 'completed') {
        findings.push(`${a.taskId}: ${r.status}: ${r.error ?? ''}`);
        continue;
      }
      const branch = r.result?.branch;
      if (!branch || !r.result?.pushed) {
        findings.push(`${a.taskId}: completed without a pushed branch`);
        continue;
      }
      const count = git(remote.dir, 'rev-list', '--count', `${baseSha}..refs/heads/${branch}`);
      if (count !== '1') findings.push(`${a.taskId}: ${count} commits on ${branch} (1 expected)`);
      const show = (f: string) => {
        try {
          return `${showFile(remote.dir, `refs/heads/${branch}`, f)}\n`;
        } catch {
          return undefined;
        }
      };
      for (let k = 1; k <= TURNS; k++) {
        if (show(`turn-${k}.txt`) !== turnFile(a.taskId, k)) findings.push(`${a.taskId}: turn-${k}.txt wrong or missing on the branch`);
        if (show(`data-${k}.txt`) !== dataFile(a.taskId, k)) findings.push(`${a.taskId}: data-${k}.txt wrong or missing on the branch`);
      }
      const chain = Array.from({ length: TURNS - 1 }, (_, j) => turnFile(a.taskId, j + 1)).join('');
      if (show('chain.txt') !== chain) findings.push(`${a.taskId}: chain.txt is ${JSON.stringify(show('chain.txt'))} (each turn saw the files before it: ${JSON.stringify(chain)})`);
      if (show('.in-tool') !== undefined) findings.push(`${a.taskId}: the ignored marker was committed`);
      // Valkey matches Temporal.
      const stored = await api.store.getAgent(a.agentId);
      if (stored?.status !== r.status) findings.push(`${a.taskId}: Valkey says ${stored?.status}, Temporal ${r.status}`);
      // The event stream: one lifecycle event to a final status, and it is Temporal's.
      const events = ((await h.redis.xrange(keys.agentEvents(a.agentId), '-', '+')) as [string, string[]][]).map(([, fields]) => fields[fields.indexOf('data') + 1] ?? '');
      const finals = events.map((e) => JSON.parse(e) as { type?: string; to?: string }).filter((e) => e.type === 'lifecycle' && ['completed', 'failed', 'killed'].includes(e.to ?? ''));
      if (finals.map((e) => e.to).join() !== r.status) findings.push(`${a.taskId}: final lifecycle events ${JSON.stringify(finals.map((e) => e.to))}, Temporal says ${r.status}`);
      const moves = (await activityRecords(a.handle)).filter((x) => x.type === 'rebuildWorkspace' && x.outcome === 'completed').length;
      if (moves > 0) progress(`${a.taskId}: moved ${moves} time(s)`);
    }

    // Leftovers, once the reapers had a few passes (5 s apart) after the last run closed.
    await sleep(30_000);
    const leftovers: string[] = [];
    const notes: string[] = [];
    for (const w of hosts) {
      for (const sub of ['worktrees', 'gate-checkouts', 'gate-indexes', 'homes', 'orphaned']) {
        const dir = path.join(w.workspaceRoot, sub);
        const entries = existsSync(dir) ? readdirSync(dir) : [];
        if (entries.length > 0) leftovers.push(`${w.hostId}/${sub}: ${entries.join(', ')}`);
      }
      const tmpDir = path.join(w.workspaceRoot, 'tmp');
      if (existsSync(tmpDir)) {
        const scratch = readdirSync(tmpDir).filter((n) => !n.endsWith('.lock'));
        const nonEmpty = scratch.filter((n) => {
          const p = path.join(tmpDir, n);
          try {
            return readdirSync(p).length > 0;
          } catch {
            return true;
          }
        });
        if (nonEmpty.length > 0) notes.push(`${w.hostId}/tmp: ${nonEmpty.join(', ')} (scratch of dead processes goes once their lock is 10 min stale)`);
      }
      const mirrors = path.join(w.workspaceRoot, 'mirrors');
      for (const m of existsSync(mirrors) ? readdirSync(mirrors) : []) {
        const mirror = path.join(mirrors, m);
        // Agent branches stay in the mirror by design (activities/git/cleanup.ts); one whose tip the remote does not have is work left only here.
        const branches = git(mirror, 'for-each-ref', '--format=%(refname:short) %(objectname)', 'refs/heads/agent/');
        for (const line of branches ? branches.split('\n') : []) {
          const [name, sha] = line.split(' ');
          let onRemote = '';
          try {
            onRemote = git(remote.dir, 'rev-parse', `refs/heads/${name}`);
          } catch {
            // not on the remote
          }
          if (onRemote !== sha) notes.push(`${w.hostId}/mirrors: local branch ${name} at ${sha?.slice(0, 8)}, remote ${onRemote.slice(0, 8) || 'none'}`);
        }
        const registered = existsSync(path.join(mirror, 'worktrees')) ? readdirSync(path.join(mirror, 'worktrees')) : [];
        if (registered.length > 0) leftovers.push(`${w.hostId}/mirrors/${m}: worktree registrations ${registered.join(', ')}`);
      }
    }
    const procs = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(tmp) && (l.includes('bwrap') || l.includes('sleep') || l.includes('git ')));
    if (procs.length > 0) leftovers.push(`processes: ${procs.join(' | ')}`);
    for (const a of agents) {
      for (const key of [keys.checkpoints(a.agentId), keys.checkpointPacks(a.agentId), keys.checkpointHost(a.agentId), keys.agent(a.agentId), keys.transcript(a.agentId)]) {
        const ttl = await h.redis.ttl(key);
        if (ttl === -1) leftovers.push(`${key}: no expiry`);
      }
    }
    const remoteRefs = git(remote.dir, 'for-each-ref', '--format=%(refname)', 'refs/agents/');
    if (remoteRefs) notes.push(`remote salvage refs of completed runs (a restarted host's reaper salvaged its old worktree): ${remoteRefs.split('\n').length}`);
    if (existsSync('/tmp/agent-home')) leftovers.push(`/tmp/agent-home: ${readdirSync('/tmp/agent-home').join(', ')}`);
    findings.push(...leftovers.map((l) => `leftover: ${l}`));

    process.stdout.write(
      `${JSON.stringify({
        agents: AGENTS,
        turns: TURNS,
        kills,
        completed: [...results.values()].filter((r) => r.status === 'completed').length,
        secondsToSettle: Math.round((settledAt - t0) / 1000),
        findings,
        notes,
      })}\n`,
    );
    if (findings.length > 0) process.exitCode = 1;
  } finally {
    await Promise.all(hosts.map((w) => w.kill()));
    if (process.env.SOAK_KEEP) progress(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
    await api.close();
    await h.close();
  }
}

main().then(
  () => process.exit(),
  (err: unknown) => {
    process.stderr.write(`host-loss-soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
