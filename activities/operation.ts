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
