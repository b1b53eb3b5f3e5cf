import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createCoordinatorClient, type GateReportRequest } from './coordinator-client';
import { CoordinatorRejectedError, CoordinatorUnavailableError } from './errors';
import { startFakeCoordinator, type FakeCoordinator } from '../../test/support/gate-fixtures';

const report: GateReportRequest = {
  agentId: '3f2b9c1e-0000-4000-8000-000000000001',
  taskId: 'T-123',
  agentType: 'worker',
  phase: 'pre-commit',
  branch: 'agent/T-123/3f2b9c1e',
  round: 2,
  gates: [{ name: 'tests', outcome: 'passed', durationMs: 812, command: 'npm run --silent test', exitCode: 0 }],
};

const ok = (body: unknown) => ({ status: 200, body: JSON.stringify(body) });

describe('coordinator client', () => {
  let coordinator: FakeCoordinator | undefined;
  afterEach(async () => coordinator?.close());

  const clientFor = (url: string, timeoutMs = 5000) => createCoordinatorClient({ baseUrl: url, timeoutMs });

  it('posts the report as JSON and returns an approval', async () => {
    coordinator = await startFakeCoordinator(() => ok({ approved: true }));
    await expect(clientFor(coordinator.url + '/').reportGates(report)).resolves.toEqual({ approved: true });
    expect(coordinator.requests).toHaveLength(1);
    const [request] = coordinator.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/api/quality-gates/report', body: report });
    expect(request?.headers['content-type']).toBe('application/json');
  });

  it('returns a veto with its reason', async () => {
    coordinator = await startFakeCoordinator(() => ok({ approved: false, reason: 'coverage dropped below the task baseline' }));
    await expect(clientFor(coordinator.url).reportGates(report)).resolves.toEqual({
      approved: false,
      reason: 'coverage dropped below the task baseline',
    });
  });

  it('sends an idempotency key of agent, phase and commit (or round before there is a commit)', async () => {
    coordinator = await startFakeCoordinator(() => ok({ approved: true }));
    const client = clientFor(coordinator.url);
    await client.reportGates(report);
    await client.reportGates({ ...report, phase: 'post-commit', commitSha: '9fceb02d0ae598e95dc970b74767f19372d61af8' });
    expect(coordinator.requests.map((r) => r.headers['idempotency-key'])).toEqual([
      `${report.agentId}:pre-commit:2`,
      `${report.agentId}:post-commit:9fceb02d0ae598e95dc970b74767f19372d61af8`,
    ]);
  });

  it('keys a report without commit or round by its content: stable across retries, distinct across reports', async () => {
    coordinator = await startFakeCoordinator(() => ok({ approved: true }));
    const client = clientFor(coordinator.url);
    const { round: _round, ...unnumbered } = report;
    await client.reportGates(unnumbered);
    await client.reportGates(unnumbered);
    await client.reportGates({ ...unnumbered, gates: [{ name: 'tests', outcome: 'failed', durationMs: 3 }] });
    const [first, retry, other] = coordinator.requests.map((r) => String(r.headers['idempotency-key']));
    expect(first).toMatch(new RegExp(`^${report.agentId}:pre-commit:body-[0-9a-f]{16}$`));
    expect(retry).toBe(first);
    expect(other).not.toBe(first);
  });

  it('keeps a path prefix in the base URL', async () => {
    coordinator = await startFakeCoordinator(() => ok({ approved: true }));
    await clientFor(`${coordinator.url}/coordinator`).reportGates(report);
    expect(coordinator.requests[0]?.url).toBe('/coordinator/api/quality-gates/report');
  });

  it('classifies 503s as retryable, so a retry once the coordinator is back gets the verdict', async () => {
    coordinator = await startFakeCoordinator((_req, index) => (index < 2 ? { status: 503, body: 'warming up' } : ok({ approved: true })));
    const client = clientFor(coordinator.url);
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await client.reportGates(report).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CoordinatorUnavailableError);
      expect(error).toMatchObject({ retryable: true, type: 'CoordinatorUnavailable', status: 503 });
    }
    await expect(client.reportGates(report)).resolves.toEqual({ approved: true });
    const keys = new Set(coordinator.requests.map((r) => r.headers['idempotency-key']));
    expect(keys.size).toBe(1);
  });

  it('classifies 429 as retryable', async () => {
    coordinator = await startFakeCoordinator(() => ({ status: 429, body: '' }));
    await expect(clientFor(coordinator.url).reportGates(report)).rejects.toMatchObject({ retryable: true, status: 429 });
  });

  it('classifies a 400 as a non-retryable rejection', async () => {
    coordinator = await startFakeCoordinator(() => ({ status: 400, body: '{"error":"gates must not be empty"}' }));
    const error = await clientFor(coordinator.url).reportGates(report).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CoordinatorRejectedError);
    expect(error).toMatchObject({ retryable: false, type: 'CoordinatorRejected', status: 400 });
    expect((error as Error).message).toContain('gates must not be empty');
  });

  it.each([
    ['not JSON', 'OK'],
    ['JSON without a verdict', '{"status":"received"}'],
    ['a verdict of the wrong type', '{"approved":"yes"}'],
  ])('classifies a 200 with a body that is %s as a non-retryable rejection', async (_case, body) => {
    coordinator = await startFakeCoordinator(() => ({ status: 200, body }));
    await expect(clientFor(coordinator.url).reportGates(report)).rejects.toMatchObject({ type: 'CoordinatorRejected', retryable: false });
  });

  it('classifies a coordinator that does not answer in time as retryable', async () => {
    coordinator = await startFakeCoordinator(() => 'hang');
    const error = await clientFor(coordinator.url, 300).reportGates(report).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CoordinatorUnavailableError);
    expect((error as Error).message).toContain('did not answer within 300 ms');
  });

  it('classifies a refused connection as retryable', async () => {
    const port = await freePort();
    const error = await clientFor(`http://127.0.0.1:${port}`).reportGates(report).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CoordinatorUnavailableError);
    expect((error as Error).message).toContain('ECONNREFUSED');
  });

  it.each([
    ['percent-encoded', 'hunter2%2Fx', 'hunter2'],
    ['with an unescaped @', 'p@ss-hunter2', 'ss-hunter2'],
  ])('never puts a password from the URL (%s) in its error: fetch quotes the URL it refuses', async (_case, password, leak) => {
    const error = await clientFor(`http://orchestrator:${password}@127.0.0.1:1/qc`).reportGates(report).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CoordinatorUnavailableError);
    expect((error as Error).message).toContain('includes credentials');
    expect((error as Error).message).not.toContain(leak);
  });

  it('scrubs credentials from whatever network error the fetch reports', async () => {
    const failing = (async () => {
      throw new TypeError('fetch failed', { cause: new Error('connect to https://bob:s3cr3t-pass@proxy.internal failed; password=letmein') });
    }) as typeof fetch;
    const error = await createCoordinatorClient({ baseUrl: 'https://coordinator.internal', timeoutMs: 5000, fetch: failing }).reportGates(report).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^coordinator unreachable: connect to https:\/\/\[redacted\]@proxy\.internal failed/);
    expect((error as Error).message).not.toMatch(/s3cr3t-pass|letmein/);
  });

  it('lets cancellation through as the caller’s abort reason, not as a coordinator failure', async () => {
    coordinator = await startFakeCoordinator(() => 'hang');
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    setTimeout(() => controller.abort(reason), 100);
    await expect(clientFor(coordinator.url).reportGates(report, { signal: controller.signal })).rejects.toBe(reason);
  });
});

/** A port nothing listens on: bind one, note it, release it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
