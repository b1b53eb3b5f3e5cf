/**
 * Errors the sandbox raises. Each carries a `type` that the activity layer copies into a
 * non-retryable or retryable `ApplicationFailure`, so the workflow can branch on it.
 */
import { FAILURE_TYPES } from '../../domain/agent';
import { TypedError } from '../typed-error';

/** Base class: every sandbox failure names its `type`. */
export abstract class SandboxError extends TypedError {}

/** The Docker engine did not answer (socket missing, refused, timed out). Retryable. */
export class SandboxUnavailableError extends SandboxError {
  readonly type = FAILURE_TYPES.sandboxUnavailable;
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The configured image is not present; no registry can be reached, so it must be built. */
export class SandboxImageMissingError extends SandboxError {
  readonly type = 'SandboxImageMissing';
  readonly retryable = false;
  constructor(readonly image: string) {
    super(`sandbox image ${image} is not present; build it with images/build-sandbox-image.sh`);
  }
}

/** The container could not be created or started (bad workspace, engine refused the spec). */
export class SandboxStartFailedError extends SandboxError {
  readonly type = 'SandboxStartFailed';
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A command could not be run at all (the container is gone or stopped, the exec was refused).
 * A command that runs and exits non-zero is a result, not this error.
 */
export class SandboxCommandFailedError extends SandboxError {
  readonly type = 'SandboxCommandFailed';
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Input that can never work (an agent id Docker cannot name a container after). */
export class SandboxInvalidInputError extends SandboxError {
  readonly type = FAILURE_TYPES.invalidInput;
  readonly retryable = false;
  constructor(message: string) {
    super(message);
  }
}

/** Some containers could not be removed; `removed` says how many were. */
export class SandboxCleanupFailedError extends SandboxError {
  readonly type = 'SandboxCleanupFailed';
  readonly retryable = true;
  constructor(
    readonly removed: number,
    readonly failures: readonly unknown[],
  ) {
    super(
      `removed ${removed} container(s), ${failures.length} failed: ${failures.map(describe).join('; ')}`,
    );
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
