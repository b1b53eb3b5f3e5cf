/**
 * The worker's side of the spawn helper (spawn-helper.cjs): one small node process per worker
 * that forks every git call, sandbox and local command, because a fork from the worker itself
 * copies the page tables of hundreds of MB each time (measured with perf: a third of the
 * worker's CPU in a busy run went to copy_page_range and the child's exec tearing the copy down).
 *
 * Started on first use and again after it died; a process it was running when it died is reported
 * failed (and its group killed), so the git call or command fails and its activity retries. It
 * never keeps the worker alive: its channel is referenced only while processes run.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { launchDirectly, type LaunchEvents, type Launcher, type LaunchSpec } from './launch';

const HELPER_SCRIPT = path.join(__dirname, 'spawn-helper.cjs');

type HelperMessage =
  | { id: number; ev: 'spawned'; pid: number }
  | { id: number; ev: 'out'; stream: 'stdout' | 'stderr'; data: Uint8Array }
  | { id: number; ev: 'close'; code: number | null }
  | { id: number; ev: 'error'; message: string; code?: string };

export class SpawnHelper {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly running = new Map<number, LaunchEvents>();

  constructor(private readonly script = HELPER_SCRIPT) {}

  /** The helper's pid, once started (tests and benchmarks look at its process tree). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  readonly launch: Launcher = (spec, events) => {
    const helper = this.helper();
    if (!helper) return launchDirectly(spec, events);
    const id = this.nextId++;
    this.running.set(id, events);
    if (this.running.size === 1) helper.channel?.ref();
    helper.send(request(id, spec), (err) => {
      if (err) this.settle(id)?.failed(new Error(`the spawn helper did not take ${spec.file}: ${err.message}`));
    });
  };

  /** Stops the helper (processes it started run on, in their own groups). */
  stop(): void {
    this.child?.kill('SIGKILL');
  }

  private helper(): ChildProcess | undefined {
    if (this.child?.connected) return this.child;
    let child: ChildProcess;
    try {
      child = fork(this.script, [], {
        execArgv: [], // not the worker's (--import tsx): the helper loads nothing but node
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        serialization: 'advanced',
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
    } catch {
      return undefined;
    }
    this.child = child;
    child.on('message', (m: HelperMessage) => this.onMessage(m));
    const lost = (why: string) => {
      if (this.child === child) this.child = undefined;
      for (const id of [...this.running.keys()]) this.settle(id)?.failed(new Error(`the spawn helper ${why} while the process ran`));
    };
    child.on('exit', (code, signal) => lost(`exited (${signal ?? `code ${code}`})`));
    child.on('error', (err) => lost(`failed: ${err.message}`));
    child.unref();
    child.channel?.unref();
    return child;
  }

  private onMessage(m: HelperMessage): void {
    const events = this.running.get(m.id);
    if (!events) return;
    switch (m.ev) {
      case 'spawned':
        events.spawned(m.pid);
        break;
      case 'out':
        events.output(Buffer.isBuffer(m.data) ? m.data : Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength), m.stream);
        break;
      case 'close':
        this.settle(m.id)?.closed(m.code);
        break;
      case 'error':
        this.settle(m.id)?.failed(Object.assign(new Error(m.message), m.code ? { code: m.code } : {}));
        break;
    }
  }

  private settle(id: number): LaunchEvents | undefined {
    const events = this.running.get(id);
    this.running.delete(id);
    if (this.running.size === 0) this.child?.channel?.unref();
    return events;
  }
}

function request(id: number, spec: LaunchSpec) {
  return {
    op: 'spawn',
    id,
    file: spec.file,
    args: [...spec.args],
    ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
    env: spec.env,
    ...(spec.user ? { uid: spec.user.uid, gid: spec.user.gid } : {}),
    ...(spec.input !== undefined ? { input: spec.input } : {}),
  };
}

let shared: SpawnHelper | undefined;
/** The process's helper, started on first use. */
export function sharedSpawnHelper(): SpawnHelper {
  shared ??= new SpawnHelper();
  return shared;
}
