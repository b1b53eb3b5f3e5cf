/**
 * Errors the git activities throw. Each names a `type` from domain/failures.ts, which decides
 * whether a retry can help.
 */
import { shortPath } from '../../domain/agent-events';
import { plainText } from '../../domain/plain-text';
import { TypedError } from '../../domain/typed-error';
import { redactSecrets } from '../../scanner';

export abstract class GitWorkspaceError extends TypedError {}

/** Input that must never reach git: a bad URL, branch, task id or agent id. */
export class GitInputError extends GitWorkspaceError {
  readonly type = 'InvalidInput';
}

/** The agent branch no longer merges cleanly into its target; `conflicts` lists the paths. */
export class MergeConflictError extends GitWorkspaceError {
  readonly type = 'MergeConflict';
  constructor(readonly conflicts: string[]) {
    super(`agent branch conflicts with its target in ${conflicts.length} path(s): ${conflicts.slice(0, 20).join(', ')}`);
  }
}

/** A git process failed; usually transient (network, a lock held by a crashed process). */
export class GitCommandFailedError extends GitWorkspaceError {
  readonly type = 'GitCommandFailed';
  constructor(
    message: string,
    readonly subcommand: string,
    readonly exitCode: number | null,
    /** What git wrote to stderr, credentials scrubbed; what remote-errors.ts reads. */
    readonly stderr = '',
  ) {
    super(message);
  }
}

/**
 * `git add` refused the worktree as it is, and would the same way on every attempt (add-all.ts):
 * a path git may not store (`.GIT`, `GIT~1`), a tracked file replaced by a FIFO, a file it cannot
 * open, a working-tree-encoding it cannot apply. `problems` are git's own words, one a path.
 */
export class WorktreeUnstageableError extends GitWorkspaceError {
  readonly type = 'WorktreeUnstageable';
  constructor(readonly problems: string[]) {
    // The agent names these paths: made plain and redacted before each is cut, so no cut leaves part of a secret.
    const shown = problems.slice(0, 10).map((p) => shortPath(redactSecrets(plainText(p))));
    super(`git cannot stage the worktree as it is: ${shown.join('; ')}${problems.length > 10 ? `; and ${problems.length - 10} more` : ''}`);
  }
}

/** The remote does not exist, or is not a git repository. Asking again gets the same answer. */
export class RepositoryNotFoundError extends GitWorkspaceError {
  readonly type = 'RepositoryNotFound';
}

/** The base branch (or the branch a fetch names) is not on the remote. */
export class BranchNotFoundError extends GitWorkspaceError {
  readonly type = 'BranchNotFound';
}

/** The remote refused our credentials, or needs credentials and none are configured. */
export class GitAuthFailedError extends GitWorkspaceError {
  readonly type = 'GitAuthFailed';
}

/** The caller's AbortSignal fired (activity cancelled) while git was running. */
export class GitAbortedError extends GitWorkspaceError {
  readonly type = 'GitAborted';
  constructor(subcommand: string) {
    super(`git ${subcommand} was aborted`);
  }
}

/** The agent's worktree is not on this host's disk any more (the disk was wiped or replaced). */
export class WorkspaceLostError extends GitWorkspaceError {
  readonly type = 'WorkspaceLost';
}
