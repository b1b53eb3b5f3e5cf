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
 * must be taken within ORCHESTRATOR_RESPONSE_TIMEOUT_SECONDS.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
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
  const server = createServer(
    {
      headersTimeout: limits.ORCHESTRATOR_HEADERS_TIMEOUT_SECONDS * 1000,
      requestTimeout: limits.ORCHESTRATOR_REQUEST_TIMEOUT_SECONDS * 1000,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
    },
    app,
  );
  server.keepAliveTimeout = limits.ORCHESTRATOR_KEEP_ALIVE_TIMEOUT_SECONDS * 1000;
  server.maxConnections = limits.ORCHESTRATOR_MAX_CONNECTIONS;
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => dropUntakenResponse(res, limits.ORCHESTRATOR_RESPONSE_TIMEOUT_SECONDS * 1000));
  return server;
}

/**
 * Destroys the socket of a response ended `timeoutMs` ago that its client has still not taken
 * (its last bytes never left for the kernel: 'finish' did not come). No other limit applies once
 * a request is received: a client that asked for a 20 MB transcript page and read nothing held
 * the page in memory and its socket open for as long as it stayed. An event stream is not ended
 * while it runs, so it is not limited.
 */
function dropUntakenResponse(res: ServerResponse, timeoutMs: number): void {
  res.once('prefinish', () => {
    const timer = setTimeout(() => res.socket?.destroy(), timeoutMs);
    timer.unref();
    res.once('finish', () => clearTimeout(timer));
    res.once('close', () => clearTimeout(timer));
  });
}
