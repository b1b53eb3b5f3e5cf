/**
 * A worker host for tests: a real `tsx worker/main.ts` process in its own process group, with its
 * own WORKSPACE_ROOT and WORKER_HOST_ID, loading a workflow bundle made once per test file (so it
 * starts in seconds, not after a webpack run). Killing it with SIGKILL is a host dying.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hostTaskQueue } from '../../domain/task-queues';
import { eventually, workflowBundle } from './harness';

const ROOT = path.resolve(__dirname, '../..');

let bundleFile: Promise<string> | undefined;
/** The workflow bundle as a file the worker processes load (WORKFLOW_BUNDLE_PATH). */
export function workflowBundleFile(dir: string): Promise<string> {
  bundleFile ??= workflowBundle().then((b) => {
    const file = path.join(dir, 'workflow-bundle.js');
    writeFileSync(file, b.code);
    return file;
  });
  return bundleFile;
}

export class WorkerProcess {
  private child: ChildProcess | undefined;
  output = '';

  constructor(
    readonly hostId: string,
    readonly workspaceRoot: string,
    private readonly env: Record<string, string>,
  ) {}

  get taskQueue(): string {
    return hostTaskQueue(this.env.TEMPORAL_TASK_QUEUE ?? '', this.hostId);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The identity its workers report in ActivityTaskStarted events, as the worker logged it at start. */
  identity(): string {
    const logged = /"identity":"([^"]+)"/.exec(this.output)?.[1];
    if (!logged) throw new Error(`worker ${this.hostId} has not logged its identity`);
    return logged;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    mkdirSync(this.workspaceRoot, { recursive: true });
    this.output = '';
    const child = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), ['worker/main.ts'], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...this.env, WORKSPACE_ROOT: this.workspaceRoot, WORKER_HOST_ID: this.hostId, WORKER_METRICS_ADDRESS: 'off', PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? ROOT },
    });
    child.stdout?.on('data', (c: Buffer) => (this.output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (this.output += c.toString()));
    this.child = child;
  }

  /** Resolves once the worker logged that it started; fails with its output if it exits first. */
  async started(timeoutMs = 60_000): Promise<void> {
    await eventually(
      async () => {
        if (!this.running) throw new Error(`worker ${this.hostId} exited before it started:\n${this.output}`);
        return this.output.includes('worker started');
      },
      timeoutMs,
      `worker ${this.hostId} to start`,
    );
  }

  /** SIGKILL to the whole process group (tsx and the node process it starts); waits for the exit. */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c?.pid || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    process.kill(-c.pid, 'SIGKILL');
    await exited;
  }

  /** SIGTERM and wait: a graceful stop. */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c?.pid || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    process.kill(-c.pid, 'SIGTERM');
    await exited;
  }
}
