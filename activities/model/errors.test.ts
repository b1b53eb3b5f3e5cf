/**
 * Model API failures, classified from what the real SDK throws when the scripted Messages API
 * answers with an error: worth a retry (rate limit, overload, 5xx, no connection; retry-after
 * honoured) or the request's fault (other 4xx). Through callModel, as the activities call it.
 */
import { createServer, type AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { FakeModelServer } from '../../test/support/fake-model';
import { callModel } from './call-model';
import { ModelRequestRejectedError, ModelUnavailableError, retryAfterMs } from './errors';

describe('model API errors', () => {
  const fake = new FakeModelServer();
  let anthropic: Anthropic;
  beforeAll(async () => {
    anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: await fake.start(), maxRetries: 0 });
  });
  afterAll(() => fake.stop());

  const ask = (key: string) =>
    callModel(
      { anthropic, requestTimeoutMs: 5000 },
      { model: 'claude-test', max_tokens: 16, messages: [{ role: 'user', content: `Task: ${key}` }] },
      {},
    );

  it.each([
    [429, { 'retry-after': '7' }, 7000],
    [429, { 'retry-after-ms': '1500' }, 1500],
    [529, {}, undefined],
    [500, {}, undefined],
    [408, {}, undefined],
  ])('answer %s with %j is worth a retry (next delay %s ms)', async (status, headers, delay) => {
    const key = `E-${status}-${Object.keys(headers).join('')}`;
    fake.script(key, [{ status, headers, body: { type: 'error', error: { type: 'overloaded_error', message: 'busy' } } }]);
    const err = await ask(key).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModelUnavailableError);
    // The API answered: nothing was billed, so a budget hold for the call can go.
    expect(err).toMatchObject({ type: 'ModelUnavailable', retryable: true, nextRetryDelayMs: delay, unbilled: true });
    expect((err as Error).message).toMatch(new RegExp(`model API answered ${status}`));
  });

  it.each([400, 401, 403, 404, 413])('answer %s is the request\'s fault and final', async (status) => {
    const key = `E-${status}`;
    fake.script(key, [{ status, body: { type: 'error', error: { type: 'invalid_request_error', message: 'no' } } }]);
    const err = await ask(key).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelRequestRejectedError);
    expect(err).toMatchObject({ type: 'ModelRequestRejected', retryable: false, unbilled: true });
  });

  it('never puts the key or a header in the message', async () => {
    fake.script('E-key', [{ status: 401, body: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } } }]);
    const err = (await ask('E-key').catch((e: unknown) => e)) as Error;
    expect(err.message).not.toContain('sk-ant-test');
    expect(err.message).toBe('model API answered 401 (authentication_error)');
  });

  it('a refused connection is worth a retry', async () => {
    const closed = new Anthropic({ apiKey: 'k', baseURL: `http://127.0.0.1:${await closedPort()}`, maxRetries: 0 });
    const err = await callModel({ anthropic: closed, requestTimeoutMs: 5000 }, { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }, {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'ModelUnavailable', retryable: true, message: expect.stringMatching(/unreachable/), unbilled: true });
  });

  it('a request that timed out may have been billed', async () => {
    fake.script('E-timeout', [{ text: 'late', delayMs: 3000 }]);
    const err = await callModel({ anthropic, requestTimeoutMs: 300 }, { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'Task: E-timeout' }] }, {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'ModelUnavailable', retryable: true, unbilled: false });
  });

  it('reports the cancellation, not the abort, when the activity is cancelled', async () => {
    fake.script('E-slow', [{ text: 'late', delayMs: 5000 }]);
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    setTimeout(() => controller.abort(reason), 100);
    await expect(
      callModel({ anthropic, requestTimeoutMs: 10_000 }, { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'Task: E-slow' }] }, { signal: controller.signal }),
    ).rejects.toBe(reason);
  });

  it('heartbeats while it waits for the answer', async () => {
    fake.script('E-beat', [{ text: 'done', delayMs: 2500 }]);
    let beats = 0;
    await callModel({ anthropic, requestTimeoutMs: 10_000 }, { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'Task: E-beat' }] }, { heartbeat: () => (beats += 1) });
    expect(beats).toBeGreaterThanOrEqual(2);
  });
});

/** A port nothing listens on (just freed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('retryAfterMs', () => {
  const h = (init: Record<string, string>) => new Headers(init);
  it('reads retry-after-ms, retry-after seconds and an HTTP date, bounded to ten minutes', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(h({ 'retry-after-ms': '250' }), now)).toBe(250);
    expect(retryAfterMs(h({ 'retry-after': '3' }), now)).toBe(3000);
    expect(retryAfterMs(h({ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }), now)).toBe(30_000);
    expect(retryAfterMs(h({ 'retry-after': '86400' }), now)).toBe(600_000);
  });
  it('leaves the delay to the retry policy when there is nothing usable', () => {
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs(h({}))).toBeUndefined();
    expect(retryAfterMs(h({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(h({ 'retry-after': '0' }))).toBeUndefined();
  });
});
