/**
 * Errors the agent operations throw. Each carries the HTTP status and the stable `code` that
 * clients see in `{ error: { code, message, details } }`; the HTTP layer only reads them.
 */

/** An error meant for the API client: its message is safe to show. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A request that fails validation (400), naming each bad field. */
export class InvalidRequestError extends ApiError {
  constructor(message: string, details?: unknown) {
    super(400, 'validation_failed', message, details);
    this.name = 'InvalidRequestError';
  }
}

/** No agent with this id, in Valkey or in Temporal (404). */
export class AgentNotFoundError extends ApiError {
  constructor(readonly agentId: string) {
    super(404, 'not_found', `agent ${agentId} not found`);
    this.name = 'AgentNotFoundError';
  }
}

/** A kill that could not be completed (the workflow may still run, or its containers may remain). */
export class KillFailedError extends ApiError {
  constructor(
    readonly agentId: string,
    message: string,
  ) {
    super(502, 'kill_failed', message, { agentId });
    this.name = 'KillFailedError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
