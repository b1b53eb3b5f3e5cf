/**
 * Errors the git activities throw. Each names a `type` from domain/failures.ts, which decides
 * whether a retry can help.
 */
import { TypedError } from '../../domain/typed-error';

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
  ) {
    super(message);
  }
}

/** The caller's AbortSignal fired (activity cancelled) while git was running. */
export class GitAbortedError extends GitWorkspaceError {
  readonly type = 'GitAborted';
  constructor(subcommand: string) {
    super(`git ${subcommand} was aborted`);
  }
}
