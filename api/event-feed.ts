/**
 * One tail of the global event stream (of the API's Temporal namespace) per API process. It feeds the metrics and wakes the SSE
 * connections whose agent (or whose "all agents" stream) has news; each connection then reads its
 * own stream from its own last id, so what a client receives never depends on this tail keeping up.
 * Blocking reads need a connection of their own: the tail uses one duplicate of the API's client.
 */
import type Redis from 'ioredis';
import type { AgentEvent } from '../domain/agent-events';
import { decodeEntry } from '../state/agent-events';
import { keys } from '../state/keys';

export type EventListener = (event: AgentEvent, id: string) => void;

export interface EventFeed {
  /** Called for every event appended after the feed started; returns an unsubscribe function. */
  subscribe(listener: EventListener): () => void;
  stop(): Promise<void>;
}

export interface EventFeedOptions {
  /**
   * How long one blocking read waits before it is issued again.
   * @default 5000
   */
  blockMs?: number;
  /**
   * Pause after a failed read (Valkey away) before the next try.
   * @default 1000
   */
  retryDelayMs?: number;
  onError?: (err: unknown) => void;
  /**
   * The Temporal namespace whose global stream is tailed (keys.ts).
   * @default the default namespace
   */
  namespace?: string;
}

export function startEventFeed(redis: Redis, options: EventFeedOptions = {}): EventFeed {
  const blockMs = options.blockMs ?? 5000;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const globalKey = keys.allEvents(options.namespace);
  const listeners = new Set<EventListener>();
  // Retrying requests on a blocking connection would only queue them behind the block.
  const tail = redis.duplicate({ maxRetriesPerRequest: null, lazyConnect: false });
  tail.on('error', () => undefined); // reported through the failed reads below
  let stopped = false;
  // A read queued while Valkey is away is never settled by disconnect() (ioredis flushes its queue
  // only when a live connection closes): the loop waits for it or for stop(), whichever comes first.
  let wake!: () => void;
  const stopping = new Promise<undefined>((resolve) => (wake = () => resolve(undefined)));
  const untilStopped = <T>(read: Promise<T>) => Promise.race([read, stopping]);

  const loop = async () => {
    // A concrete id, not '$': an event appended between two reads must not be skipped.
    let lastId: string | undefined;
    while (!stopped) {
      try {
        if (lastId === undefined) {
          const newest = await untilStopped(tail.xrevrange(globalKey, '+', '-', 'COUNT', 1));
          if (stopped) return;
          lastId = newest?.[0]?.[0] ?? '0';
        }
        const reply = await untilStopped(tail.xread('COUNT', 500, 'BLOCK', blockMs, 'STREAMS', globalKey, lastId));
        if (stopped) return;
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            lastId = id;
            const event = decodeEntry(fields);
            if (event) for (const listener of listeners) listener(event, id);
          }
        }
      } catch (err) {
        if (stopped) return;
        options.onError?.(err);
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
      }
    }
  };
  const running = loop();

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      stopped = true;
      wake();
      tail.disconnect();
      await running;
    },
  };
}
