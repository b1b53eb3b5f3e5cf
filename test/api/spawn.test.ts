import { randomUUID } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import type { AgentRunInput } from '../../domain/agent';
import { SA } from '../../domain/search-attributes';
import { AgentStateStore } from '../../state/agent-state-store';
import { keys } from '../../state/keys';
import { eventually, spawnBody, startTestApi, type TestApi } from './api-harness';

/** Spawn behaviour with no worker on the task queue: workflows start and wait, `spawning`. */
describe('POST /agents/spawn (real Temporal, no worker)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({
      env: { AGENT_MAX_TURNS: '7', AGENT_MAX_OUTPUT_TOKENS: '12345', AGENT_MAX_WALL_TIME_SECONDS: '600', AGENT_MAX_COST_USD: '2.5', AGENT_MAX_FEEDBACK_ROUNDS: '2' },
    });
  });
  afterAll(async () => {
    await api.close();
  });

  const handleOf = (agentId: string) => api.client.workflow.getHandle(`agent-${agentId}`);

  async function startInput(agentId: string): Promise<AgentRunInput> {
    const history = await handleOf(agentId).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    return defaultPayloadConverter.fromPayload<AgentRunInput>(payload!);
  }

  async function countWorkflowsForTask(taskId: string): Promise<number> {
    let n = 0;
    for await (const _ of api.client.workflow.list({ query: `TaskId = '${taskId}' AND TaskQueue = '${api.taskQueue}'` })) n++;
    return n;
  }

  it('starts an agentRun workflow with search attributes, summary, priority and the full input (202)', async () => {
    const body = spawnBody({ priority: 3 });
    const res = await api.request('POST', '/agents/spawn', { body });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ agentId: expect.any(String), status: 'spawning' });
    const agentId: string = res.body.agentId;

    const d = await handleOf(agentId).describe();
    expect(d.type).toBe('agentRun');
    expect(d.status.name).toBe('RUNNING');
    expect(d.taskQueue).toBe(api.taskQueue);
    expect(d.priority?.priorityKey).toBe(3);
    expect(await d.staticSummary()).toBe(`worker on ${String(body.taskId)}, https://git.example.com/repo.git@main`);
    const sa = d.typedSearchAttributes;
    expect([sa.get(SA.taskId), sa.get(SA.agentType), sa.get(SA.agentStatus), sa.get(SA.repository), sa.get(SA.gateProfile)]).toEqual([
      body.taskId,
      'worker',
      'spawning',
      'https://git.example.com/repo.git',
      'standard',
    ]);

    const input = await startInput(agentId);
    expect(input).toEqual({
      agentId,
      taskId: body.taskId,
      agentType: 'worker',
      gateProfile: 'standard',
      priority: 3,
      context: { repository: 'https://git.example.com/repo.git', branch: 'main', workItems: ['US-001'], skills: ['typescript'] },
      spawnedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      budgets: { maxTurns: 7, maxOutputTokens: 12345, maxWallTimeSeconds: 600, maxCostUsd: 2.5 },
      maxFeedbackRounds: 2,
      // How long the workflow waits for a silent host before moving the agent (HOST_FAILOVER_SECONDS).
      hostFailoverSeconds: 30,
    });
  });

  it('takes the budgets a spawn sets, each within its ceiling, and the ceiling for the others', async () => {
    const res = await api.request('POST', '/agents/spawn', { body: spawnBody({ budgets: { maxTurns: 3, maxCostUsd: 0.05 } }) });
    expect(res.status).toBe(202);
    expect((await startInput(res.body.agentId)).budgets).toEqual({ maxTurns: 3, maxOutputTokens: 12345, maxWallTimeSeconds: 600, maxCostUsd: 0.05 });
  });

  it('gives a reviewer the base its branch is compared with', async () => {
    const body = spawnBody({ agentType: 'reviewer', context: { repository: 'https://git.example.com/repo.git', branch: 'feature/x', baseBranch: 'main' } });
    const res = await api.request('POST', '/agents/spawn', { body });
    expect(res.status).toBe(202);
    expect((await startInput(res.body.agentId)).context).toEqual({ repository: 'https://git.example.com/repo.git', branch: 'feature/x', baseBranch: 'main', workItems: [], skills: [] });
  });

  it.each([
    ['reviewer', 'strict'],
    ['tester', 'minimal'],
  ])('gives a %s the %s gate profile and priority 5 by default', async (agentType, profile) => {
    const res = await api.request('POST', '/agents/spawn', { body: spawnBody({ agentType }) });
    expect(res.status).toBe(202);
    const d = await handleOf(res.body.agentId).describe();
    expect(d.typedSearchAttributes.get(SA.gateProfile)).toBe(profile);
    expect(d.priority?.priorityKey).toBe(5);
  });

  it('passes the custom gates through to the workflow', async () => {
    const body = spawnBody({ gateProfile: 'custom' });
    (body.context as Record<string, unknown>).gates = ['typecheck', 'tests'];
    const res = await api.request('POST', '/agents/spawn', { body });
    const input = await startInput(res.body.agentId);
    expect(input.gateProfile).toBe('custom');
    expect(input.context.gates).toEqual(['typecheck', 'tests']);
  });

  it('passes missingGates through to the workflow, and leaves it out when the spawn does not say', async () => {
    const skip = await api.request('POST', '/agents/spawn', { body: spawnBody({ missingGates: 'skip' }) });
    expect((await startInput(skip.body.agentId)).missingGates).toBe('skip');
    const unsaid = await api.request('POST', '/agents/spawn', { body: spawnBody() });
    expect((await startInput(unsaid.body.agentId)).missingGates).toBeUndefined();
  });

  it('returns the live agent (200) instead of starting a second one for the same task and agent type', async () => {
    const body = spawnBody();
    const first = await api.request('POST', '/agents/spawn', { body });
    const second = await api.request('POST', '/agents/spawn', { body });
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ agentId: first.body.agentId, status: 'spawning' });
    expect(await countWorkflowsForTask(String(body.taskId))).toBe(1);
  });

  it('starts exactly one workflow for five concurrent duplicate spawns', async () => {
    const body = spawnBody();
    const responses = await Promise.all(Array.from({ length: 5 }, () => api.request('POST', '/agents/spawn', { body })));
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 202]);
    expect(new Set(responses.map((r) => r.body.agentId)).size).toBe(1);
    await new Promise((r) => setTimeout(r, 500)); // give visibility time to show a second workflow, were there one
    expect(await countWorkflowsForTask(String(body.taskId))).toBe(1);
  });

  it('starts a separate agent for another agent type on the same task', async () => {
    const body = spawnBody();
    const worker = await api.request('POST', '/agents/spawn', { body });
    const reviewer = await api.request('POST', '/agents/spawn', { body: { ...body, agentType: 'reviewer' } });
    expect(reviewer.status).toBe(202);
    expect(reviewer.body.agentId).not.toBe(worker.body.agentId);
  });

  it('starts a new agent once the previous one for the task has ended', async () => {
    const body = spawnBody();
    const first = await api.request('POST', '/agents/spawn', { body });
    await handleOf(first.body.agentId).terminate('done for the test');
    const again = await api.request('POST', '/agents/spawn', { body });
    expect(again.status).toBe(202);
    expect(again.body.agentId).not.toBe(first.body.agentId);
    expect(JSON.parse((await api.redis.get(keys.spawnClaim(String(body.taskId), 'worker', undefined, api.config.TEMPORAL_TASK_QUEUE)))!).agentId).toBe(again.body.agentId);
  });

  it('starts a new agent when the existing claim is for an agent the Valkey projection shows finished', async () => {
    const body = spawnBody();
    const first = await api.request('POST', '/agents/spawn', { body });
    await api.store.write({
      seq: 1,
      view: { agentId: first.body.agentId, taskId: String(body.taskId), agentType: 'worker', status: 'failed', spawnedAt: new Date().toISOString() },
      at: new Date().toISOString(),
    });
    const again = await api.request('POST', '/agents/spawn', { body });
    expect(again.status).toBe(202);
    expect(again.body.agentId).not.toBe(first.body.agentId);
  });

  it('replaces a claim whose workflow never started (its claimer died mid-spawn)', async () => {
    const body = spawnBody();
    const ghost = randomUUID();
    await api.redis.set(keys.spawnClaim(String(body.taskId), 'worker', undefined, api.config.TEMPORAL_TASK_QUEUE), JSON.stringify({ agentId: ghost, claimedAt: Date.now() - 60_000 }));
    const res = await api.request('POST', '/agents/spawn', { body });
    expect(res.status).toBe(202);
    expect(res.body.agentId).not.toBe(ghost);
  });

  it('waits for a fresh claim whose workflow is still being started, then returns that agent', async () => {
    const body = spawnBody();
    const agentId = randomUUID();
    await api.redis.set(keys.spawnClaim(String(body.taskId), 'worker', undefined, api.config.TEMPORAL_TASK_QUEUE), JSON.stringify({ agentId, claimedAt: Date.now() }));
    const pending = api.request('POST', '/agents/spawn', { body });
    await new Promise((r) => setTimeout(r, 300));
    // The "other instance" finishes starting its workflow.
    await api.client.workflow.start('agentRun', {
      workflowId: `agent-${agentId}`,
      taskQueue: api.taskQueue,
      args: [{}],
      typedSearchAttributes: [{ key: SA.agentStatus, value: 'spawning' }],
    });
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.body.agentId).toBe(agentId);
  });

  it('shows the new agent in status right away', async () => {
    const res = await api.request('POST', '/agents/spawn', { body: spawnBody() });
    const status = await eventually(async () => {
      const r = await api.request('GET', `/agents/${res.body.agentId}/status`);
      return r.status === 200 ? r : undefined;
    }, 'status');
    expect(status.body.status).toBe('spawning');
  });

  describe('a claim made before the upgrade put the task queue in its name (this API is not on the default queue)', () => {
    /** The claim's name then: no queue in it (the default queue's name now). */
    const oldClaimKey = (taskId: string) => `orchestrator:spawn:${taskId}:worker`;
    /** How the agent's record was written then: it names no task queue. */
    const oldStore = () => new AgentStateStore(api.redis, { terminalTtlSeconds: 3600, namespace: api.config.TEMPORAL_NAMESPACE });

    /** A live agent of the task, started before the upgrade: its workflow on `taskQueue`, its claim under the old name. */
    async function oldLiveAgent(taskId: string, taskQueue = api.taskQueue): Promise<string> {
      const agentId = randomUUID();
      await api.client.workflow.start('agentRun', {
        workflowId: `agent-${agentId}`,
        taskQueue,
        args: [{}],
        typedSearchAttributes: [
          { key: SA.taskId, value: taskId },
          { key: SA.agentStatus, value: 'running' },
        ],
      });
      await api.redis.set(oldClaimKey(taskId), JSON.stringify({ agentId, claimedAt: Date.now() - 60_000 }));
      return agentId;
    }

    it('answers its live agent (200) and starts no second one', async () => {
      const body = spawnBody();
      const taskId = String(body.taskId);
      const agentId = await oldLiveAgent(taskId);
      await oldStore().write({ seq: 1, view: { agentId, taskId, agentType: 'worker', status: 'running', spawnedAt: new Date().toISOString() }, at: new Date().toISOString() });

      const res = await api.request('POST', '/agents/spawn', { body });
      expect({ status: res.status, agentId: res.body.agentId }).toEqual({ status: 200, agentId });
      expect(await countWorkflowsForTask(taskId)).toBe(1);
      // Still the agent's: a second spawn answers it again.
      expect((await api.request('POST', '/agents/spawn', { body })).body.agentId).toBe(agentId);
    });

    it("answers it when the agent's record is not written yet (its workflow is this queue's)", async () => {
      const body = spawnBody();
      const agentId = await oldLiveAgent(String(body.taskId));
      const res = await api.request('POST', '/agents/spawn', { body });
      expect({ status: res.status, agentId: res.body.agentId }).toEqual({ status: 200, agentId });
    });

    it('answers an old claim on every queue, as before the upgrade: its agent runs on another queue, its record names none', async () => {
      const body = spawnBody();
      const taskId = String(body.taskId);
      const otherQueue = `api-test-other-${randomUUID()}`;
      const agentId = await oldLiveAgent(taskId, otherQueue);
      try {
        await oldStore().write({ seq: 1, view: { agentId, taskId, agentType: 'worker', status: 'running', spawnedAt: new Date().toISOString() }, at: new Date().toISOString() });
        const res = await api.request('POST', '/agents/spawn', { body });
        expect({ status: res.status, agentId: res.body.agentId }).toEqual({ status: 200, agentId });
      } finally {
        await handleOf(agentId).terminate('test cleanup');
      }
    });

    it('refuses the spawn (409 agent_stopping) while that agent is being killed', async () => {
      const body = spawnBody();
      const taskId = String(body.taskId);
      const agentId = await oldLiveAgent(taskId);
      await api.redis.set(keys.killRequested(agentId, api.config.TEMPORAL_NAMESPACE), '1', 'EX', 60);
      const res = await api.request('POST', '/agents/spawn', { body });
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 409, code: 'agent_stopping' });
      expect(await countWorkflowsForTask(taskId)).toBe(1);
    });

    it("starts its own agent when the old claim's agent has finished, and leaves that claim alone", async () => {
      const body = spawnBody();
      const taskId = String(body.taskId);
      const agentId = await oldLiveAgent(taskId);
      await handleOf(agentId).terminate('finished before the spawn');
      const before = await api.redis.get(oldClaimKey(taskId));
      const res = await api.request('POST', '/agents/spawn', { body });
      expect(res.status).toBe(202);
      expect(res.body.agentId).not.toBe(agentId);
      expect(await api.redis.get(oldClaimKey(taskId))).toBe(before);
      expect(JSON.parse((await api.redis.get(keys.spawnClaim(taskId, 'worker', undefined, api.config.TEMPORAL_TASK_QUEUE)))!).agentId).toBe(res.body.agentId);
    });

    it("does not answer the default queue's claim made after the upgrade: its agent's record names that queue", async () => {
      const body = spawnBody();
      const taskId = String(body.taskId);
      const otherQueue = `api-test-other-${randomUUID()}`;
      const agentId = await oldLiveAgent(taskId, otherQueue);
      try {
        const theirs = new AgentStateStore(api.redis, { terminalTtlSeconds: 3600, namespace: api.config.TEMPORAL_NAMESPACE, taskQueue: otherQueue });
        await theirs.write({ seq: 1, view: { agentId, taskId, agentType: 'worker', status: 'running', spawnedAt: new Date().toISOString() }, at: new Date().toISOString() });
        const res = await api.request('POST', '/agents/spawn', { body });
        expect(res.status).toBe(202);
        expect(res.body.agentId).not.toBe(agentId);
      } finally {
        await handleOf(agentId).terminate('test cleanup');
      }
    });
  });
});

