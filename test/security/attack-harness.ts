/**
 * The attack suite's harness: a real worker PROCESS (worker/main.ts, as deployed) whose
 * environment holds fake secrets, in one of the sandbox runtimes, driven by the scripted fake
 * model; the Temporal client, fake model, Valkey and remotes come from the usual test harness.
 * Attacks are the agent's own tool calls; what they must never achieve is checked here: a
 * marker file on the host, a secret in a tool result, the transcript, the history, the worker's
 * log or any object of the remote.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { keys } from '../../state/keys';
import type { agentRun } from '../../workflows';
import { historyText } from '../support/activity-history';
import { eventually, startHarness, TEST_MODEL_KEY, type Harness } from '../support/harness';
import { ensureTestImage, TEST_IMAGE } from '../support/sandbox-test-image';

export type AttackMode = 'bubblewrap' | 'docker';
/** A real worker bundles its workflows at start: on a loaded 2-core machine that can take minutes. */
export const WORKER_START_TIMEOUT_MS = 300_000;
export const MODES: AttackMode[] = ['bubblewrap', 'docker'];

/** Secrets in the worker's environment; none may ever reach the agent or leave the host. */
export const WORKER_SECRETS = {
  CLAUDE_API_KEY: TEST_MODEL_KEY,
  GIT_HTTPS_TOKEN: 'ghp_workerTokenThatMustNeverLeak0000000000',
  VALKEY_PASSWORD: 'valkey-password-that-must-never-leak-4242',
};

/** A GitHub token with a valid checksum: what the agent tries to smuggle into a commit. */
export const AGENT_SECRET = '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';

export interface AttackHarness {
  mode: AttackMode;
  h: Harness;
  /** A directory on the host; attacks try to create files in it. */
  markerDir: string;
  /** Everything the worker process printed. */
  workerLog(): string;
  spawn(args: Parameters<Harness['spawn']>[0]): Promise<WorkflowHandle<typeof agentRun>>;
  close(): Promise<void>;
}

export async function startAttackHarness(mode: AttackMode, env: Record<string, string> = {}): Promise<AttackHarness> {
  if (mode === 'docker') await ensureTestImage();
  const modeEnv: Record<string, string> =
    mode === 'docker'
      ? { SANDBOX_RUNTIME: 'docker', SANDBOX_IMAGE: TEST_IMAGE, SANDBOX_GRACEFUL_STOP_TIMEOUT_SECONDS: '2', SANDBOX_MEMORY_MB: '256' }
      : { SANDBOX_RUNTIME: 'bubblewrap' };
  const h = await startHarness({ ...modeEnv, ...env }, { worker: false });
  const markerDir = mkdtempSync(path.join(os.tmpdir(), 'attack-markers-'));
  const worker = startWorkerProcess({ ...h.env, ...WORKER_SECRETS, GIT_HTTPS_TOKEN_HOSTS: 'git.example.invalid', LOG_LEVEL: env.LOG_LEVEL ?? 'info' });
  await eventually(async () => worker.log().includes('"msg":"worker started"') || worker.exited(), WORKER_START_TIMEOUT_MS - 10_000, 'the worker process to start');
  if (worker.exited()) throw new Error(`the worker process exited:\n${worker.log().slice(-3000)}`);
  return {
    mode,
    h,
    markerDir,
    workerLog: worker.log,
    spawn: (args) => h.spawn(args),
    async close() {
      await worker.stop();
      await h.close();
      rmSync(markerDir, { recursive: true, force: true });
    },
  };
}

function startWorkerProcess(env: Record<string, string>) {
  let out = '';
  const child: ChildProcess = spawn('node_modules/.bin/tsx', ['worker/main.ts'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', WORKER_METRICS_ADDRESS: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  let exited = false;
  const done = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  return {
    log: () => out,
    exited: () => exited,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await done;
      clearTimeout(killer);
    },
  };
}

/** Files in the marker directory: any is proof that agent-written content ran on the host. */
/**
 * The harness for one describe block, handed to `use` once started; after every test nothing of
 * the agent's has run on the host and the worker's log holds no secret.
 */
export function useAttackHarness(mode: AttackMode, use: (a: AttackHarness) => void, env: Record<string, string> = {}): void {
  let a: AttackHarness | undefined;
  beforeAll(async () => {
    a = await startAttackHarness(mode, env);
    use(a);
  }, WORKER_START_TIMEOUT_MS);
  afterAll(async () => {
    await a?.close();
  });
  afterEach(() => {
    if (!a) return;
    expect(markersOn(a.markerDir)).toEqual([]);
    expectNoWorkerSecret(a.workerLog());
  });
}

export const bash = (command: string) => ({ name: 'bash' as const, input: { command } });

export function markersOn(markerDir: string): string[] {
  return readdirSync(markerDir);
}

/** Everything of a run that leaves the sandbox: tool results and turns the model saw, the stored transcript, the history. */
export async function runTrail(a: AttackHarness, taskId: string, handle: WorkflowHandle<typeof agentRun>): Promise<string> {
  const agentId = handle.workflowId.replace('agent-', '');
  const requests = a.h.fakeModel.requestsFor(taskId).map((r) => JSON.stringify(r.body));
  const transcript = await a.h.redis.hgetall(keys.transcript(agentId));
  const history = await historyText(handle);
  return [...requests, JSON.stringify(transcript), history].join('\n');
}

/** Every object of a bare repository, as text (all refs, salvage refs included, and anything unreferenced). */
export function remoteObjects(bareDir: string): string {
  return execFileSync('git', ['-C', bareDir, 'cat-file', '--batch-all-objects', '--batch', '--unordered'], { maxBuffer: 512 * 1024 * 1024 }).toString('latin1');
}

export function remoteRefs(bareDir: string): string[] {
  return execFileSync('git', ['-C', bareDir, 'for-each-ref', '--format=%(refname)'], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

/** Asserts that no worker secret appears in `text`. */
export function expectNoWorkerSecret(text: string): void {
  for (const [name, value] of Object.entries(WORKER_SECRETS)) {
    expect({ name, leaked: text.includes(value) }).toEqual({ name, leaked: false });
  }
}

/** The user turns (tool results, feedback) of the model's last request, which carries the whole conversation, as text. */
export function toolResults(a: AttackHarness, taskId: string): string {
  const last = a.h.fakeModel.requestsFor(taskId).at(-1);
  return (last?.body.messages ?? [])
    .filter((m) => m.role === 'user')
    .map((m) => JSON.stringify(m.content))
    .join('\n');
}

/** The agent id of a run's handle. */
export function agentIdOf(handle: WorkflowHandle<typeof agentRun>): string {
  return handle.workflowId.replace('agent-', '');
}

/** A base repository that works in both runtimes (the Docker test image has only busybox): a gate the agent can fail by creating `broken.txt`. */
export function shellGateRepo(extra: Record<string, string> = {}): Record<string, string> {
  return {
    '.orchestrator/gates.json': JSON.stringify({ gates: { tests: { command: 'test ! -e broken.txt && echo gate-passed' } } }),
    'README.md': '# target\n',
    ...extra,
  };
}
