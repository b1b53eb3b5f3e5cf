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
/** An idle helper is let go (a busy worker keeps its helper; an idle one forks a new one when needed). */
const IDLE_EXIT_MS = 30_000;

type HelperMessage =
  | { id: number; ev: 'spawned'; pid: number }
  | { id: number; ev: 'out'; stream: 'stdout' | 'stderr'; data: Uint8Array }
  | { id: number; ev: 'close'; code: number | null }
  | { id: number; ev: 'error'; message: string; code?: string };

/** One helper process and the processes it is running for us. */
interface Helper {
  process: ChildProcess;
  running: Map<number, LaunchEvents>;
  idleTimer?: NodeJS.Timeout;
  /** Called when its last run settled. */
  onIdle?: () => void;
}

export class SpawnHelper {
  private current: Helper | undefined;
  private nextId = 1;

  private readonly script: string;
  private readonly idleExitMs: number;

  constructor(options: { script?: string; idleExitMs?: number } = {}) {
    this.script = options.script ?? HELPER_SCRIPT;
    this.idleExitMs = options.idleExitMs ?? IDLE_EXIT_MS;
  }

  /** The helper's pid, once started (tests and benchmarks look at its process tree). */
  get pid(): number | undefined {
    return this.current?.process.pid;
  }

  readonly launch: Launcher = (spec, events) => {
    const helper = this.helper();
    if (!helper) return launchDirectly(spec, events);
    const id = this.nextId++;
    clearTimeout(helper.idleTimer);
    helper.running.set(id, events);
    if (helper.running.size === 1) helper.process.channel?.ref();
    helper.process.send(request(id, spec), (err) => {
      if (err) settle(helper, id)?.failed(new Error(`the spawn helper did not take ${spec.file}: ${err.message}`));
    });
  };

  /** Stops the helper (processes it started run on, in their own groups, until their runs fail). */
  stop(): void {
    this.current?.process.kill('SIGKILL');
  }

  private helper(): Helper | undefined {
    if (this.current?.process.connected) return this.current;
    let child: ChildProcess;
    try {
      child = fork(this.script, [], {
        execArgv: [], // not the worker's (--import tsx): the helper loads nothing but node
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        // A process group of its own, as each process it starts has: a SIGKILL to the worker's
        // group (kill -9 -<pgid>) then leaves the helper to see its channel close and stop them.
        detached: true,
        serialization: 'advanced',
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
    } catch {
      return undefined;
    }
    const helper: Helper = { process: child, running: new Map() };
    this.current = helper;
    // Only this side decides that a helper is idle (it sends nothing to it after), so no request
    // races the helper's exit; the helper exits when its channel closes.
    helper.onIdle = () => {
      clearTimeout(helper.idleTimer);
      helper.idleTimer = setTimeout(() => {
        if (helper.running.size > 0) return;
        if (this.current === helper) this.current = undefined;
        if (child.connected) child.disconnect();
      }, this.idleExitMs).unref();
    };
    child.on('message', (m: HelperMessage) => onMessage(helper, m));
    // Only this helper's runs fail with it (a new one may already run others). 'close' comes after
    // the channel is drained, so every message it sent before dying has been handled.
    const lost = (why: string) => {
      if (this.current === helper) this.current = undefined;
      for (const id of [...helper.running.keys()]) settle(helper, id)?.failed(new Error(`the spawn helper ${why} while the process ran`));
    };
    child.on('close', (code, signal) => lost(`exited (${signal ?? `code ${code}`})`));
    child.on('error', (err) => lost(`failed: ${err.message}`));
    child.unref();
    child.channel?.unref();
    return helper;
  }
}

function onMessage(helper: Helper, m: HelperMessage): void {
  const events = helper.running.get(m.id);
  if (!events) return;
  switch (m.ev) {
    case 'spawned':
      events.spawned(m.pid);
      break;
    case 'out':
      events.output(Buffer.isBuffer(m.data) ? m.data : Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength), m.stream);
      break;
    case 'close':
      settle(helper, m.id)?.closed(m.code);
      break;
    case 'error':
      settle(helper, m.id)?.failed(Object.assign(new Error(m.message), m.code ? { code: m.code } : {}));
      break;
  }
}

/** Takes a run off its helper's list; the channel stops holding the event loop once none is left. */
function settle(helper: Helper, id: number): LaunchEvents | undefined {
  const events = helper.running.get(id);
  helper.running.delete(id);
  if (helper.running.size === 0) {
    helper.process.channel?.unref();
    helper.onIdle?.();
  }
  return events;
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
    ...(spec.cgroup !== undefined ? { cgroup: spec.cgroup } : {}),
  };
}

let shared: SpawnHelper | undefined;
/** The process's helper, started on first use. */
export function sharedSpawnHelper(): SpawnHelper {
  shared ??= new SpawnHelper();
  return shared;
}
