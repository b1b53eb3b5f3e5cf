// @ts-check
/**
 * The worker's process starter: a small node process that forks git, bubblewrap and the agent's
 * commands on the worker's behalf (activities/host/spawn-helper-client.ts speaks to it).
 *
 * Why: libuv starts a child with fork(), which copies the page tables of the whole parent. The
 * worker holds hundreds of MB (the SDK's core, the workflow cache, V8's heap), so every git call
 * cost it ~10 ms of kernel time, and a run starts about seventy; this process holds a few MB, so
 * forking from it is cheap. It is plain JavaScript with nothing but node's own modules, so it
 * stays that small (no tsx, no packages).
 *
 * Protocol (IPC, advanced serialization so output stays bytes):
 *   in:  { op: 'spawn', id, file, args, cwd?, env, uid?, gid?, input?, cgroup? }
 *   out: { id, ev: 'spawned', pid } | { id, ev: 'out', stream: 'stdout' | 'stderr', data }
 *        | { id, ev: 'close', code } | { id, ev: 'error', message, code? }
 * Stopping a process is the worker's business: it signals the process group itself.
 */
'use strict';
const { spawn } = require('node:child_process');
const { closeSync, readdirSync, readFileSync } = require('node:fs');
const { cgroupStdio, joinSandboxCgroup } = require('./cgroup-join.cjs');

// Descriptors the worker inherited from whatever started it (a shell's pipe, a supervisor's
// socket) and did not mark close-on-exec would pass through this process to every command,
// sandboxed or not: close them first. Node's and libuv's own, and the channel to the worker, are
// close-on-exec, so a descriptor without that flag (O_CLOEXEC, 02000000 in fdinfo) is inherited.
const O_CLOEXEC = 0o2000000;
for (const name of readdirSync('/proc/self/fd')) {
  const fd = Number(name);
  if (fd <= 2) continue;
  try {
    const flags = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    if (flags && (parseInt(flags[1] ?? '0', 8) & O_CLOEXEC) === 0) closeSync(fd);
  } catch {
    // gone already (the directory's own descriptor, closed once read)
  }
}

/** @param {Record<string, unknown>} msg */
function send(msg) {
  if (process.connected) process.send?.(msg);
}

// Output waits in this process until the channel to the worker takes it: past HIGH_WATER bytes
// the children's pipes are paused (a `yes` then blocks on its pipe, as it would writing to the
// worker directly) and resumed below LOW_WATER, so a busy worker cannot make this process grow.
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;
let queued = 0;
/** @type {Set<import('node:stream').Readable>} */
const paused = new Set();

/** @param {number} id @param {'stdout' | 'stderr'} stream @param {import('node:stream').Readable} source @param {Buffer} data */
function forward(id, stream, source, data) {
  if (!process.connected) return;
  queued += data.length;
  process.send?.({ id, ev: 'out', stream, data }, undefined, {}, () => {
    queued -= data.length;
    if (queued > LOW_WATER) return;
    for (const s of paused) s.resume();
    paused.clear();
  });
  if (queued > HIGH_WATER) {
    source.pause();
    paused.add(source);
  }
}

/**
 * The process groups of the processes still running, by their leader's pid: each was started in a
 * group of its own, so nothing but this process knows of them once the worker is gone.
 * @type {Set<number>}
 */
const running = new Set();

/** @param {{ id: number, file: string, args: string[], cwd?: string, env: Record<string, string>, uid?: number, gid?: number, input?: string | Uint8Array, cgroup?: string }} req */
function start(req) {
  /** @type {import('node:child_process').ChildProcess} */
  let child;
  try {
    child = spawn(req.file, req.args, {
      cwd: req.cwd,
      env: req.env,
      detached: true, // its own process group, so a stop reaches every descendant
      ...(req.uid !== undefined && req.gid !== undefined ? { uid: req.uid, gid: req.gid } : {}),
      stdio: req.cgroup !== undefined ? [...cgroupStdio(req.input === undefined ? 'ignore' : 'pipe')] : [req.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    send({ id: req.id, ev: 'error', message: String(/** @type {Error} */ (err).message), code: /** @type {NodeJS.ErrnoException} */ (err).code });
    return;
  }
  const { pid } = child;
  if (pid) {
    running.add(pid);
    child.on('exit', () => running.delete(pid));
    send({ id: req.id, ev: 'spawned', pid });
  }
  let errored = false;
  if (req.cgroup !== undefined) {
    // A sandbox that cannot be put in its cgroup never runs (joinSandboxCgroup killed it): the run fails.
    joinSandboxCgroup(child, req.cgroup, (err) => {
      if (!err) return;
      errored = true;
      send({ id: req.id, ev: 'error', message: err.message, code: /** @type {NodeJS.ErrnoException} */ (err).code });
    });
  }
  const { stdout, stderr } = child;
  stdout?.on('data', (data) => forward(req.id, 'stdout', stdout, data));
  stderr?.on('data', (data) => forward(req.id, 'stderr', stderr, data));
  if (child.stdin) {
    child.stdin.on('error', () => undefined); // the process may exit before reading its input
    child.stdin.end(req.input);
  }
  child.on('error', (err) => {
    if (errored) return;
    errored = true;
    send({ id: req.id, ev: 'error', message: err.message, code: /** @type {NodeJS.ErrnoException} */ (err).code });
  });
  child.on('close', (code) => {
    if (!errored) send({ id: req.id, ev: 'close', code });
  });
}

process.on('message', (/** @type {any} */ msg) => {
  if (msg && msg.op === 'spawn') start(msg);
});
// Gone with the worker: a worker that exits (or is killed) closes the channel. A Ctrl-C in a
// terminal reaches the whole foreground group; the worker's graceful stop may still need git.
// The worker lets an idle helper go only once nothing runs, so a process still running here was
// the worker's when it died (the OOM killer, a kill -9 of its pid): nobody would stop it (a push
// landing after the run was recorded killed, a command writing a worktree another host took
// over), so its group goes too.
process.on('disconnect', () => {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  process.exit(0);
});
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
