/**
 * One worker with the default slot budgets holds 500 agents waiting on the model, all `running`:
 * model calls take slots on their own task queue, so the git and state work of the agents
 * still starting is never stuck behind the ones already waiting (with one shared budget of 50,
 * agent 51 would stay `spawning`). The real workflow, the real wiring, a hanging fake model.
 * Lean on purpose: small repositories, no gate ever runs, the runs are terminated at the end.
 */
import { randomUUID } from 'node:crypto';
import { keys } from '../state/keys';
import { createRemoteRepo } from './support/git-fixtures';
import { eventually, startHarness, type Harness } from './support/harness';

const AGENTS = 500;
const TIMEOUT_MS = 20 * 60_000;

describe('a worker with the default slot budgets', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await terminateAll();
    await h?.close();
  }, TIMEOUT_MS);

  async function terminateAll(): Promise<void> {
    if (!h) return;
    const ids: string[] = [];
    for await (const e of h.client.workflow.list({ query: `ExecutionStatus = 'Running' AND TaskQueue = '${h.taskQueue}'` })) ids.push(e.workflowId);
    await inLanes(ids, 20, (id) => h.client.workflow.getHandle(id).terminate('test over').then(() => undefined));
  }

  it(
    `holds ${AGENTS} agents waiting on the model, every one of them running`,
    async () => {
      expect(h.config.WORKER_ACTIVITY_SLOTS).toBeLessThan(AGENTS); // the budget that used to hold model calls too
      // Ten repositories: `git worktree add` slows with every worktree a mirror holds, which is not what this test is about.
      // They define no gates, so the runs say missingGates: skip (otherwise they fail fast with GatesUnavailable).
      // The default failover deadline (30 s): with 500 agents starting, a host task waits past it for a slot
      // on this live host; the workflow asks whether the host still polls its queue and waits for it again.
      const remotes = Array.from({ length: 10 }, () => createRemoteRepo({ 'README.md': '# capacity\n' }));
      const runId = randomUUID().slice(0, 8);
      const taskIds = Array.from({ length: AGENTS }, (_, i) => `T-cap-${runId}-${i}`);
      for (const taskId of taskIds) h.fakeModel.script(taskId, [{ text: 'never answered', delayMs: 3_600_000 }]);
      const agentIds = await inLanes(taskIds, 25, async (taskId) => (await h.spawn({ taskId, repository: remotes[Number(taskId.split('-').pop()) % remotes.length]!.url, gateProfile: 'minimal', missingGates: 'skip' })).workflowId.replace(/^agent-/, ''));

      const running = async () => {
        let n = 0;
        for (let i = 0; i < agentIds.length; i += 100) {
          const raws = await h.redis.mget(...agentIds.slice(i, i + 100).map((a) => keys.agent(a)));
          n += raws.filter((raw) => raw !== null && (JSON.parse(raw) as { status: string }).status === 'running').length;
        }
        return n;
      };
      await eventually(async () => (await running()) === AGENTS, TIMEOUT_MS - 60_000, `${AGENTS} agents running`);
      // ...and each of them is inside its model call at the same time.
      await eventually(async () => taskIds.every((t) => h.fakeModel.requestsFor(t).length === 1), 120_000, 'every agent in its model call');
      expect(await running()).toBe(AGENTS);
    },
    TIMEOUT_MS,
  );
});

async function inLanes<T, R>(items: T[], lanes: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(lanes, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}
