import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import type { AgentEvent, StoredAgentEvent } from '../domain/agent-events';
import type { AgentEventLog } from '../state/agent-events';
import type { EventFeed } from './event-feed';
import { serveEventStream, type StreamTarget } from './event-stream';

/** An event feed that counts its live subscriptions (a stream that ended has none). */
function countingFeed(): { feed: EventFeed; subscribers: () => number } {
  let count = 0;
  const feed: EventFeed = {
    subscribe: () => {
      count += 1;
      return () => (count -= 1);
    },
    stop: () => Promise.resolve(),
  };
  return { feed, subscribers: () => count };
}

/** Whether `served` settles within `ms`. */
async function endsWithin(served: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([served.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  clearTimeout(timer);
  return ended;
}

describe('serveEventStream', () => {
  const turn: AgentEvent = { type: 'turn', agentId: 'a', turn: 1, stopReason: 'tool_use', inputTokens: 1, outputTokens: 1, tools: [], at: new Date().toISOString() };

  /**
   * A client that hangs up while the stream's first read is still out (the status lookup and the
   * first read come before the stream watches the connection): the stream must still end.
   */
  it.each<[string, StreamTarget, StoredAgentEvent[]]>([
    ['an agent stream with a backlog', { kind: 'agent', agentId: 'a', status: 'running' }, [{ id: '1-0', event: turn }]],
    ['the global stream, idle', { kind: 'all' }, []],
  ])('ends and unsubscribes when the client left before the first read returned: %s', async (_name, target, backlog) => {
    let releaseRead!: () => void;
    const readGate = new Promise<void>((resolve) => (releaseRead = resolve));
    const log = {
      lastGlobalId: () => Promise.resolve('0'),
      readAfter: async () => {
        await readGate;
        return backlog;
      },
    } as unknown as AgentEventLog;
    const { feed, subscribers } = countingFeed();
    let served: Promise<void> | undefined;
    let clientGone!: () => void;
    const gone = new Promise<void>((resolve) => (clientGone = resolve));
    const app = express();
    app.get('/events', (req, res) => {
      req.socket.once('close', clientGone);
      served = serveEventStream({ log, feed, logger: pino({ level: 'silent' }), keepAliveMs: 50 }, req, res, target, undefined);
    });
    const server = await new Promise<http.Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const request = http.get({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/events' });
      request.on('error', () => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100)); // the handler is waiting on its read
      request.destroy();
      await gone;
      releaseRead();
      expect(await endsWithin(served!, 2000)).toBe(true);
      expect(subscribers()).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('streams to a request that carried a body (its request stream is done), and ends when the client leaves', async () => {
    const log = { lastGlobalId: () => Promise.resolve('0'), readAfter: () => Promise.resolve([]) } as unknown as AgentEventLog;
    const { feed, subscribers } = countingFeed();
    let served: Promise<void> | undefined;
    const app = express();
    app.use(express.json());
    app.get('/events', (req, res) => {
      served = serveEventStream({ log, feed, logger: pino({ level: 'silent' }), keepAliveMs: 50 }, req, res, { kind: 'all' }, undefined);
    });
    const server = await new Promise<http.Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const port = (server.address() as AddressInfo).port;
      const request = http.request({ host: '127.0.0.1', port, path: '/events', method: 'GET', headers: { 'Content-Type': 'application/json', 'Content-Length': '7' } });
      request.on('error', () => undefined);
      const responded = new Promise<http.IncomingMessage>((resolve) => request.once('response', resolve));
      request.end('{"a":1}');
      const response = await responded;
      // Two keep-alives: the stream stays open past its first idle period.
      let received = '';
      await new Promise<void>((resolve) => {
        response.on('data', (chunk: Buffer) => {
          received += chunk.toString();
          if (received.split(': keep-alive').length > 2) resolve();
        });
        response.on('end', resolve);
      });
      expect(received.split(': keep-alive').length).toBeGreaterThan(2);
      request.destroy();
      expect(await endsWithin(served!, 2000)).toBe(true);
      expect(subscribers()).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe("a run whose cleanup never reports (terminated through Temporal during it)", () => {
    const stopped = (at: string): StoredAgentEvent => ({ id: '2-0', event: { type: 'lifecycle', agentId: 'a', taskId: 'T', from: 'running', to: 'killed', phase: 'cleanup', at } });

    async function serve(target: StreamTarget, backlog: StoredAgentEvent[], lastEventId?: string): Promise<{ status: number; body: string; ms: number }> {
      const log = { lastGlobalId: () => Promise.resolve('0'), readAfter: async (_a: string, after: string) => (after === '0' ? backlog : []) } as unknown as AgentEventLog;
      const app = express();
      app.get('/events', (req, res) => void serveEventStream({ log, feed: countingFeed().feed, logger: pino({ level: 'silent' }), keepAliveMs: 50, cleanupWaitMs: 400 }, req, res, target, lastEventId));
      const server = await new Promise<http.Server>((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      try {
        const started = Date.now();
        const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/events`);
        const body = await res.text();
        return { status: res.status, body, ms: Date.now() - started };
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    }

    it('keeps the stream open for cleanupWaitMs after it stopped, then ends it', async () => {
      const { status, body, ms } = await serve({ kind: 'agent', agentId: 'a', status: 'running' }, [stopped(new Date().toISOString())]);
      expect(status).toBe(200);
      expect(body).toContain('"to":"killed"');
      expect(body).toContain(': keep-alive'); // it waited for the cleanup...
      expect(ms).toBeLessThan(3000); // ...not forever
    });

    it('answers a reconnect after that wait with 204, and one during it with the stream', async () => {
      const longAgo = new Date(Date.now() - 60_000).toISOString();
      expect((await serve({ kind: 'agent', agentId: 'a', status: 'killed', phase: 'cleanup', completedAt: longAgo }, [], '2-0')).status).toBe(204);
      const during = await serve({ kind: 'agent', agentId: 'a', status: 'killed', phase: 'cleanup', completedAt: new Date().toISOString() }, [], '2-0');
      expect(during.status).toBe(200);
      expect(during.body).toContain(': keep-alive');
    });
  });
});
