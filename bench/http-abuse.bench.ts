/**
 * What an abusive client costs the API process (`api/main.ts`, started as the service starts it,
 * against the real Temporal dev server and Valkey), over loopback sockets:
 * - slowloris: SOCKETS connections that send a request's headers one byte a second: how long the
 *   server holds them, its memory and open files meanwhile, and a normal request's latency then;
 * - a slow body: a POST whose Content-Length body comes one byte a second: how long it is held;
 * - a huge body streamed as fast as it goes: how much the server takes before it answers, and its memory.
 * Run: npx tsx bench/http-abuse.bench.ts   (one JSON line on stdout; progress on stderr). Extra
 * ORCHESTRATOR_* variables in the environment are passed to the API (to measure other limits).
 * Every loop is bounded (BENCH_SECONDS, 100 s by default) and the API is stopped at the end.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { freePort } from '../test/support/ports';

const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 2000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 100);
const API_KEY = 'bench-api-key-0123456789abcdef';

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kb) / 1024);
}
const openFiles = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

async function normalRequestMs(port: number): Promise<number | string> {
  const started = Date.now();
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(10_000) });
    await res.text();
    return Date.now() - started;
  } catch (err) {
    return `failed: ${(err as Error).message}`;
  }
}

/** Opens `count` sockets; each sends the start of a request, then one more byte a second. */
async function dripping(port: number, count: number, start: string, byte: string): Promise<{ sockets: Socket[]; open: () => number; closedAfterMs: number[] }> {
  const sockets: Socket[] = [];
  const closedAfterMs: number[] = [];
  let open = 0;
  const opened = Date.now();
  for (let i = 0; i < count; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.once('connect', () => {
      open += 1;
      socket.write(start);
      const timer = setInterval(() => socket.write(byte), 1000);
      socket.once('close', () => {
        clearInterval(timer);
        open -= 1;
        closedAfterMs.push(Date.now() - opened);
      });
    });
    sockets.push(socket);
    if (i % 200 === 199) await sleep(20);
  }
  return { sockets, open: () => open, closedAfterMs };
}

async function main(): Promise<void> {
  const port = await freePort();
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('ORCHESTRATOR_'))),
    PATH: process.env.PATH ?? '',
    ORCHESTRATOR_PORT: String(port),
    ORCHESTRATOR_API_KEY: API_KEY,
    TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    TEMPORAL_TASK_QUEUE: `bench-http-abuse-${port}`,
    VALKEY_HOST: process.env.VALKEY_HOST ?? '127.0.0.1',
    VALKEY_PORT: process.env.VALKEY_PORT ?? '6379',
    LOG_LEVEL: 'warn',
  };
  const api = spawn(process.execPath, ['--import', 'tsx', 'api/main.ts'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const pid = api.pid!;
  try {
    for (let i = 0; (await normalRequestMs(port).then((r) => typeof r !== 'number')) && i < 100; i++) await sleep(200);
    const baseline = { rssMb: rssMb(pid), openFiles: openFiles(pid), normalRequestMs: await normalRequestMs(port) };
    log(`baseline ${JSON.stringify(baseline)}`);

    // slowloris
    const slow = await dripping(port, SOCKETS, 'GET /health HTTP/1.1\r\nHost: bench\r\nX-Slow: ', 'a');
    const samples: Record<string, unknown>[] = [];
    const started = Date.now();
    for (const at of [5, 15, 30, 45, 60, 75, 90, SECONDS].filter((s) => s <= SECONDS)) {
      await sleep(started + at * 1000 - Date.now());
      const sample = { atSeconds: at, clientSocketsOpen: slow.open(), rssMb: rssMb(pid), openFiles: openFiles(pid), normalRequestMs: await normalRequestMs(port) };
      samples.push(sample);
      log(`slowloris ${JSON.stringify(sample)}`);
      if (slow.open() === 0) break;
    }
    const closedByServer = slow.closedAfterMs.length;
    const sorted = [...slow.closedAfterMs].sort((a, b) => a - b);
    for (const s of slow.sockets) s.destroy();

    // a slow body: headers complete, the body one byte a second
    const body = await dripping(port, 1, `POST /agents HTTP/1.1\r\nHost: bench\r\nX-API-Key: ${API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n`, ' ');
    while (body.open() === 0 && body.closedAfterMs.length === 0) await sleep(10);
    const bodyStarted = Date.now();
    while (body.open() > 0 && Date.now() - bodyStarted < SECONDS * 1000) await sleep(250);
    const slowBodyHeldMs = body.open() > 0 ? `>${SECONDS * 1000}` : body.closedAfterMs[0];
    for (const s of body.sockets) s.destroy();
    log(`slow body held ${slowBodyHeldMs} ms`);

    // a huge chunked body, as fast as it goes (at most 2 GiB or 30 s)
    const huge = connect(port, '127.0.0.1');
    huge.on('error', () => undefined);
    await once(huge, 'connect');
    let answer = '';
    huge.on('data', (d: Buffer) => (answer += d.toString()));
    huge.write(`POST /agents HTTP/1.1\r\nHost: bench\r\nX-API-Key: ${API_KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    let sent = 0;
    let peakRss = rssMb(pid);
    const hugeStarted = Date.now();
    while (!huge.destroyed && sent < 2 * 1024 ** 3 && Date.now() - hugeStarted < 30_000) {
      if (!huge.write(framed)) await Promise.race([once(huge, 'drain').catch(() => undefined), once(huge, 'close').catch(() => undefined), sleep(2000)]);
      sent += chunk.length;
      if (sent % (64 * 1024 * 1024) === 0) peakRss = Math.max(peakRss, rssMb(pid));
    }
    await sleep(300);
    const hugeBody = { sentMb: Math.round(sent / 1024 ** 2), heldMs: Date.now() - hugeStarted, closedByServer: huge.destroyed, status: /^HTTP\/1\.1 (\d+)/.exec(answer)?.[1], peakRssMb: peakRss };
    huge.destroy();
    log(`huge body ${JSON.stringify(hugeBody)}`);

    process.stdout.write(
      `${JSON.stringify({
        sockets: SOCKETS,
        limits: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('ORCHESTRATOR_') && k !== 'ORCHESTRATOR_API_KEY' && k !== 'ORCHESTRATOR_PORT')),
        baseline,
        slowloris: { samples, closedByServer, firstClosedMs: sorted[0], lastClosedMs: sorted[sorted.length - 1] },
        slowBodyHeldMs,
        hugeBody,
      })}\n`,
    );
  } finally {
    api.kill('SIGTERM');
    await Promise.race([once(api, 'exit'), sleep(5000)]);
    api.kill('SIGKILL');
  }
}

main().catch((err: unknown) => {
  log(String((err as Error).stack ?? err));
  process.exit(1);
});
