/**
 * Server-Sent Events for `GET /agents/:agentId/events` and `GET /agents/events`.
 *
 * Each connection reads its stream (one agent's, or the global one) from its own last id, so what
 * it sends is exactly the stream: in order, nothing skipped, nothing twice. The SSE id of each
 * event is its stream id; a client that reconnects with `Last-Event-ID` continues right after it.
 * The event feed only wakes connections early; a periodic read (with the keep-alive) covers a
 * feed that fell behind. One agent's stream ends when the run is over and cleaned up: its
 * `phase: done` event, or a final lifecycle event that does not start a cleanup (a forced kill,
 * a run closed through Temporal); a run whose cleanup never reports (terminated through Temporal
 * during it) ends `cleanupWaitMs` after it stopped. A reconnect after that answers 204, which
 * tells an EventSource to stop reconnecting.
 */
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { AgentEvent, StoredAgentEvent } from '../domain/agent-events';
import type { AgentPhase } from '../domain/agent';
import { isTerminal, type AgentStatus } from '../domain/lifecycle';
import type { AgentEventLog } from '../state/agent-events';
import { ApiError } from './errors';
import type { EventFeed } from './event-feed';

export interface EventStreamDeps {
  log: AgentEventLog;
  feed: EventFeed;
  logger: Logger;
  /**
   * Silence after which a keep-alive comment is sent (and the stream re-read).
   * @default 15000
   */
  keepAliveMs?: number;
  /**
   * How long after a run stopped its stream waits for the end of its cleanup (`phase: done`).
   * @default 120000
   */
  cleanupWaitMs?: number;
  /**
   * Aborted when the API stops: every stream ends (a client resumes from its Last-Event-ID on
   * another instance, or once this one is back), else the server would wait on each to close:
   * the global stream never ends, an agent's only after its run.
   */
  closing?: AbortSignal;
  /**
   * How long a write may wait for a client that reads nothing (ORCHESTRATOR_RESPONSE_TIMEOUT_SECONDS)
   * before the stream ends: it held its place and its unsent events for as long as the client stayed.
   * @default 60000
   */
  drainTimeoutMs?: number;
  /** The places for open streams this process has (ORCHESTRATOR_MAX_EVENT_STREAMS); none: no limit. */
  slots?: EventStreamSlots;
  now?: () => number;
}

/** Seconds a client refused for want of a place is told to wait (Retry-After; EventSource reconnects after its own delay). */
const FULL_RETRY_AFTER_SECONDS = 5;

/**
 * The event streams one API process serves at once. Each holds a socket for as long as its client
 * likes and is read again from Valkey on every event of its stream: 1,500 streams on
 * /agents/events made 1,500 XRANGEs per event, and a client leaking streams (one per poll, never
 * closed) slowed Valkey for the workers and every other request.
 */
export class EventStreamSlots {
  private open = 0;

  constructor(readonly max: number) {}

  /** A place, released by calling the function returned (once); `undefined` when all are taken. */
  take(): (() => void) | undefined {
    if (this.open >= this.max) return undefined;
    this.open += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open -= 1;
    };
  }
}

/** Every place for an event stream is taken (503, with Retry-After). */
export class TooManyEventStreamsError extends ApiError {
  constructor(max: number) {
    super(503, 'too_many_event_streams', `${max} event streams are open, as many as this API serves (ORCHESTRATOR_MAX_EVENT_STREAMS); close one or retry later`);
    this.name = 'TooManyEventStreamsError';
  }
}

export type StreamTarget =
  /** One agent: its status, phase and when it stopped, as they were when the client connected. */
  | { kind: 'agent'; agentId: string; status: AgentStatus; phase?: AgentPhase; completedAt?: string }
  | { kind: 'all' };

const PAGE = 100;

/**
 * Serves the stream in one of `deps.slots`' places, held until it ends.
 * @throws TooManyEventStreamsError when every place is taken
 */
export async function serveEventStream(deps: EventStreamDeps, req: Request, res: Response, target: StreamTarget, lastEventId: string | undefined): Promise<void> {
  const release = deps.slots?.take();
  if (deps.slots && !release) {
    res.set('Retry-After', String(FULL_RETRY_AFTER_SECONDS));
    throw new TooManyEventStreamsError(deps.slots.max);
  }
  try {
    await streamEvents(deps, res, target, lastEventId);
  } finally {
    release?.();
  }
}

