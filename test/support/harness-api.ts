/**
 * The REST API in this process over a test harness (harness.ts): the app on a random local
 * port, wired to the harness's Temporal client, Valkey and configuration, with its event feed.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp } from '../../api/app';
import { startEventFeed } from '../../api/event-feed';
import { AgentStateStore } from '../../state/agent-state-store';
import type { Harness } from './harness';

/** Longer than any answer the API owes a test (a kill-all waits for its deadline at most). */
const REQUEST_TIMEOUT_MS = 120_000;

export interface ApiResponse {
  status: number;
  // Tests read arbitrary fields; the shape is what is under test.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface HarnessApi {
  baseUrl: string;
  store: AgentStateStore;
  /** A JSON request with the API key (unless `headers` replaces it). */
  request(method: string, urlPath: string, options?: { body?: unknown; headers?: Record<string, string> }): Promise<ApiResponse>;
  close(): Promise<void>;
}

export async function startHarnessApi(h: Harness, apiKey: string): Promise<HarnessApi> {
  const store = new AgentStateStore(h.redis, { terminalTtlSeconds: 3600, namespace: h.config.TEMPORAL_NAMESPACE, taskQueue: h.config.TEMPORAL_TASK_QUEUE });
  const eventFeed = startEventFeed(h.redis, { namespace: h.config.TEMPORAL_NAMESPACE });
  const app = createApp({ client: h.client, redis: h.redis, store, config: h.config, logger: pino({ level: 'silent' }), eventFeed });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    store,
    async request(method, urlPath, options = {}) {
      // A bounded wait: a request the API never answers fails here, named, not as a test timeout.
      const res = await fetch(`${baseUrl}${urlPath}`, {
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        method,
        headers: { 'X-API-Key': apiKey, ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }), ...options.headers },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      }).catch((err: unknown) => {
        throw new Error(`${method} ${urlPath}: ${err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS} ms` : String(err)}`);
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await eventFeed.stop();
    },
  };
}
