/**
 * Errors the git activities throw. Each carries a `type` the activity layer copies onto an
 * `ApplicationFailure`, and `retryable: false` for failures a retry cannot fix (bad input, policy).
 */
import { FAILURE_TYPES } from '../../domain/agent';
import { TypedError } from '../typed-error';

/** Failure types specific to git, alongside the shared ones in FAILURE_TYPES. */
export const GIT_FAILURE_TYPES = {
  commandFailed: 'GitCommandFailed',
  aborted: 'GitAborted',
} as const;

export abstract class GitWorkspaceError extends TypedError {}

/** Input that must never reach git: a bad URL, branch, task id or agent id. */
export class GitInputError extends GitWorkspaceError {
  readonly type = FAILURE_TYPES.invalidInput;
  readonly retryable = false;
  constructor(message: string) {
    super(message);
  }
}

/** A path that would resolve outside the workspace root. */
export class WorkspacePathError extends GitWorkspaceError {
  readonly type = FAILURE_TYPES.pathOutsideWorkspace;
  readonly retryable = false;
  constructor(message: string) {
    super(message);
  }
}

/** The agent branch no longer merges cleanly into its target; `conflicts` lists the paths. */
export class MergeConflictError extends GitWorkspaceError {
  readonly type = FAILURE_TYPES.mergeConflict;
  readonly retryable = false;
  constructor(readonly conflicts: string[]) {
    super(`agent branch conflicts with its target in ${conflicts.length} path(s): ${conflicts.slice(0, 20).join(', ')}`);
  }
}

/** A git process failed; usually transient (network, a lock held by a crashed process). */
export class GitCommandFailedError extends GitWorkspaceError {
  readonly type = GIT_FAILURE_TYPES.commandFailed;
  readonly retryable = true;
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
  readonly type = GIT_FAILURE_TYPES.aborted;
  readonly retryable = false;
  constructor(subcommand: string) {
    super(`git ${subcommand} was aborted`);
  }
}
