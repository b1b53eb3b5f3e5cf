/**
 * A transcript the agent wrote to be slow to redact: each page is redacted as it is served, and a
 * page of such messages held the API's event loop for as long as all of them took (minutes for
 * 500), so status requests and kills waited behind it.
 */
import { randomUUID } from 'node:crypto';
import { startTestApi, TEST_API_KEY, type TestApi } from './api-harness';

describe('a transcript page of messages slow to redact', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('ends early with nextFrom once its redaction took a second, and the rest is served from there', async () => {
    const agentId = randomUUID();
    const at = new Date().toISOString();
    await api.store.write({ seq: 1, at, view: { agentId, taskId: `T-${agentId.slice(0, 8)}`, agentType: 'worker', status: 'running', spawnedAt: at } });
    // A keyword of the scanner's rules repeated through a 30 KB tool result, 200 times.
    const slow = JSON.stringify({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'LS0tLS1CRUdJTi'.repeat(2_000) }] });
    const key = `orchestrator:transcript:${agentId}`;
    await api.redis.hset(key, Object.fromEntries(Array.from({ length: 200 }, (_, i) => [String(i), slow])));
    const headers = { 'X-API-Key': TEST_API_KEY };
    try {
      const started = Date.now();
      const body = (await (await fetch(`${api.baseUrl}/agents/${agentId}/transcript?limit=200`, { headers })).json()) as { messages: unknown[]; nextFrom?: number; total: number };
      // Printed, not asserted: all 200 took about 80 s before (0.4 s each).
      console.log(`a page of 200 slow messages: ${body.messages.length} served in ${Date.now() - started} ms, nextFrom ${body.nextFrom}`);
      expect(body.total).toBe(200);
      expect(body.messages.length).toBeGreaterThan(0);
      expect(body.messages.length).toBeLessThan(200);
      expect(body.nextFrom).toBe(body.messages.length);
      // The rest is there from nextFrom on.
      const next = (await (await fetch(`${api.baseUrl}/agents/${agentId}/transcript?from=${body.nextFrom}&limit=1`, { headers })).json()) as { messages: { index: number }[] };
      expect(next.messages.map((m) => m.index)).toEqual([body.nextFrom]);
    } finally {
      await api.redis.del(key);
    }
  });
});
