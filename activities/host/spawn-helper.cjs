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
 *   in:  { op: 'spawn', id, file, args, cwd?, env, uid?, gid?, input? }
 *   out: { id, ev: 'spawned', pid } | { id, ev: 'out', stream: 'stdout' | 'stderr', data }
 *        | { id, ev: 'close', code } | { id, ev: 'error', message, code? }
 * Stopping a process is the worker's business: it signals the process group itself.
 */
'use strict';
const { spawn } = require('node:child_process');

/** @param {Record<string, unknown>} msg */
function send(msg) {
  if (process.connected) process.send?.(msg);
}

/** @param {{ id: number, file: string, args: string[], cwd?: string, env: Record<string, string>, uid?: number, gid?: number, input?: string | Uint8Array }} req */
function start(req) {
  /** @type {import('node:child_process').ChildProcess} */
  let child;
  try {
    child = spawn(req.file, req.args, {
      cwd: req.cwd,
      env: req.env,
      detached: true, // its own process group, so a stop reaches every descendant
      ...(req.uid !== undefined && req.gid !== undefined ? { uid: req.uid, gid: req.gid } : {}),
      stdio: [req.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    send({ id: req.id, ev: 'error', message: String(/** @type {Error} */ (err).message), code: /** @type {NodeJS.ErrnoException} */ (err).code });
    return;
  }
  if (child.pid) send({ id: req.id, ev: 'spawned', pid: child.pid });
  child.stdout?.on('data', (data) => send({ id: req.id, ev: 'out', stream: 'stdout', data }));
  child.stderr?.on('data', (data) => send({ id: req.id, ev: 'out', stream: 'stderr', data }));
  if (child.stdin) {
    child.stdin.on('error', () => undefined); // the process may exit before reading its input
    child.stdin.end(req.input);
  }
  let errored = false;
  child.on('error', (err) => {
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
process.on('disconnect', () => process.exit(0));
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
