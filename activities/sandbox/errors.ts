/**
 * Errors the sandbox raises. Each names a `type` from domain/failures.ts, which decides whether
 * a retry can help; a failure that can be either (an engine hiccup, or a container that is
 * gone) is two classes.
 */
import { TypedError } from '../../domain/typed-error';

/** Base class: every sandbox failure names its `type`. */
export abstract class SandboxError extends TypedError {}

/** The Docker engine did not answer (socket missing, refused, timed out). */
export class SandboxUnavailableError extends SandboxError {
  readonly type = 'SandboxUnavailable';
}

/** The configured image is not present; no registry can be reached, so it must be built. */
export class SandboxImageMissingError extends SandboxError {
  readonly type = 'SandboxImageMissing';
  constructor(readonly image: string) {
    super(`sandbox image ${image} is not present; build it with images/build-sandbox-image.sh`);
  }
}

/** The engine could not create or start the container (transient: a retry may succeed). */
export class SandboxStartFailedError extends SandboxError {
  readonly type = 'SandboxStartFailed';
}

/** The workspace cannot be mounted (missing or unreadable): starting again cannot help. */
export class SandboxWorkspaceUnusableError extends SandboxError {
  readonly type = 'SandboxWorkspaceUnusable';
}

/** The engine refused to run a command for a reason that may pass (a retry may succeed). */
export class SandboxCommandFailedError extends SandboxError {
  readonly type = 'SandboxCommandFailed';
}

/**
 * The container stopped or was removed while in use. A command that runs and exits non-zero is
 * a result, not this error.
 */
export class SandboxGoneError extends SandboxError {
  readonly type = 'SandboxGone';
}

/** Input that can never work (an agent id Docker cannot name a container after). */
export class SandboxInvalidInputError extends SandboxError {
  readonly type = 'InvalidInput';
}

/** Some containers could not be removed; `removed` says how many were. */
export class SandboxCleanupFailedError extends SandboxError {
  readonly type = 'SandboxCleanupFailed';
  constructor(
    readonly removed: number,
    readonly failures: readonly unknown[],
  ) {
    super(`removed ${removed} container(s), ${failures.length} failed: ${failures.map(describe).join('; ')}`);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