async function streamEvents(deps: EventStreamDeps, res: Response, target: StreamTarget, lastEventId: string | undefined): Promise<void> {
  const agentId = target.kind === 'agent' ? target.agentId : undefined;
  let lastId = lastEventId ?? (target.kind === 'agent' ? '0' : await deps.log.lastGlobalId());
  let batch: StoredAgentEvent[] | undefined = await deps.log.readAfter(agentId, lastId, PAGE);
  const now = deps.now ?? Date.now;
  const cleanupWaitMs = deps.cleanupWaitMs ?? 120_000;
  const drainTimeoutMs = deps.drainTimeoutMs ?? 60_000;
  // When this stream ends at the latest: set once the run has stopped (its end is then near).
  let endBy: number | undefined;
  if (target.kind === 'agent' && isTerminal(target.status)) {
    endBy = target.phase === 'cleanup' ? cleanupDeadline(target.completedAt, now(), cleanupWaitMs) : now();
  }
  if (batch.length === 0 && endBy !== undefined && now() >= endBy) {
    res.status(204).end(); // the run is over and the client has seen all of it
    return;
  }

  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no', // proxies must not hold events back
  });
  res.flushHeaders();

  const wake = wakeUp();
  const unsubscribe = deps.feed.subscribe((event) => {
    if (agentId === undefined || event.agentId === agentId) wake.notify();
  });
  let closed = false;
  // The response's close, not the request's: a request whose body was read is closed already.
  res.on('close', () => {
    closed = true;
    wake.notify();
  });
  // A client that left during the status lookup or the first read closed before this listener:
  // its 'close' never comes again, and a write to it would wait for a drain that never comes.
  if (res.destroyed) closed = true;
  const endOnClosing = () => {
    closed = true;
    wake.notify();
  };
  if (deps.closing?.aborted) closed = true;
  deps.closing?.addEventListener('abort', endOnClosing, { once: true });

  try {
    for (;;) {
      batch ??= await deps.log.readAfter(agentId, lastId, PAGE);
      let finished = false;
      for (const { id, event } of batch) {
        if (closed) return;
        await write(res, drainTimeoutMs, `id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
        lastId = id;
        if (target.kind !== 'agent') continue;
        const end = endOfRun(event);
        if (end === 'now') finished = true;
        else if (end === 'after-cleanup') endBy = Math.min(endBy ?? Infinity, cleanupDeadline(event.at, now(), cleanupWaitMs));
      }
      const full = batch.length === PAGE;
      batch = undefined;
      if (full) continue;
      // Its last event just went out, or its cleanup did not report in time.
      if (finished || (endBy !== undefined && now() >= endBy)) return;
      if (closed) return;
      const keepAliveMs = deps.keepAliveMs ?? 15_000;
      const waitMs = endBy === undefined ? keepAliveMs : Math.max(1, Math.min(keepAliveMs, endBy - now()));
      if (!(await wake.wait(waitMs))) {
        if (endBy !== undefined && now() >= endBy) return;
        if (closed) return;
        await write(res, drainTimeoutMs, ': keep-alive\n\n');
      }
    }
  } catch (err) {
    // Valkey went away mid-stream: end it; the client resumes from its Last-Event-ID.
    if (!closed) deps.logger.warn({ err, agentId }, 'event stream ended by an error');
  } finally {
    deps.closing?.removeEventListener('abort', endOnClosing);
    unsubscribe();
    wake.cancel();
    if (!res.writableEnded) res.end();
  }
}

/**
 * What `event` says about the end of the agent's stream: its cleanup is over (`phase: done`, or a
 * final status written with no cleanup to come), or the run stopped and its cleanup starts.
 */
function endOfRun(event: AgentEvent): 'now' | 'after-cleanup' | undefined {
  if (event.type === 'phase') return event.phase === 'done' ? 'now' : undefined;
  if (event.type !== 'lifecycle' || !isTerminal(event.to)) return undefined;
  return event.phase === 'cleanup' ? 'after-cleanup' : 'now';
}

function cleanupDeadline(stoppedAt: string | undefined, nowMs: number, waitMs: number): number {
  const at = stoppedAt ? Date.parse(stoppedAt) : NaN;
  return (Number.isFinite(at) ? Math.min(at, nowMs) : nowMs) + waitMs;
}

/**
 * Writes, waiting for the socket to drain when the client reads slower than events come; a client
 * that has taken nothing for `drainTimeoutMs` loses the stream (it resumes from its Last-Event-ID).
 */
async function write(res: Response, drainTimeoutMs: number, chunk: string): Promise<void> {
  if (res.write(chunk) || res.destroyed) return; // a destroyed response neither drains nor closes again
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => res.destroy(), drainTimeoutMs); // 'close' follows
    const done = () => {
      clearTimeout(timer);
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/** A wake-up that is not lost when it comes before the wait. */
function wakeUp() {
  let pending = false;
  let resolve: ((woken: boolean) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  return {
    notify() {
      if (resolve) {
        clearTimeout(timer);
        const r = resolve;
        resolve = undefined;
        r(true);
      } else {
        pending = true;
      }
    },
    /** True when notified, false after `ms` without a notification. */
    wait(ms: number): Promise<boolean> {
      if (pending) {
        pending = false;
        return Promise.resolve(true);
      }
      return new Promise<boolean>((r) => {
        resolve = r;
        timer = setTimeout(() => {
          resolve = undefined;
          r(false);
        }, ms);
      });
    },
    cancel() {
      clearTimeout(timer);
      resolve?.(false);
      resolve = undefined;
    },
  };
}
