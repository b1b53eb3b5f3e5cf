/**
 * A directory `levels` deep below `root` (`d/d/…/d`), as the agent's shell loop of `mkdir d; cd d`
 * makes it: deeper than a path may be long, so made relative to each level in turn.
 */
import { execFileSync } from 'node:child_process';

export function makeDeepTree(root: string, levels: number, leafFile = 'f.txt'): void {
  const make = 'import os,sys\nos.chdir(sys.argv[1])\nfor _ in range(int(sys.argv[2])):\n  os.mkdir("d"); os.chdir("d")\nopen(sys.argv[3],"w").write("bottom\\n")\n';
  execFileSync('python3', ['-c', make, root, String(levels), leafFile]);
}

/**
 * Runs `script` (CommonJS, run by tsx) in a child process allowed `maxDescriptors` open files, as
 * a worker with that limit would be, and returns what it printed.
 */
export function runWithDescriptorLimit(maxDescriptors: number, script: string): string {
  return execFileSync('prlimit', [`--nofile=${maxDescriptors}:${maxDescriptors}`, process.execPath, require.resolve('tsx/cli'), '-e', script], { encoding: 'utf8' });
}
