/**
 * Errors the gate activities throw. Each names a `type` from domain/failures.ts, which decides
 * whether a retry can help.
 */
import { TypedError } from '../../domain/typed-error';

export abstract class GateError extends TypedError {}

/** A gate list or profile that names something that is not a gate (bad spawn request). */
export class InvalidGateSelectionError extends GateError {
  readonly type = 'InvalidInput';
}

/**
 * A reviewer spawned without `context.baseBranch` whose remote names no default branch to review
 * against, names the branch under review itself, an agent's branch, or one that already holds the
 * whole branch under review; or one given the branch under review as its `context.baseBranch`.
 * Its gates and its diff would be the branch's own (another agent's): the coordinator has to say
 * what the branch is compared with.
 */
export class NoReviewBaseError extends GateError {
  readonly type = 'InvalidInput';
  constructor(branch: string, base: string | undefined, why?: 'agent' | 'holds' | 'given') {
    const reason =
      base === undefined
        ? "the remote's HEAD names no default branch"
        : why === 'agent'
          ? `the remote's default branch "${base}" is an agent's branch`
          : why === 'holds'
            ? `the remote's default branch "${base}" already holds all of it`
            : why === 'given'
              ? `context.baseBranch names the branch under review itself`
              : `the remote's default branch is "${branch}" itself`;
    super(`no base to review "${branch}" against: ${reason}; pass context.baseBranch, the branch it is to be compared with`);
  }
}

/**
 * The repository's gate configuration (`.orchestrator/gates.json` or `package.json`) cannot be
 * read as one. Retrying reads the same file, so it is not retryable.
 */
export class InvalidGateConfigError extends GateError {
  readonly type = 'InvalidGateConfig';
  constructor(
    /** Workspace-relative file the problem is in. */
    readonly file: string,
    /** Dotted path of the offending field, when there is one. */
    readonly field: string | undefined,
    reason: string,
  ) {
    super(`${file}: ${field ? `${field}: ` : ''}${reason}`);
  }
}

/** The coordinator could not be reached or answered "not now" (network, timeout, 5xx, 408, 429). */
export class CoordinatorUnavailableError extends GateError {
  readonly type = 'CoordinatorUnavailable';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The coordinator refused the request (4xx) or answered with a body that is not a verdict. */
export class CoordinatorRejectedError extends GateError {
  readonly type = 'CoordinatorRejected';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}
