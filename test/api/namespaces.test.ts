/**
 * Two deployments sharing one Valkey, each with its own Temporal namespace, spawning for the same
 * task id: through the REST API, each with a live worker on its namespace (the stand-in workflow).
 */
import { temporal } from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time';
import type { Client } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_NAMES } from '../../domain/search-attributes';
import { spawnBody, startTestApi, type TestApi } from './api-harness';
import { startStandInWorker, type StandInWorker } from './stand-in-worker';

const OTHER_NAMESPACE = 'orchestrator-test-other';

/** Registers the namespace with the agent search attributes (once per dev server), and waits until starts there work. */
async function ensureNamespace(client: Client, namespace: string): Promise<void> {
  const service = client.workflowService;
  await service.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') }).catch((err: { code?: number }) => {
    if (err.code !== 6) throw err; // ALREADY_EXISTS
  });
  const searchAttributes = Object.fromEntries(SEARCH_ATTRIBUTE_NAMES.map((name) => [name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]));
  for (const deadline = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 500))) {
    try {
      const listed = await client.connection.operatorService.listSearchAttributes({ namespace });
      const missing = SEARCH_ATTRIBUTE_NAMES.filter((n) => !(n in (listed.customAttributes ?? {})));
      if (missing.length === 0) return;
      await client.connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((n) => [n, searchAttributes[n]!])) });
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
}

describe('deployments of two Temporal namespaces sharing one Valkey', () => {
  let ours: TestApi;
  let theirs: TestApi;
  const workers: StandInWorker[] = [];

  beforeAll(async () => {
    ours = await startTestApi();
    await ensureNamespace(ours.client, OTHER_NAMESPACE);
    theirs = await startTestApi({ env: { TEMPORAL_NAMESPACE: OTHER_NAMESPACE } });
    workers.push(await startStandInWorker(ours), await startStandInWorker(theirs));
  }, 120_000);
  afterAll(async () => {
    for (const w of workers) await w.stop();
    await ours?.close();
    await theirs?.close();
  });

  it('each starts its own agent for a task id both use, at once, and each keeps answering its own live agent', async () => {
    const body = spawnBody();
    const mine = await ours.request('POST', '/agents/spawn', { body });
    expect(mine.status).toBe(202);

    const t0 = Date.now();
    const other = await theirs.request('POST', '/agents/spawn', { body });
    // Before: the other deployment found our claim, could not see our run in its namespace, waited
    // out the claim's grace (10 s) and took the claim over.
    expect(other.status).toBe(202);
    expect(other.body.agentId).not.toBe(mine.body.agentId);
    expect(Date.now() - t0).toBeLessThan(5000);

    // Our agent still runs: a spawn again answers it, never a second agent for the task.
    const again = await ours.request('POST', '/agents/spawn', { body });
    expect(again.status).toBe(200);
    expect(again.body.agentId).toBe(mine.body.agentId);
    const theirsAgain = await theirs.request('POST', '/agents/spawn', { body });
    expect(theirsAgain.status).toBe(200);
    expect(theirsAgain.body.agentId).toBe(other.body.agentId);
  }, 90_000);
});
