/**
 * Removal of a directory tree the agent wrote or ran commands in (its home, its worktree, a gate
 * checkout). Node's `rm` is not enough there: the agent chooses the tree's depth and its modes.
 */
import { runProcessGroup } from './process-group';

/**
 * Removes `dir` with everything in it, with GNU rm: it walks relative to open directories, so a
 * tree of any depth goes (node's `rm` gives up with ENAMETOOLONG), it never follows a symbolic
 * link, and it stays on the tree's file system. A directory the agent made unreadable (mode 000,
 * when the sandbox runs as the worker's own user) is opened up first by `chmod -R`, which follows
 * no link either, so the agent cannot make its tree outlive it. A missing `dir` is fine.
 */
export async function removeTree(dir: string): Promise<void> {
  const rm = () => run('rm', ['-rf', '--one-file-system', '--', dir]);
  try {
    await rm();
  } catch {
    await run('chmod', ['-R', 'u+rwx', '--', dir]).catch(() => undefined);
    await rm();
  }
}

/** Long enough for a tree of millions of files on a slow disk; a stuck removal is retried later. */
const REMOVE_TIMEOUT_MS = 10 * 60_000;

/** Runs a coreutils command through the spawn helper (a fork of the worker itself is costly). */
async function run(file: string, args: string[]): Promise<void> {
  let stderr = '';
  const { exitCode } = await runProcessGroup(file, args, {
    env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' },
    timeoutMs: REMOVE_TIMEOUT_MS,
    onOutput: (chunk, stream) => {
      if (stream === 'stderr' && stderr.length < 2000) stderr += chunk.toString();
    },
  });
  if (exitCode !== 0) throw new Error(`${file} ${args.at(-1)} failed (exit ${String(exitCode)}): ${stderr.trim().split('\n').slice(0, 3).join('; ')}`);
}
