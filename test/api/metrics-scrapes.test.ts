/**
 * `GET /metrics` is unauthenticated and counts active agents from Temporal visibility (one count
 * query per agent type). Scrapes that arrive together (Prometheus replicas, a client hammering the
 * endpoint) must not multiply those queries: visibility is shared by every deployment of the
 * Temporal cluster.
 */
import { AGENT_TYPES } from '../../domain/agent';
import { parsePrometheus, sample } from '../support/prometheus';
import { startTestApi, type TestApi } from './api-harness';

describe('concurrent /metrics scrapes', () => {
  let api: TestApi;
  let countQueries = 0;
  beforeAll(async () => {
    api = await startTestApi();
    // The real client's count, counted: each call is one visibility query against Temporal.
    const count = api.client.workflow.count.bind(api.client.workflow);
    api.client.workflow.count = async (query) => {
      countQueries += 1;
      return count(query);
    };
  });
  afterAll(async () => {
    await api?.close();
  });

  it('share one set of count queries, and every scrape still reports the active agents', async () => {
    countQueries = 0;
    const started = Date.now();
    const scrapes = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const res = await fetch(`${api.baseUrl}/metrics`);
        return { status: res.status, samples: parsePrometheus(await res.text()) };
      }),
    );
    const elapsedMs = Date.now() - started;
    process.stdout.write(`200 concurrent scrapes: ${countQueries} count queries, ${elapsedMs} ms\n`);
    expect(scrapes.every((s) => s.status === 200)).toBe(true);
    for (const s of scrapes) expect(sample(s.samples, 'orchestrator_active_agents', { agent_type: 'worker' })).toBe(0);
    // Shared computations: a query per agent type for each (600 before, one set per scrape). A count
    // is reused for 2 s, so on a loaded machine, where the 200 scrapes arrive over more than that,
    // a few sets are made: one per 2 s window at most.
    expect(countQueries % AGENT_TYPES.length).toBe(0);
    expect(countQueries).toBeLessThanOrEqual(AGENT_TYPES.length * (Math.ceil(elapsedMs / 2000) + 1));
  });
});
