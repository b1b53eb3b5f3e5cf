/**
 * The response timeout of createApiServer, against a real socket: a response its client is taking
 * must not be dropped because this process was held (its event loop busy, or the host's CPU taken),
 * while one its client does not take is.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createApiServer, type HttpServerLimits } from './http-server';

const PAGE = Buffer.alloc(20_000_000, 'x');

const limits: HttpServerLimits = {
  ORCHESTRATOR_HEADERS_TIMEOUT_SECONDS: 10,
  ORCHESTRATOR_REQUEST_TIMEOUT_SECONDS: 30,
  ORCHESTRATOR_RESPONSE_TIMEOUT_SECONDS: 1,
  ORCHESTRATOR_KEEP_ALIVE_TIMEOUT_SECONDS: 5,
  ORCHESTRATOR_MAX_CONNECTIONS: 100,
};

/** Holds the event loop, as other work on it does (a page being redacted, a long GC). */
function holdLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: no timer or I/O of this process runs
  }
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Asks for the page over a raw socket; resolves with the bytes received when the server closes it. */
async function fetchPage(port: number, paused = false): Promise<{ bytes: () => number; closed: Promise<void>; resume: () => void }> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  let bytes = 0;
  socket.on('data', (d: Buffer) => (bytes += d.length));
  if (paused) socket.pause();
  const closed = once(socket, 'close').then(() => undefined);
  socket.write('GET /page HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n');
  return { bytes: () => bytes, closed, resume: () => socket.resume() };
}

describe('the response timeout (ORCHESTRATOR_RESPONSE_TIMEOUT_SECONDS 1)', () => {
  let server: Server;
  let port: number;
  let holdAfterEnd = 0;
  beforeAll(async () => {
    // The hold starts right after the server looked at what the socket had taken (as the page
    // was ended).
    server = createApiServer((_req, res) => {
      res.end(PAGE);
      holdLoop(holdAfterEnd);
    }, limits);
    port = await listen(server);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('does not drop a client reading all along when this process was held 2.5 s right after the page was ended', async () => {
    holdAfterEnd = 2500;
    const client = await fetchPage(port);
    await client.closed;
    expect(client.bytes()).toBeGreaterThan(PAGE.length);
  });

  it('drops a client that takes none of the page, though the process was held as long', async () => {
    holdAfterEnd = 2500;
    const client = await fetchPage(port, true);
    // Dropped about 3 s after the request (the 2.5 s hold, then a second of nothing taken); a
    // client that resumed at 3 s raced the drop, and under load read the page whole.
    await new Promise((r) => setTimeout(r, 8000));
    client.resume();
    await client.closed;
    expect(client.bytes()).toBeLessThan(PAGE.length);
  });
});
