/**
 * The REST API against the REAL `agentRun` workflow and a real worker (test/support/harness.ts):
 * real Temporal dev server, real Valkey, real git on a file:// remote, the scripted fake model.
 * The app starts workflows on `h.config.TEMPORAL_TASK_QUEUE`, which the harness worker polls.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { AgentStateStore } from '../../state/agent-state-store';
import { readKillAudit } from '../../state/audit-log';
import { requesterIdentity } from '../../api/auth';
import { keys } from '../../state/keys';
import { createRemoteRepo, git, nodeProjectFiles, showFile } from '../support/git-fixtures';
import { eventually, resultWithin, startHarness, type Harness } from '../support/harness';
import { startHarnessApi, type ApiResponse, type HarnessApi } from '../support/harness-api';

const API_KEY = 'real-workflow-api-key-0123456789';
const HANG = { text: 'thinking for a long time', delayMs: 60_000 };

type Response = ApiResponse;

describe('REST API against the real agentRun workflow and a live worker', () => {
  let h: Harness;
  let api: HarnessApi;
  let store: AgentStateStore;
  let remote: { dir: string; url: string };

  beforeAll(async () => {
    // A deadline far above a signal-path kill (about a second), so any `forced` answer is a real failure.
    h = await startHarness({ ORCHESTRATOR_API_KEY: API_KEY, KILL_DEADLINE_SECONDS: '20' });
    api = await startHarnessApi(h, API_KEY);
    store = api.store;
    remote = createRemoteRepo(nodeProjectFiles());
  });
  afterAll(async () => {
    if (h) {
      // Killed runs close a moment after the API saw `killed` in Valkey: let them; then terminate
      // whatever a failed test left running on this task queue (only this file's worker polls it).
      const running = async () => {
        const ids: string[] = [];
        for await (const e of h.client.workflow.list({ query: `ExecutionStatus = 'Running' AND TaskQueue = '${h.taskQueue}'` })) ids.push(e.workflowId);
        return ids;
      };
      const left = await eventually(async () => {
        const ids = await running();
        return ids.length === 0 ? ids : undefined;
      }, 5000).catch(running);
      for (const workflowId of left) {
        await h.client.workflow
          .getHandle(workflowId)
          .terminate('test cleanup')
          .catch(() => undefined);
      }
    }
    await api?.close();
    await h?.close();
  });

  const request = (method: string, urlPath: string, body?: unknown): Promise<Response> => api.request(method, urlPath, { body });
  const spawn = async (taskId: string, context: Record<string, unknown> = {}): Promise<string> => {
    const res = await request('POST', '/agents/spawn', {
      taskId,
      agentType: 'worker',
      gateProfile: 'minimal',
      context: { repository: remote.url, branch: 'main', workItems: ['US-001 say hello'], skills: ['typescript'], ...context },
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'spawning' });
    return res.body.agentId as string;
  };
  const statusOf = async (agentId: string): Promise<Response['body']> => (await request('GET', `/agents/${agentId}/status`)).body;
  const waitForStatus = (agentId: string, statuses: string[], timeoutMs = 30_000) =>
    eventually(
      async () => {
        const view = await statusOf(agentId);
        return statuses.includes(view.status) ? view : undefined;
      },
      timeoutMs,
      `agent ${agentId} to reach ${statuses.join(' or ')}`,
    );
  /** Running and inside its (hanging) model call. */
  const waitInModelCall = async (agentId: string, taskId: string) => {
    // Generous: five agents preparing worktrees at once on a loaded 2-core machine take a while.
    await waitForStatus(agentId, ['running'], 120_000);
    await eventually(async () => h.fakeModel.requestsFor(taskId).length === 1, 120_000, `the model call of ${taskId}`);
  };
  /** The text of the first user message the model received for a task. */
  const firstMessageText = (taskId: string): string => {
    const content = h.fakeModel.requestsFor(taskId)[0]!.body.messages[0]!.content;
    return typeof content === 'string' ? content : (content as { text?: string }[]).map((b) => b.text ?? '').join('\n');
  };
  const worktreeOf = (agentId: string) => path.join(h.workspaceRoot, 'worktrees', agentId);
  const auditFor = async (agentId: string) => (await readKillAudit(h.redis, 1000)).filter((r) => r.agentId === agentId);

  let completedAgentId: string;
  let killedAgentId: string;

  it('spawns over HTTP, the agent runs its tool call and the status shows completed with the pushed branch', async () => {
    const taskId = `T-real-${randomUUID().slice(0, 8)}`;
    h.fakeModel.script(taskId, [{ tools: [{ name: 'bash', input: { command: 'echo "hello from the agent" > hello.txt && cat hello.txt' } }] }, { text: 'Done.' }]);
    const agentId = await spawn(taskId);
    completedAgentId = agentId;

    const final = await waitForStatus(agentId, ['completed', 'failed', 'killed'], 60_000);
    expect(final).toMatchObject({ agentId, taskId, agentType: 'worker', status: 'completed', startedAt: expect.any(String), completedAt: expect.any(String) });
    const branch = `agent/${taskId}/${agentId.slice(0, 8)}`;
    expect(final.result).toMatchObject({ branch, pushed: true, turns: 2 });
    expect(final.result.commitSha).toMatch(/^[0-9a-f]{40}$/);
    expect(git(remote.dir, 'rev-parse', branch)).toBe(final.result.commitSha);
    expect(showFile(remote.dir, branch, 'hello.txt')).toBe('hello from the agent');
    // The tool really ran: its output went back to the model.
    expect(JSON.stringify(h.fakeModel.requestsFor(taskId)[1]!.body.messages[2])).toContain('hello from the agent');
    // `completed` is recorded once the branch is pushed; cleanup removes the worktree before the run closes.
    await h.client.workflow.getHandle(`agent-${agentId}`).result();
    expect(existsSync(worktreeOf(agentId))).toBe(false);
    // The seed's body (work items as ids) still states the task.
    expect(firstMessageText(taskId)).toContain('## Work items\n\n- US-001 say hello');
  });

  it('states the task in the first request: instructions and structured work items with acceptance criteria', async () => {
    const taskId = `T-real-${randomUUID().slice(0, 8)}`;
    h.fakeModel.script(taskId, [{ tools: [{ name: 'bash', input: { command: 'echo ok > ok.txt' } }] }, { text: 'Done.' }]);
    const instructions = 'Add a greeting module.\n\tKeep the public API stable; no new dependencies.';
    const agentId = await spawn(taskId, {
      instructions,
      workItems: [{ id: 'US-7', title: 'Greeting', description: 'Say hello to the caller.', acceptanceCriteria: ['greet() returns "hello"', 'covered by a test'] }, 'US-8'],
    });
    expect(await waitForStatus(agentId, ['completed', 'failed', 'killed'], 60_000)).toMatchObject({ status: 'completed' });
    const first = firstMessageText(taskId);
    expect(first).toContain(`## Instructions\n\n${instructions}`);
    expect(first).toContain('### US-7: Greeting\n\nSay hello to the caller.\n\nAcceptance criteria:\n- greet() returns "hello"\n- covered by a test');
    expect(first).toContain('- US-8');
    // The stored task context keeps what the coordinator sent.
    expect((await store.getTask(taskId))?.context).toMatchObject({ instructions, workItems: [{ id: 'US-7', title: 'Greeting' }, 'US-8'] });
  });

  it("redacts the secrets the AI review quotes from the diff: neither its Valkey record nor the status a client reads holds them", async () => {
    const taskId = `T-real-${randomUUID().slice(0, 8)}`;
    const aws = 'AKIAZ3MLQ7T4XW2PNBVD';
    const github = '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';
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const pemBody = pem.split('\n')[1]!;
    // The diff holds the secrets in pieces the scanner cannot see; the reviewer quotes them whole.
    h.fakeModel.script(taskId, [
      { tools: [{ name: 'bash', input: { command: "printf 'const id = process.env.AWS_ID_PART_1 + process.env.AWS_ID_PART_2;\\n' > creds.ts" } }] },
      { text: 'Done.' },
      { text: `creds.ts:1 assembles ${aws}; the CI token ${github} and this key are exposed:\n${pem}\nVERDICT: APPROVE` },
    ]);
    const res = await request('POST', '/agents/spawn', {
      taskId,
      agentType: 'worker',
      gateProfile: 'custom',
      context: { repository: remote.url, branch: 'main', workItems: ['US-001 read the credentials'], skills: [], gates: ['review'] },
    });
    expect(res.status).toBe(202);
    const agentId = res.body.agentId as string;
    const final = await waitForStatus(agentId, ['completed', 'failed', 'killed'], 120_000);
    expect(final).toMatchObject({ status: 'completed', result: { gates: [{ name: 'review', outcome: 'passed', detail: expect.stringContaining('assembles AKIA…;') }] } });
    // The review the model really answered, and what of it is kept and served.
    expect(JSON.stringify(h.fakeModel.requestsFor(taskId)[2]!.body.messages)).toContain('AWS_ID_PART_1');
    const record = await h.redis.hgetall(keys.reviews(agentId));
    expect(Object.keys(record)).toEqual(['post-commit:1']);
    for (const [where, text] of [
      ['review record', JSON.stringify(record)],
      ['status', JSON.stringify(final)],
      ['agent record', (await h.redis.get(keys.agent(agentId))) ?? ''],
    ] as const) {
      for (const secret of [aws, github, pemBody]) expect({ where, leaked: text.includes(secret) }).toEqual({ where, leaked: false });
    }
  });

  it('kills an agent in a hanging model call through the signal path: killed, not forced, within seconds, audited', async () => {
    const taskId = `T-real-${randomUUID().slice(0, 8)}`;
    h.fakeModel.script(taskId, [HANG]);
    const agentId = await spawn(taskId);
    killedAgentId = agentId;
    await waitInModelCall(agentId, taskId);

    const res = await request('POST', `/agents/${agentId}/kill`, { reason: 'operator stop' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ agentId, status: 'killed', alreadyFinished: false, error: 'killed: operator stop' });
    expect(res.body.forced ?? false).toBe(false);
    // Not forced: the run abandoned the model call and recorded `killed` itself.
    // The API answers once Valkey says `killed`; cleanup then removes the worktree and the run closes.
    const handle = h.client.workflow.getHandle(`agent-${agentId}`);
    expect(await handle.result()).toMatchObject({ status: 'killed' });
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(existsSync(worktreeOf(agentId))).toBe(false);
    expect(await auditFor(agentId)).toEqual([expect.objectContaining({ outcome: 'killed', reason: 'operator stop', requestedBy: requesterIdentity(API_KEY) })]);
  });

  it('answers a kill of a finished agent with its final status and alreadyFinished', async () => {
    const again = await request('POST', `/agents/${killedAgentId}/kill`, { reason: 'second' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ agentId: killedAgentId, status: 'killed', alreadyFinished: true, forced: false, error: 'killed: operator stop' });

    const done = await request('POST', `/agents/${completedAgentId}/kill`);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ agentId: completedAgentId, status: 'completed', alreadyFinished: true, forced: false, result: { pushed: true } });
    expect((await auditFor(completedAgentId)).map((r) => r.outcome)).toEqual(['already-finished']);
  });

  it('kill-all stops 5 live agents in their model calls: all killed, none forced, worktrees gone', async () => {
    const taskIds = Array.from({ length: 5 }, () => `T-real-${randomUUID().slice(0, 8)}`);
    for (const taskId of taskIds) h.fakeModel.script(taskId, [HANG]);
    const agentIds = await Promise.all(taskIds.map((taskId) => spawn(taskId)));
    await Promise.all(agentIds.map((agentId, i) => waitInModelCall(agentId, taskIds[i]!)));

    const res = await request('POST', '/agents/kill-all', { reason: 'incident drill' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total: 5, killed: 5, failed: 0, forced: 0, errors: [] });
    for (const agentId of agentIds) {
      expect(await store.getAgent(agentId)).toMatchObject({ status: 'killed' });
      await resultWithin(h.client.workflow.getHandle(`agent-${agentId}`), 60_000); // cleanup done
      expect(existsSync(worktreeOf(agentId))).toBe(false);
      expect((await auditFor(agentId)).map((r) => r.outcome)).toEqual(['killed']);
    }
  });
});
