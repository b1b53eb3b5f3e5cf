/**
 * The API's HTTP server, with the limits a client cannot talk its way past (configuration:
 * ORCHESTRATOR_HEADERS_TIMEOUT_SECONDS, _REQUEST_TIMEOUT_SECONDS, _KEEP_ALIVE_TIMEOUT_SECONDS,
 * _MAX_CONNECTIONS; the body's size is the JSON parser's, ORCHESTRATOR_BODY_LIMIT).
 *
 * Node's defaults: headers within 60 s and a request within 300 s, each checked every 30 s, so a
 * client sending its headers a byte a second held its socket 90 s; no connection limit, so such
 * clients held sockets until the process ran out of files. Node answers 408 and closes a socket
 * over a timeout. Headers stay within Node's 16 KB (--max-http-header-size): a larger head is
 * answered 431, so their count (maxHeadersCount, which drops the rest silently) is left alone.
 * Both timeouts end when the request is received: an event stream's response
 * (api/event-stream.ts) may last as long as its client stays. A response the handler has ended
 * must go on being taken: its client may take none of it for ORCHESTRATOR_RESPONSE_TIMEOUT_SECONDS.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../config';

/** How often Node looks for requests over their timeouts: a timeout is overrun by at most this much. */
const TIMEOUT_CHECK_MS = 1000;

export type HttpServerLimits = Pick<
  Config,
  | 'ORCHESTRATOR_HEADERS_TIMEOUT_SECONDS'
  | 'ORCHESTRATOR_REQUEST_TIMEOUT_SECONDS'
  | 'ORCHESTRATOR_RESPONSE_TIMEOUT_SECONDS'
  | 'ORCHESTRATOR_KEEP_ALIVE_TIMEOUT_SECONDS'
  | 'ORCHESTRATOR_MAX_CONNECTIONS'
>;

export function createApiServer(app: RequestListener, limits: HttpServerLimits): Server {
  const server = createServer({
    headersTimeout: limits.ORCHESTRATOR_HEADERS_TIMEOUT_SECONDS * 1000,
    requestTimeout: limits.ORCHESTRATOR_REQUEST_TIMEOUT_SECONDS * 1000,
    connectionsCheckingInterval: TIMEOUT_CHECK_MS,
  });
  server.keepAliveTimeout = limits.ORCHESTRATOR_KEEP_ALIVE_TIMEOUT_SECONDS * 1000;
  server.maxConnections = limits.ORCHESTRATOR_MAX_CONNECTIONS;
  // Before the app: a handler that ends its response at once ends it within its own listener,
  // and a watch set up after that never saw it end.
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => dropUntakenResponse(res, limits.ORCHESTRATOR_RESPONSE_TIMEOUT_SECONDS * 1000));
  server.on('request', app);
  return server;
}

/**
 * Destroys the socket of a response ended whose client takes none of it for `timeoutMs`, or is
 * still taking it past `timeoutMs` plus its unsent bytes at MIN_TAKE_RATE. No other limit applies
 * once a request is received: a client that asked for a 20 MB transcript page and read nothing
 * held the page in memory and its socket open for as long as it stayed. A slow link is not such a
 * client: a limit on the whole response cut a 20 MB page taken at 4 MB/s after the 60 s default
 * less what the socket buffers took. An event stream is not ended while it runs, so it is not
 * limited.
 *
 * Progress is sampled a few times per timeout, and time this process did not run (its event loop
 * held by other work, or the host's CPU taken) is not the client's: nothing is sent while the loop
 * is held, and a check comparing two samples a timeout apart, taken after a second's stall and
 * before the loop wrote again, dropped clients reading all along (half of a 20 MB page in CI).
 */
function dropUntakenResponse(res: ServerResponse, timeoutMs: number): void {
  res.once('prefinish', () => {
    const socket = res.socket;
    if (!socket) return;
    const sampleMs = Math.min(SAMPLE_MS, timeoutMs / 4);
    let deadline = Date.now() + timeoutMs + (socket.writableLength / MIN_TAKE_RATE) * 1000;
    let before = unsent(socket);
    let sampledAt = Date.now();
    let takenAt = sampledAt;
    const timer = setInterval(() => {
      const at = Date.now();
      const stalled = Math.max(0, at - sampledAt - 2 * sampleMs); // late beyond a tick's slack: not the client's time
      takenAt += stalled;
      deadline += stalled;
      const now = unsent(socket);
      if (now.queued < before.queued || now.writes < before.writes) takenAt = at;
      if (at - takenAt >= timeoutMs || at >= deadline) socket.destroy(); // 'close' follows
      before = now;
      sampledAt = at;
    }, sampleMs);
    timer.unref();
    res.once('finish', () => clearInterval(timer));
    res.once('close', () => clearInterval(timer));
  });
}

/** The most time between two looks at a response's progress. */
const SAMPLE_MS = 1000;

/**
 * The slowest a client may take a response (bytes a second): 256 kbit/s, a poor mobile link.
 * Bounds how long a client that takes a few bytes now and then holds a page.
 */
const MIN_TAKE_RATE = 32 * 1024;

/**
 * What the socket has not handed to the kernel yet; either shrinks while the client takes the
 * response. `writes`: the bytes of writes not finished, each counted whole until all of it is
 * written, and a response is mostly one write (Express sends a body whole). `queued`: the part of
 * the writes under way still queued, which shrinks as it goes (the handle's write queue, internal
 * to Node; net's own bufferSize read it).
 */
function unsent(socket: Socket): { writes: number; queued: number } {
  const queued = (socket as Socket & { _handle?: { writeQueueSize?: number } | null })._handle?.writeQueueSize;
  return { writes: socket.writableLength, queued: typeof queued === 'number' ? queued : socket.writableLength };
}
