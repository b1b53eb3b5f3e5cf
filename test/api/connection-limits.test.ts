/**
 * The HTTP server's limits, attacked over raw sockets as a client would: headers or a body sent a
 * byte a second (slowloris), and more connections than the API holds. Node's defaults held such
 * sockets 60-300 s each, with no limit on their number.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { AgentEvent } from '../../domain/agent-events';
import { AgentEventLog } from '../../state/agent-events';
import { connectSse } from '../support/sse';
import { eventually, startTestApi, TEST_API_KEY, type TestApi } from './api-harness';

interface RawClient {
  socket: Socket;
  /** What the server sent. */
  received: () => string;
  /** Resolves with the milliseconds from connect to the server's close. */
  closed: Promise<number>;
  /** Sends one more byte every second until the socket closes. */
  drip: (byte: string) => void;
}

async function rawClient(baseUrl: string): Promise<RawClient> {
  const { port } = new URL(baseUrl);
  const socket = connect(Number(port), '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  const started = Date.now();
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString()));
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
  return {
    socket,
    received: () => received,
    closed,
    drip: (byte) => {
      const timer = setInterval(() => socket.write(byte), 1000);
      void closed.then(() => clearInterval(timer));
    },
  };
}

/** Milliseconds until the server closed the socket, or `undefined` if it is still open after `ms`. */
const closedWithin = (client: RawClient, ms: number) => Promise.race([client.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms))]);

