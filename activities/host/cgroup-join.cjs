// @ts-check
/**
 * Puts a bubblewrap sandbox in its pids cgroup before it runs anything, with no process of ours in
 * between: bwrap started with `--info-fd 3 --block-fd 4` clones its sandbox child, reports the
 * child's pid on fd 3, and the child waits on fd 4 before it starts the command. The child is
 * moved into the cgroup in that wait, so every process of the command is born there. (A shell that
 * joined first and then exec'd setpriv, prlimit and bwrap cost two execs, ~14 ms, per command.)
 *
 * Plain JavaScript with node's own modules: the spawn helper (spawn-helper.cjs) requires it, and
 * so does the worker's direct launcher (launch.ts).
 */
'use strict';
const { writeFile } = require('node:fs');
const path = require('node:path');

/** The descriptors bwrap is given; the launcher opens them as pipes 3 and 4. */
const INFO_FD = 3;
const BLOCK_FD = 4;
/** The `code` of the error a launcher reports when the sandbox could not be moved (it never ran). */
const JOIN_FAILED = 'ECGROUPJOIN';
/** bwrap's info is a few hundred bytes of JSON; more is not bwrap talking. */
const MAX_INFO_BYTES = 64 * 1024;

/**
 * Moves the sandbox child of `child` (bwrap, maybe behind prlimit's exec) into cgroup `dir`, then
 * lets it go on. `done` is called once: with an error (code ECGROUPJOIN) when the child could not
 * be moved, after the process group is killed (the command must not run outside its cgroup);
 * without one when it was moved, or when bwrap ended before it cloned (its own exit says why).
 *
 * The wait on fd 4 ends at the first byte or at end of file, so on failure the pipe is never
 * closed by us before the kill: bwrap would read the end of file and start the command.
 *
 * @param {import('node:child_process').ChildProcess} child
 * @param {string} dir
 * @param {(err?: Error) => void} done
 */
function joinSandboxCgroup(child, dir, done) {
  const info = /** @type {import('node:stream').Readable} */ (child.stdio[INFO_FD]);
  const block = /** @type {import('node:stream').Writable} */ (child.stdio[BLOCK_FD]);
  block.on('error', () => undefined); // bwrap may be gone before it reads
  let text = '';
  let finished = false;
  /** @param {string} [failure] */
  const finish = (failure) => {
    if (finished) return;
    finished = true;
    if (failure === undefined) return done();
    // Still in bwrap's process group (its --new-session comes after the wait), and the sandbox
    // dies with bwrap (--die-with-parent) in any case.
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone already
    }
    done(Object.assign(new Error(failure), { code: JOIN_FAILED }));
  };
  info.on('data', (/** @type {Buffer} */ chunk) => {
    text += chunk.toString('utf8');
    if (text.length > MAX_INFO_BYTES) finish('bwrap wrote more than its info on the info descriptor');
  });
  info.on('error', (err) => finish(`cannot read bwrap's info: ${err.message}`));
  // bwrap's parent writes the info once the child is cloned, then closes the descriptor.
  info.on('end', () => {
    if (finished) return;
    const pid = /"child-pid":\s*(\d+)/.exec(text)?.[1];
    // No child: bwrap failed before it cloned and exits with its own error.
    if (pid === undefined) return finish();
    // r+: the kernel's file, never a new plain one (a directory that is no cgroup limits nothing).
    // Asynchronous: a move waits out an RCU grace period (~10 ms), which must not stall every other
    // process start of the helper.
    writeFile(path.join(dir, 'cgroup.procs'), pid, { flag: 'r+' }, (err) => {
      if (err) return finish(`cannot move the sandbox (pid ${pid}) into its pids cgroup ${dir}: ${err.message}`);
      if (finished) return;
      block.end('x');
      finish();
    });
  });
}

/** The stdio of a process that joins a cgroup this way: bwrap's info and block pipes after the usual three. */
function cgroupStdio(/** @type {'ignore' | 'pipe'} */ stdin) {
  return /** @type {const} */ ([stdin, 'pipe', 'pipe', 'pipe', 'pipe']);
}

module.exports = { joinSandboxCgroup, cgroupStdio, INFO_FD, BLOCK_FD, JOIN_FAILED };
