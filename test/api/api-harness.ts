/**
 * The REST API on a random port against the real Temporal dev server and Valkey, on a task queue
 * of its own (so no other worker runs its workflows and its kill-all reaches only its agents).
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import Redis from 'ioredis';
import pino from 'pino';
import { Client, Connection } from '@temporalio/client';
import { loadConfig, type Config } from '../../config';
import { AgentStateStore } from '../../state/agent-state-store';
import { createApp, type AppDeps } from '../../api/app';
import { startEventFeed, type EventFeed } from '../../api/event-feed';
import { createApiServer } from '../../api/http-server';
import { testEnv } from '../support/env';

export const TEST_API_KEY = 'test-api-key-0123456789abcdef';

export interface TestApi {
  baseUrl: string;
  config: Config;
  taskQueue: string;
  client: Client;
  redis: Redis;
  store: AgentStateStore;
  eventFeed: EventFeed;
  /** Every log line the app wrote. */
  logs: string[];
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface RequestOptions {
  /** Sent as JSON unless it is a string (sent as is). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Leave out the API key header. */
  anonymous?: boolean;
}

export interface TestResponse {
  status: number;
  // Tests read arbitrary fields; the shape is what is under test.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

export interface TestApiOptions {
  env?: Record<string, string>;
  deps?: Partial<Omit<AppDeps, 'config' | 'logger' | 'eventFeed'>>;
}

export async function startTestApi(options: TestApiOptions = {}): Promise<TestApi> {
  const taskQueue = `api-test-${randomUUID()}`;
  const config = loadConfig({
    ORCHESTRATOR_API_KEY: TEST_API_KEY,
    TEMPORAL_ADDRESS: testEnv.temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    VALKEY_HOST: testEnv.valkeyHost,
    VALKEY_PORT: String(testEnv.valkeyPort),
    KILL_DEADLINE_SECONDS: '2',
    LOG_LEVEL: 'debug',
    ...options.env,
  });
  const logs: string[] = [];
  const logger = pino(
    { level: config.LOG_LEVEL },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString());
        done();
      },
    }),
  );
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const redis = new Redis({ host: config.VALKEY_HOST, port: config.VALKEY_PORT, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  redis.on('error', () => undefined); // expected while a test stops its own Valkey
  const store = new AgentStateStore(redis, { terminalTtlSeconds: 3600, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE });
  const eventFeed = startEventFeed(redis, { namespace: config.TEMPORAL_NAMESPACE });
  const app = createApp({ client, redis, store, config, logger, eventFeed, tuning: { statusQueryTimeoutMs: 2000 }, ...options.deps });
  // The server main.ts makes, with the configured connection limits.
  const server: Server = await new Promise((resolve) => {
    const s = createApiServer(app, config).listen(0, '127.0.0.1', () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl,
    config,
    taskQueue,
    client,
    redis,
    store,
    eventFeed,
    logs,
    async request(method, path, { body, headers = {}, anonymous = false } = {}) {
      const sendHeaders: Record<string, string> = { ...(anonymous ? {} : { 'X-API-Key': TEST_API_KEY }) };
      if (body !== undefined && typeof body !== 'string') sendHeaders['Content-Type'] = 'application/json';
      Object.assign(sendHeaders, headers);
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: sendHeaders,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: the test sees the raw text
      }
      return { status: response.status, body: parsed, headers: response.headers };
    },
    async close() {
      await terminateLeftovers(client, taskQueue);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await connection.close();
      await eventFeed.stop();
      redis.disconnect();
    },
  };
}

/** Terminates whatever a test left running on its task queue (nothing else polls it). */
async function terminateLeftovers(client: Client, taskQueue: string): Promise<void> {
  for await (const execution of client.workflow.list({ query: `ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'` })) {
    await client.workflow
      .getHandle(execution.workflowId)
      .terminate('test cleanup')
      .catch(() => undefined);
  }
}

/** A valid spawn body for a fresh task id. */
export function spawnBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    taskId: `T-${randomUUID().slice(0, 8)}`,
    agentType: 'worker',
    context: { repository: 'https://git.example.com/repo.git', branch: 'main', workItems: ['US-001'], skills: ['typescript'] },
    ...overrides,
  };
}

/** Polls `fn` until it returns a truthy value, or throws after `timeoutMs`. */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
