/**
 * An activity's heartbeats start a second after the activity does.
 *
 * The SDK sends an activity's first heartbeat at once and throttles the later ones; each one is
 * a write on the server (its mutable state). Most of a run's activities (a turn, a set-up, a
 * cleanup) end within a second, and a heartbeat then tells the server nothing the completion
 * does not: at 20 agents that was one server write per activity, about a tenth of the server's
 * work per run. Holding the first heartbeat for a second keeps what heartbeats are for:
 *  - a cancellation (a kill) arrives in a heartbeat's answer; with the 1 s throttle it already
 *    reached a command about a second after the request, and still does: the held heartbeat
 *    leaves at the one-second mark, with the latest details;
 *  - a lost host is noticed after the heartbeat timeout (30 s or more), far beyond the hold.
 */
import { Context } from '@temporalio/activity';
import type { AnyActivity } from './failures';

/** How long an activity's first heartbeat is held. Well under every heartbeat timeout (30 s and up). */
export const FIRST_HEARTBEAT_AFTER_MS = 1000;

class HeldHeartbeat {
  private open = false;
  private held: { details: unknown } | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly send: (details?: unknown) => void,
    holdMs: number,
  ) {
    this.timer = setTimeout(() => {
      this.open = true;
      if (this.held) this.send(this.held.details);
      this.held = undefined;
    }, holdMs);
  }

  beat(details?: unknown): void {
    if (this.open) this.send(details);
    else this.held = { details };
  }

  /** The activity ended: nothing held is sent. */
  end(): void {
    clearTimeout(this.timer);
    this.held = undefined;
  }

  /**
   * The attempt failed: what it held is sent now, as the SDK sends the last heartbeat of a failed
   * activity, so the next attempt (and a timeout's failure) still carries its details.
   */
  flush(): void {
    if (this.held) this.send(this.held.details);
    this.end();
  }
}

const held = new WeakMap<Context, HeldHeartbeat>();

/** Runs one activity execution with its heartbeats held for `holdMs` (see above). */
export async function withFirstHeartbeatHeld<T>(ctx: Context | undefined, run: () => Promise<T>, holdMs = FIRST_HEARTBEAT_AFTER_MS): Promise<T> {
  // Outside an activity, in a local activity (its heartbeats go nowhere), or inside an execution already held.
  if (!ctx || ctx.info.isLocal || held.has(ctx)) return run();
  const heartbeat = new HeldHeartbeat((details) => ctx.heartbeat(details), holdMs);
  held.set(ctx, heartbeat);
  try {
    const result = await run();
    heartbeat.end();
    return result;
  } catch (err) {
    heartbeat.flush();
    throw err;
  } finally {
    held.delete(ctx);
  }
}

/** Wraps every activity so its first heartbeat is held (`withFirstHeartbeatHeld`). */
export function holdFirstHeartbeats<T extends Record<string, AnyActivity>>(activities: T): T {
  const wrapped: Record<string, AnyActivity> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = (...args: unknown[]) => withFirstHeartbeatHeld(activityContext(), () => fn(...args));
  }
  return wrapped as T;
}

/** The running activity's context; undefined when called outside one (a direct call in a test). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** The heartbeat to use in `ctx`: held when its execution runs under `withFirstHeartbeatHeld`, else the SDK's own. */
export function heartbeatOf(ctx: Context): (details?: unknown) => void {
  const heartbeat = held.get(ctx);
  return heartbeat ? (details) => heartbeat.beat(details) : (details) => ctx.heartbeat(details);
}