describe('slow clients', () => {
  let api: TestApi;
  const clients: RawClient[] = [];
  beforeAll(async () => {
    api = await startTestApi({ env: { ORCHESTRATOR_HEADERS_TIMEOUT_SECONDS: '1', ORCHESTRATOR_REQUEST_TIMEOUT_SECONDS: '2' } });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.socket.destroy();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('answers 408 and closes a connection whose headers come a byte a second, after ORCHESTRATOR_HEADERS_TIMEOUT_SECONDS', async () => {
    const client = await rawClient(api.baseUrl);
    clients.push(client);
    client.socket.write('GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: ');
    client.drip('a');
    const closedAfterMs = await closedWithin(client, 4000);
    expect(closedAfterMs).toBeGreaterThanOrEqual(1000);
    expect(closedAfterMs).toBeLessThan(3500); // the timeout and at most one check interval
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('answers 408 and closes a request whose body comes a byte a second, after ORCHESTRATOR_REQUEST_TIMEOUT_SECONDS', async () => {
    const client = await rawClient(api.baseUrl);
    clients.push(client);
    client.socket.write(`POST /agents HTTP/1.1\r\nHost: test\r\nX-API-Key: ${TEST_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
    client.drip(' ');
    const closedAfterMs = await closedWithin(client, 5000);
    expect(closedAfterMs).toBeGreaterThanOrEqual(2000);
    expect(closedAfterMs).toBeLessThan(4500);
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('keeps an event stream open past the request timeout: the limit is on receiving the request, not on the response', async () => {
    const sse = await connectSse(`${api.baseUrl}/agents/events`, { 'X-API-Key': TEST_API_KEY });
    try {
      expect(sse.status).toBe(200);
      let ended = false;
      void sse.ended.then(() => (ended = true));
      await new Promise((r) => setTimeout(r, 4000)); // two request timeouts, and their checks
      expect(ended).toBe(false);
      const event: AgentEvent = { type: 'lifecycle', agentId: randomUUID(), taskId: 'T-limits', from: 'spawning', to: 'running', at: new Date().toISOString() };
      await new AgentEventLog(api.redis).append(event, { dedupKey: 'limits' });
      // Other tests may write to the global stream meanwhile: look for this one.
      await eventually(async () => sse.events.some((e) => (JSON.parse(e.data) as { agentId?: string }).agentId === event.agentId), 'the event on the stream', 5000);
    } finally {
      sse.close();
    }
  });
});

describe('connections beyond ORCHESTRATOR_MAX_CONNECTIONS', () => {
  let api: TestApi;
  const clients: RawClient[] = [];
  beforeAll(async () => {
    api = await startTestApi({ env: { ORCHESTRATOR_MAX_CONNECTIONS: '3', ORCHESTRATOR_MAX_EVENT_STREAMS: '2' } });
  });
  afterAll(async () => {
    for (const c of clients) c.socket.destroy();
    await api?.close();
  });

  it('closes a connection over the limit at once, and serves again once connections closed', async () => {
    // Three connections that send nothing (their headers timeout is 10 s).
    for (let i = 0; i < 3; i++) clients.push(await rawClient(api.baseUrl));
    const over = await rawClient(api.baseUrl);
    clients.push(over);
    over.socket.write('GET /health HTTP/1.1\r\nHost: test\r\n\r\n');
    expect(await closedWithin(over, 2000)).toBeDefined();
    expect(over.received()).toBe('');

    for (const c of clients) c.socket.destroy();
    await eventually(async () => (await fetch(`${api.baseUrl}/health`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.status === 200, 'a request to be served again', 5000);
  });
});

/**
 * The JSON parser reads a body it refused (over ORCHESTRATOR_BODY_LIMIT) to its end before it
 * answers: a client streaming without end was read at line rate, unanswered, for as long as it liked.
 */
describe('a body without end', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('is answered 413 and its connection closed soon after the limit, not read to its end', async () => {
    const client = await rawClient(api.baseUrl);
    client.socket.write(`POST /agents HTTP/1.1\r\nHost: test\r\nX-API-Key: ${TEST_API_KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    let sent = 0;
    let closed = false;
    void client.closed.then(() => (closed = true));
    const started = Date.now();
    // At most 256 MB or 10 s: the limit is 256 KB.
    while (!closed && sent < 256 * 1024 ** 2 && Date.now() - started < 10_000) {
      if (!client.socket.write(framed)) await Promise.race([once(client.socket, 'drain').catch(() => undefined), client.closed, new Promise((r) => setTimeout(r, 500))]);
      sent += chunk.length;
    }
    client.socket.destroy();
    expect({ closed, sentUnder16Mb: sent < 16 * 1024 ** 2 }).toEqual({ closed: true, sentUnder16Mb: true });
    expect(client.received()).toMatch(/^HTTP\/1\.1 413 /);
  });
});

/** A completed agent whose transcript's first page (one message of 20 MB) is a 20 MB response. */
async function agentWithLargeTranscript(api: TestApi): Promise<{ agentId: string; key: string }> {
  const agentId = randomUUID();
  const at = new Date().toISOString();
  await api.store.write({ seq: 1, at, view: { agentId, taskId: `T-${agentId.slice(0, 8)}`, agentType: 'worker', status: 'completed', spawnedAt: at, completedAt: at } });
  // One message: a page always holds its first message whole, while it ends early after a second
  // of redacting more (api/transcript.ts). Under load a page of 100 such messages of 200 KB was
  // cut short, and the slow-link case below read the whole (shorter) page as cut.
  const message = JSON.stringify({ role: 'user', content: 'x'.repeat(20_000_000) });
  const key = `orchestrator:transcript:${agentId}`;
  await api.redis.hset(key, '0', message);
  return { agentId, key };
}

/**
 * A client that asks for a large response and never reads it: the server held the response in
 * memory and the socket open for as long as the client stayed (no limit applies once the request
 * is received). ORCHESTRATOR_MAX_CONNECTIONS such clients held that many responses.
 */
describe('a response its client does not read', () => {
  let api: TestApi;
  beforeAll(async () => {
    // 10 s, not 1 or 3: on a loaded machine a client reading all along (in this process, beside the
    // server) was held from the socket long enough to be dropped half-way in CI, at both.
    api = await startTestApi({ env: { ORCHESTRATOR_RESPONSE_TIMEOUT_SECONDS: '10' } });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('is dropped, with its connection, ORCHESTRATOR_RESPONSE_TIMEOUT_SECONDS after it was ended', async () => {
    const { agentId, key } = await agentWithLargeTranscript(api);
    try {
      // How long the API takes to build the page here (seconds on a loaded machine): the client
      // below must wait until it was ended and dropped, or it reads the whole page on resuming.
      const started = Date.now();
      const whole = await fetch(`${api.baseUrl}/agents/${agentId}/transcript?limit=100`, { headers: { 'X-API-Key': TEST_API_KEY } });
      expect((await whole.arrayBuffer()).byteLength).toBeGreaterThan(20_000_000);
      const buildMs = Date.now() - started;
      const client = await rawClient(api.baseUrl);
      client.socket.pause(); // reads nothing
      client.socket.write(`GET /agents/${agentId}/transcript?limit=100 HTTP/1.1\r\nHost: test\r\nX-API-Key: ${TEST_API_KEY}\r\n\r\n`);
      await new Promise((r) => setTimeout(r, 2 * buildMs + 24_000)); // ended, then two checks of 10 s
      let bytes = 0;
      client.socket.on('data', (d: Buffer) => (bytes += d.length));
      client.socket.resume();
      const closedAfterMs = await closedWithin(client, 5000);
      client.socket.destroy();
      // The page is 20 MB: the client got what was in the socket buffers, not the rest.
      expect({ closed: closedAfterMs !== undefined, partial: bytes < 20_000_000 }).toEqual({ closed: true, partial: true });
    } finally {
      await api.redis.del(key);
    }
  });

  it('is not dropped while its client takes it, however long the page takes to go (a slow link)', async () => {
    const { agentId, key } = await agentWithLargeTranscript(api);
    try {
      const client = await rawClient(api.baseUrl);
      // About 1 MB/s: the 20 MB page takes about 20 s, twice the response timeout, and is taken all along.
      let bytes = 0;
      client.socket.on('data', (d: Buffer) => {
        bytes += d.length;
        client.socket.pause();
        setTimeout(() => client.socket.resume(), d.length / 1_000);
      });
      client.socket.write(`GET /agents/${agentId}/transcript?limit=100 HTTP/1.1\r\nHost: test\r\nX-API-Key: ${TEST_API_KEY}\r\nConnection: close\r\n\r\n`);
      const closedAfterMs = await closedWithin(client, 90_000);
      client.socket.destroy();
      expect({ closed: closedAfterMs !== undefined, whole: bytes > 20_000_000, slow: (closedAfterMs ?? 0) > 10_000 }).toEqual({ closed: true, whole: true, slow: true });
    } finally {
      await api.redis.del(key);
    }
  });
});

/**
 * An event stream whose client reads nothing waited for a drain that never came: it held its place
 * (of ORCHESTRATOR_MAX_EVENT_STREAMS) and its unsent events for as long as the client stayed, so
 * such clients could take every place and refuse every other stream.
 */
describe('an event stream its client does not read', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ env: { ORCHESTRATOR_RESPONSE_TIMEOUT_SECONDS: '1', ORCHESTRATOR_MAX_EVENT_STREAMS: '1' } });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('is ended when its writes wait ORCHESTRATOR_RESPONSE_TIMEOUT_SECONDS for the client, and its place freed', async () => {
    const agentId = randomUUID();
    const at = new Date().toISOString();
    await api.store.write({ seq: 1, at, view: { agentId, taskId: `T-${agentId.slice(0, 8)}`, agentType: 'worker', status: 'running', spawnedAt: at } });
    const log = new AgentEventLog(api.redis);
    // A backlog of 20 MB: more than the socket buffers take.
    for (let turn = 1; turn <= 200; turn++) {
      const event: AgentEvent = { type: 'turn', agentId, turn, stopReason: 'tool_use', inputTokens: 1, outputTokens: 1, tools: ['x'.repeat(100_000)], at };
      await log.append(event, { dedupKey: `turn:${turn}` });
    }
    const client = await rawClient(api.baseUrl);
    clientSocket = client.socket;
    client.socket.pause(); // reads nothing
    client.socket.write(`GET /agents/${agentId}/events HTTP/1.1\r\nHost: test\r\nX-API-Key: ${TEST_API_KEY}\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 4000));
    const other = await fetch(`${api.baseUrl}/agents/events`, { headers: { 'X-API-Key': TEST_API_KEY }, signal: AbortSignal.timeout(5000) });
    await other.body?.cancel();
    expect(other.status).toBe(200);
  });
  let clientSocket: Socket | undefined;
  afterEach(() => clientSocket?.destroy());
});

