/** The current activity's cancellation and heartbeat, in the shape the long operations take. */
import { Context } from '@temporalio/activity';
import { heartbeatOf } from './first-heartbeat';

export interface Operation {
  /** Fires when the activity is cancelled (a kill, a timeout, the worker shutting down). */
  signal: AbortSignal;
  /** A bare heartbeat, for `onProgress` callbacks that run about once a second. */
  onProgress: () => void;
  heartbeat: (details?: unknown) => void;
}

export function currentOperation(): Operation {
  const ctx = Context.current();
  const heartbeat = heartbeatOf(ctx);
  return { signal: ctx.cancellationSignal, onProgress: () => heartbeat(), heartbeat };
}

/**
 * Whether a cancellation is the run's own workflow asking (a kill, the wall-time budget): it will
 * read what the activity returns. Not a closed workflow (`NOT_FOUND`: terminated, say by a forced
 * kill, which recorded `killed` already), a timeout or a worker shutting down. The SDK aborts the
 * signal with a CancelledFailure whose message is the reason.
 */
export function cancelledByWorkflow(signal: AbortSignal): boolean {
  return signal.aborted && (signal.reason as { message?: unknown } | undefined)?.message === 'CANCELLED';
}
