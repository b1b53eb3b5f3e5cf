/**
 * The Valkey projection stays exact when the state activity is retried: every write is applied,
 * then the activity fails once as if the worker died before reporting, and Temporal retries it.
 */
import { keys } from '../state/keys';
import type { Activities } from '../activities';
import { createRemoteRepo, nodeProjectFiles } from './support/git-fixtures';
import { startHarness, type Harness } from './support/harness';
import { subscribe } from './support/redis';

describe('state writes under activity retries', () => {
  let h: Harness;
  const attempts = new Map<string, number>();
  beforeAll(async () => {
    h = await startHarness({}, {
      wrapActivities: (acts: Activities): Activities => ({
        ...acts,
        async recordState(args) {
          const applied = await acts.recordState(args);
          const key = `${args.view.agentId}:${args.seq}`;
          const n = (attempts.get(key) ?? 0) + 1;
          attempts.set(key, n);
          if (n === 1) throw new Error('simulated crash after the write');
          return applied;
        },
      }),
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('publishes each transition once and ends in the right state although every write ran twice', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-retry-state';
    h.fakeModel.script(taskId, [{ tools: [{ name: 'bash', input: { command: 'echo a > a.txt' } }] }, { text: 'Done.' }]);
    const events = await subscribe(keys.events());
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const agentId = handle.workflowId.replace('agent-', '');
    const final = await handle.result();
    await new Promise((r) => setTimeout(r, 200));
    await events.stop();
    expect(final.status).toBe('completed');
    const retried = [...attempts.entries()].filter(([k, n]) => k.startsWith(agentId) && n >= 2);
    expect(retried.length).toBeGreaterThanOrEqual(4);
    const mine = events.messages.filter((e) => (e as { agentId: string }).agentId === agentId) as { from: string | null; to: string }[];
    expect(mine.map((e) => `${e.from}->${e.to}`)).toEqual(['null->spawning', 'spawning->running', 'running->completed']);
    const stored = JSON.parse((await h.redis.get(keys.agent(agentId)))!) as { status: string; seq: number };
    expect(stored.status).toBe('completed');
    expect(stored.seq).toBe(Math.max(...[...attempts.keys()].filter((k) => k.startsWith(agentId)).map((k) => Number(k.split(':')[1]))));
  });
});