/** A start whose answer is lost after Temporal started the workflow (a deadline, a dropped connection). */
describe('POST /agents/spawn when the start answers with an error after starting the run', () => {
  let api: TestApi;
  let real: TestApi;
  beforeAll(async () => {
    real = await startTestApi();
    const workflow = real.client.workflow;
    const lostAnswer = new Proxy(workflow, {
      get: (target, name) =>
        name === 'start'
          ? async (...args: Parameters<typeof workflow.start>) => {
              await target.start(...args);
              throw new Error('14 UNAVAILABLE: the connection dropped before the answer');
            }
          : (Reflect.get(target, name, target) as unknown),
    });
    const client = new Proxy(real.client, { get: (target, name) => (name === 'workflow' ? lostAnswer : Reflect.get(target, name, target)) });
    api = await startTestApi({ env: { TEMPORAL_TASK_QUEUE: real.taskQueue }, deps: { client } });
  });
  afterAll(async () => {
    await api?.close();
    await real?.close();
  });

  it('answers the agent it started and keeps the claim: a second spawn for the task gets the same agent, not a duplicate', async () => {
    const body = spawnBody();
    const first = await api.request('POST', '/agents/spawn', { body });
    expect(first.status).toBe(202);
    expect((await real.client.workflow.getHandle(`agent-${first.body.agentId}`).describe()).status.name).toBe('RUNNING');
    const second = await api.request('POST', '/agents/spawn', { body });
    expect([second.status, second.body.agentId]).toEqual([200, first.body.agentId]);
    const runs = async () => {
      let n = 0;
      for await (const _ of real.client.workflow.list({ query: `TaskId = '${String(body.taskId)}' AND TaskQueue = '${real.taskQueue}'` })) n++;
      return n;
    };
    await eventually(async () => (await runs()) > 0, 'the run in visibility');
    expect(await runs()).toBe(1);
  });
});
