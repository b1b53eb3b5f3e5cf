/**
 * Server-Sent Events for `GET /agents/:agentId/events` and `GET /agents/events`.
 *
 * Each connection reads its stream (one agent's, or the global one) from its own last id, so what
 * it sends is exactly the stream: in order, nothing skipped, nothing twice. The SSE id of each
 * event is its stream id; a client that reconnects with `Last-Event-ID` continues right after it.
 * The event feed only wakes connections early; a periodic read (with the keep-alive) covers a
 * feed that fell behind. One agent's stream ends after its final lifecycle event; a reconnect
 * after that answers 204, which tells an EventSource to stop reconnecting.
 */
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { AgentEvent, StoredAgentEvent } from '../domain/agent-events';
import { isTerminal, type AgentStatus } from '../domain/lifecycle';
import type { AgentEventLog } from '../state/agent-events';
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
}

export type StreamTarget =
  /** One agent: `status` is what the agent's status was when the client connected. */
  | { kind: 'agent'; agentId: string; status: AgentStatus }
  | { kind: 'all' };

const PAGE = 100;

export async function serveEventStream(deps: EventStreamDeps, req: Request, res: Response, target: StreamTarget, lastEventId: string | undefined): Promise<void> {
  const agentId = target.kind === 'agent' ? target.agentId : undefined;
  let lastId = lastEventId ?? (target.kind === 'agent' ? '0' : await deps.log.lastGlobalId());
  let batch: StoredAgentEvent[] | undefined = await deps.log.readAfter(agentId, lastId, PAGE);
  const endsWithRun = target.kind === 'agent' && isTerminal(target.status);
  if (batch.length === 0 && endsWithRun) {
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

  try {
    for (;;) {
      batch ??= await deps.log.readAfter(agentId, lastId, PAGE);
      let finished = false;
      for (const { id, event } of batch) {
        if (closed) return;
        await write(res, `id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
        lastId = id;
        if (target.kind === 'agent' && isFinal(event)) finished = true;
      }
      const full = batch.length === PAGE;
      batch = undefined;
      if (full) continue;
      // The run was already over when the client connected, or its final event just went out.
      if (target.kind === 'agent' && (finished || endsWithRun)) return;
      if (closed) return;
      if (!(await wake.wait(deps.keepAliveMs ?? 15_000))) {
        if (closed) return;
        await write(res, ': keep-alive\n\n');
      }
    }
  } catch (err) {
    // Valkey went away mid-stream: end it; the client resumes from its Last-Event-ID.
    if (!closed) deps.logger.warn({ err, agentId }, 'event stream ended by an error');
  } finally {
    unsubscribe();
    wake.cancel();
    if (!res.writableEnded) res.end();
  }
}

function isFinal(event: AgentEvent): boolean {
  return event.type === 'lifecycle' && isTerminal(event.to);
}

/** Writes, waiting for the socket to drain when the client reads slower than events come. */
async function write(res: Response, chunk: string): Promise<void> {
  if (res.write(chunk) || res.destroyed) return; // a destroyed response neither drains nor closes again
  await new Promise<void>((resolve) => {
    const done = () => {
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
