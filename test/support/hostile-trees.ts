/**
 * Trees an agent can make in its worktree with a few shell commands, to attack the host's walks
 * over it, and child processes limited the way a worker can be, to see what those walks cost.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A directory `levels` deep below `root` (`d/d/…/d`), as the agent's shell loop of `mkdir d; cd d`
 * makes it: deeper than a path may be long, so made relative to each level in turn.
 */
export function makeDeepTree(root: string, levels: number, leafFile = 'f.txt'): void {
  const make = 'import os,sys\nos.chdir(sys.argv[1])\nfor _ in range(int(sys.argv[2])):\n  os.mkdir("d"); os.chdir("d")\nopen(sys.argv[3],"w").write("bottom\\n")\n';
  execFileSync('python3', ['-c', make, root, String(levels), leafFile]);
}

/** `count` worktrees `dir/<prefix>-<i>`, each holding a tree `levels` deep (several hostile agents on one worker); their paths. */
export function makeDeepTrees(dir: string, prefix: string, count: number, levels: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const root = path.join(dir, `${prefix}-${i}`);
    mkdirSync(root);
    makeDeepTree(root, levels);
    return root;
  });
}

/** `count` empty files with 250-byte names in `dir`, as a `touch` loop makes them. */
export function makeManyEntries(dir: string, count: number): void {
  const make = 'import os,sys\nos.chdir(sys.argv[1])\nfor i in range(int(sys.argv[2])):\n  os.close(os.open("n"*240+"%010d"%i, os.O_CREAT|os.O_WRONLY, 0o644))\n';
  execFileSync('python3', ['-c', make, dir, String(count)]);
}

/** A scratch directory in memory when the machine has one (a hundred thousand files in seconds), else in the temporary directory. */
export function scratchDir(prefix: string): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return mkdtempSync(path.join('/dev/shm', prefix));
  } catch {
    return mkdtempSync(path.join(os.tmpdir(), prefix));
  }
}

/**
 * Runs `script` (CommonJS, TypeScript modules required through tsx) in a child process allowed
 * `maxDescriptors` open files, as a worker with that limit would be, and returns what it printed.
 */
export function runWithDescriptorLimit(maxDescriptors: number, script: string): string {
  return execFileSync('prlimit', [`--nofile=${maxDescriptors}:${maxDescriptors}`, process.execPath, require.resolve('tsx/cli'), '-e', script], { encoding: 'utf8' });
}

/** Runs `script` as above in a child process whose JavaScript heap may grow to `heapMb` only; its output, or how it died. */
export function runWithHeapLimit(heapMb: number, script: string): string {
  const run = spawnSync(process.execPath, [`--max-old-space-size=${heapMb}`, '--require', 'tsx/cjs', '-e', script], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : `died (${run.signal ?? `exit ${run.status}`}): ${run.stderr.split('\n').find((l) => /heap|memory/i.test(l)) ?? run.stderr.slice(-300)}`;
}
