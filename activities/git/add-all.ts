/**
 * `git add --all` over a worktree something may still be writing: a process the agent left running
 * can delete a file between git's directory scan and its stat of that file, and git then dies with
 * "unable to stat '<file>': No such file or directory". Both sandboxes end every process with its
 * command (docker-runner.ts sweeps the container), so only the `none` runtime, or a sweep that could
 * not run, leaves such a writer. That is a race, not a fault of the tree: the add is run again, a
 * few times, and any other failure is thrown at once.
 */
import { GitCommandFailedError } from './errors';

const VANISHED_DURING_SCAN = /unable to stat '.*': No such file or directory/;
/** Attempts in all; a writer that wins every one of them fails the add. */
export const ADD_ATTEMPTS = 4;

export async function addAll<T>(run: (args: string[]) => Promise<T>, args: string[]): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run(args);
    } catch (err) {
      if (attempt >= ADD_ATTEMPTS || !(err instanceof GitCommandFailedError && VANISHED_DURING_SCAN.test(err.stderr))) throw err;
    }
  }
}
