/**
 * The agentRun workflow end to end: real Temporal dev server, real Valkey, real git, the real
 * Anthropic SDK against the scripted fake Messages API.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { keys } from '../state/keys';
import type { AgentStatusView } from '../domain/agent';
import { createRemoteRepo, git, nodeProjectFiles, remoteBranches, showFile } from './support/git-fixtures';
import { historyText, localActivityResults, localActivityResultsIn } from './support/activity-history';
import { eventually, startHarness, TEST_MODEL_KEY, type Harness } from './support/harness';
import { subscribe } from './support/redis';

describe('agentRun workflow', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const agentState = async (agentId: string) => {
    const raw = await h.redis.get(keys.agent(agentId));
    return raw ? (JSON.parse(raw) as AgentStatusView) : null;
  };

  it('runs a worker agent spawning -> running -> completed and commits its tool changes on the agent branch', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-happy-1';
    h.fakeModel.script(taskId, [
      {
        text: 'Creating the file.',
        tools: [
          { name: 'str_replace_based_edit_tool', input: { command: 'create', path: 'hello.txt', file_text: 'hello world\n' } },
          { name: 'bash', input: { command: 'cat hello.txt && echo "cwd=$(pwd)"' } },
        ],
      },
      { tools: [{ name: 'str_replace_based_edit_tool', input: { command: 'str_replace', path: 'hello.txt', old_str: 'world', new_str: 'agents' } }] },
      { text: 'Done: hello.txt says hello.' },
    ]);
    const events = await subscribe(keys.events());
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const agentId = handle.workflowId.replace('agent-', '');
    const final = await handle.result();
    await events.stop();

    expect(final.status).toBe('completed');
    const branch = `agent/${taskId}/${agentId.slice(0, 8)}`;
    expect(final.result).toMatchObject({ branch, pushed: true, turns: 3 });
    expect(final.result?.commitSha).toMatch(/^[0-9a-f]{40}$/);
    expect(final.result?.gates?.map((g) => [g.name, g.outcome])).toEqual([['tests', 'passed']]);

    // The commit is on the agent branch at the remote, never on main.
    expect(remoteBranches(remote.dir)).toEqual(expect.arrayContaining([`refs/heads/${branch}`, 'refs/heads/main']));
    expect(showFile(remote.dir, branch, 'hello.txt')).toBe('hello agents');
    expect(git(remote.dir, 'rev-parse', branch)).toBe(final.result?.commitSha);
    expect(() => showFile(remote.dir, 'main', 'hello.txt')).toThrow();

    // What the model saw: the task, the tools, the tool results; the key came from the worker's environment.
    const reqs = h.fakeModel.requestsFor(taskId);
    expect(reqs).toHaveLength(3);
    const first = reqs[0]!;
    expect(first.headers.authorization ?? first.headers['x-api-key']).toContain(TEST_MODEL_KEY);
    expect(first.body.tools?.map((t) => t.name).sort()).toEqual(['bash', 'str_replace_based_edit_tool']);
    expect(JSON.stringify(first.body.messages[0])).toEqual(expect.stringContaining('US-001 say hello'));
    expect(JSON.stringify(first.body.messages[0])).toEqual(expect.stringContaining('typescript'));
    const toolResults = JSON.stringify(reqs[1]!.body.messages[2]);
    expect(toolResults).toContain('hello world');
    expect(toolResults).toContain('File created');
    expect(reqs[2]!.body.messages).toHaveLength(5);

    // Valkey: the projection and one event per transition.
    expect(await agentState(agentId)).toMatchObject({ status: 'completed', taskId, agentType: 'worker' });
    const mine = events.messages.filter((e) => (e as { agentId: string }).agentId === agentId) as { from: string | null; to: string }[];
    expect(mine.map((e) => `${e.from}->${e.to}`)).toEqual(['null->spawning', 'spawning->running', 'running->completed']);

    // The worktree and the HOME its commands used are gone; the history carries no conversation.
    expect(existsSync(path.join(h.workspaceRoot, 'worktrees', agentId))).toBe(false);
    expect(existsSync(h.services.homes.pathFor(agentId))).toBe(false);
    const history = await historyText(handle);
    expect(history).not.toContain('hello world');
    expect(history).not.toContain(TEST_MODEL_KEY);
  });

  it("has no git in its sandbox (the worktree's repository is outside it), and its prompt says the service commits and pushes", async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-no-git-1';
    h.fakeModel.script(taskId, [
      { tools: [{ name: 'bash', input: { command: 'echo made > made.txt; git status; echo "status=$?"; git add made.txt && git commit -qm mine; echo "commit=$?"' } }] },
      { text: 'Done.' },
    ]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const final = await handle.result();
    expect(final.status).toBe('completed');
    const [first, second] = h.fakeModel.requestsFor(taskId);
    const seen = JSON.stringify(second!.body.messages[2]);
    // What an agent that runs git gets: a repository it cannot reach, and nothing done.
    expect(seen).toMatch(/fatal: not a git repository/);
    expect(seen).toContain('status=128');
    expect(seen).toContain('commit=128');
    // So the prompt tells it not to try, and what it can rely on instead.
    expect(JSON.stringify(first!.body.system)).toMatch(/git does not work in your sandbox/);
    expect(JSON.stringify(first!.body.system)).toMatch(/the orchestrator commits your changes, scans them for secrets, runs the quality gates and pushes them/);
    expect(showFile(remote.dir, final.result!.branch!, 'made.txt')).toBe('made');
  });

  it('runs on a new repository with no commit yet: the agent branch starts from the empty root, gates skipped as asked', async () => {
    const parent = mkdtempSync(path.join(os.tmpdir(), 'empty-remote-'));
    const bare = path.join(parent, 'remote.git');
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
    const taskId = 'T-empty-1';
    h.fakeModel.script(taskId, [
      { tools: [{ name: 'str_replace_based_edit_tool', input: { command: 'create', path: 'hello.txt', file_text: 'hello\n' } }] },
      { text: 'Started the project.' },
    ]);
    const handle = await h.spawn({ taskId, repository: `file://${bare}`, missingGates: 'skip' });
    const final = await handle.result();

    expect(final.status).toBe('completed');
    const branch = final.result!.branch!;
    expect(final.result).toMatchObject({ pushed: true });
    expect(showFile(bare, branch, 'hello.txt')).toBe('hello');
    // Two commits: the agent's on the fixed empty root; main still does not exist.
    const [agentCommit, root] = git(bare, 'rev-list', branch).split('\n');
    expect(agentCommit).toBe(final.result?.commitSha);
    expect(git(bare, 'rev-parse', `${root}^{tree}`)).toBe('4b825dc642cb6eb9a060e54bf8d69288fbee4904');
    expect(remoteBranches(bare)).toEqual([`refs/heads/${branch}`]);

    // A reviewer of that branch against main, which does not exist yet: everything the branch holds is under review.
    const reviewTask = 'T-empty-review-1';
    // The reviewer's answer, then its own AI review gate's (strict profile), over the same change.
    h.fakeModel.script(reviewTask, [{ text: 'A greeting.\n\nFINDINGS:\nVERDICT: APPROVE' }, { text: 'Adds hello.txt.\nVERDICT: APPROVE' }]);
    const review = await h.spawn({
      taskId: reviewTask,
      repository: `file://${bare}`,
      agentType: 'reviewer',
      missingGates: 'skip',
      context: { repository: `file://${bare}`, branch, baseBranch: 'main', workItems: [], skills: [] },
    });
    const reviewed = await review.result();
    expect([reviewed.status, reviewed.error]).toEqual(['completed', undefined]);
    expect(reviewed.result?.review?.verdict).toBe('approve');
    const told = (h.fakeModel.requestsFor(reviewTask)[0]!.body.messages[0]!.content as { text: string }[]).map((b) => b.text).join('\n');
    expect(told).toMatch(/```diff\n[\s\S]*new file mode[\s\S]*\+hello/);
    expect(JSON.stringify(h.fakeModel.requestsFor(reviewTask)[1]!.body.messages)).toContain('+hello');

    // A reviewer of a branch that was never pushed (a wrong name) in the same repository: not an empty workspace and an empty diff to approve.
    const missingTask = 'T-empty-review-2';
    h.fakeModel.script(missingTask, [{ text: 'Nothing to review.\n\nFINDINGS:\nVERDICT: APPROVE' }]);
    const missing = await h.spawn({
      taskId: missingTask,
      repository: `file://${bare}`,
      agentType: 'reviewer',
      missingGates: 'skip',
      context: { repository: `file://${bare}`, branch: 'agent/T-empty-9/0badc0de', baseBranch: 'main', workItems: [], skills: [] },
    });
    await expect(missing.result()).rejects.toMatchObject({ cause: { type: 'BranchNotFound' } });
    expect(h.fakeModel.requestsFor(missingTask)).toHaveLength(0);
  });

  it('fails with a reason naming the turn budget when max turns is reached', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-budget-1';
    const loop = { tools: [{ name: 'bash' as const, input: { command: 'echo again' } }] };
    h.fakeModel.script(taskId, [loop, loop, loop, loop]);
    const handle = await h.spawn({ taskId, repository: remote.url, budgets: { maxTurns: 2, maxOutputTokens: 100_000, maxWallTimeSeconds: 600 } });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as { type?: string; message: string };
    expect(cause.type).toBe('BudgetExceeded');
    expect(cause.message).toContain('max turns (2) reached');
    const agentId = handle.workflowId.replace('agent-', '');
    expect(await agentState(agentId)).toMatchObject({ status: 'failed', errorType: 'BudgetExceeded' });
    expect(h.fakeModel.requestsFor(taskId)).toHaveLength(2);
  });

  it('is killed during a model turn: the in-flight request is abandoned and the workspace cleaned', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-kill-model';
    h.fakeModel.script(taskId, [{ text: 'thinking slowly', delayMs: 60_000 }]);
    const handle = await h.spawn({ taskId, repository: remote.url });
    const agentId = handle.workflowId.replace('agent-', '');
    await eventually(async () => h.fakeModel.requestsFor(taskId).length === 1, 30_000, 'the model call');
    const t0 = Date.now();
    await handle.signal('kill', { reason: 'operator stop' });
    const final = await handle.result();
    expect(final.status).toBe('killed');
    expect(final.error).toBe('killed: operator stop');
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(await agentState(agentId)).toMatchObject({ status: 'killed' });
    expect(existsSync(path.join(h.workspaceRoot, 'worktrees', agentId))).toBe(false);
    // The run asked Temporal to cancel the model call and did not wait for it (TRY_CANCEL).
    const history = await handle.fetchHistory();
    const cancelRequested = history.events?.filter((e) => e.activityTaskCancelRequestedEventAttributes) ?? [];
    expect(cancelRequested.length).toBe(1);
  });

  it('fails with MergeConflict when the target branch moved on the same lines after the worktree was made, and pushes nothing', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-merge-conflict';
    // The first answer waits, so the target can move after the worktree was made from it.
    h.fakeModel.script(taskId, [{ tools: [{ name: 'bash', input: { command: 'echo "# changed by the agent" > README.md' } }], delayMs: 5_000 }, { text: 'Done.' }]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    await eventually(async () => h.fakeModel.requestsFor(taskId).length === 1, 60_000, 'the first model call');
    const clone = path.join(mkdtempSync(path.join(os.tmpdir(), 'upstream-')), 'clone');
    git(os.tmpdir(), 'clone', '-q', remote.dir, clone);
    writeFileSync(path.join(clone, 'README.md'), '# changed upstream\n');
    git(clone, 'commit', '-qam', 'upstream change');
    git(clone, 'push', '-q', 'origin', 'HEAD:main');

    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as { type?: string; message: string };
    expect(cause).toMatchObject({ type: 'MergeConflict', message: expect.stringContaining('README.md') });
    expect(remoteBranches(remote.dir)).toEqual(['refs/heads/main']);
  });

  it("publishes each turn's progress before the next turn's tools run, through that turn's activity rather than a local activity of its own", async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-progress-with-turn';
    // Turn 3's tools wait for `.go` in the worktree (the sandbox sees the worktree, not the host's /tmp).
    h.fakeModel.script(taskId, [{ tools: [{ name: 'bash', input: { command: 'echo one > one.txt' } }] }, { tools: [{ name: 'bash', input: { command: 'echo two > two.txt; while [ ! -e .go ]; do sleep 0.1; done; rm .go' } }] }, { text: 'Done.' }]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const agentId = handle.workflowId.replace('agent-', '');
    const worktree = path.join(h.workspaceRoot, 'worktrees', agentId);
    await eventually(async () => existsSync(path.join(worktree, 'two.txt')), 30_000, "turn 2's tools to run");
    // Turn 2's tools are running: the projection already has turn 2's answer.
    expect((await agentState(agentId))?.progress).toMatchObject({ turn: 2 });
    writeFileSync(path.join(worktree, '.go'), '');
    expect((await handle.result()).status).toBe('completed');
    // Each turn with tools carried its write to the next turn's activity; recordState ran as a local activity only at phase changes.
    const turnInputs = (await handle.fetchHistory()).events!.flatMap((e) => {
      const a = e.activityTaskScheduledEventAttributes;
      if (a?.activityType?.name !== 'toolsThenModel') return [];
      return [JSON.parse(Buffer.from(a.input!.payloads![0]!.data!).toString()) as { record?: { seq: number; view: AgentStatusView } }];
    });
    expect(turnInputs.map((t) => t.record?.view.progress?.turn)).toEqual([1, 2]);
    // spawn accepted, running, the last answer's turn (no tools: acceptance follows), pre-commit gates, completed, done
    expect(await localActivityResults(handle, 'recordState')).toHaveLength(6);
  });

  it('is killed during a tool run: the command stops, uncommitted work goes to a salvage ref', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-kill-tool';
    h.fakeModel.script(taskId, [{ tools: [{ name: 'bash', input: { command: 'echo wip > wip.txt; sleep 60; touch finished.txt' } }] }]);
    const handle = await h.spawn({ taskId, repository: remote.url });
    const agentId = handle.workflowId.replace('agent-', '');
    const worktree = path.join(h.workspaceRoot, 'worktrees', agentId);
    await eventually(async () => existsSync(path.join(worktree, 'wip.txt')), 30_000, 'the tool to start');
    // Every runtime gives the agent a home on the host; cleanup removes it with the worktree.
    expect(existsSync(h.services.homes.pathFor(agentId))).toBe(true);
    await handle.signal('kill', { reason: 'stop the tool' });
    const final = await handle.result();
    expect(final.status).toBe('killed');
    expect(final.result?.salvageRef).toBe(`refs/agents/${agentId}/salvage`);
    expect(existsSync(worktree)).toBe(false);
    expect(existsSync(h.services.homes.pathFor(agentId))).toBe(false);
    // The salvage is on the remote; published, it leaves the host's mirror with the agent's other refs (release-refs.ts).
    expect(git(remote.dir, 'show', `refs/agents/${agentId}/salvage:wip.txt`)).toBe('wip');
    const mirrors = path.join(h.workspaceRoot, 'mirrors');
    const inMirrors = readdirSync(mirrors)
      .filter((d) => d.endsWith('.git'))
      .flatMap((d) => git(path.join(mirrors, d), 'for-each-ref', '--format=%(refname)', `refs/agents/${agentId}/`).split('\n').filter(Boolean));
    expect(inMirrors).toEqual([]);
    // The run did not wait for its turn activity (tools, then the next model call) to stop; its
    // cleanup stopped the command before salvaging and removing the worktree.
    const commands = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n');
    expect(commands.filter((c) => c.includes('sleep 60; touch finished.txt'))).toEqual([]);
    const history = await handle.fetchHistory();
    expect(history.events?.some((e) => e.activityTaskCancelRequestedEventAttributes)).toBe(true);
    // The kill abandoned the turn, so `killed` was its acknowledgement: no `stopping` write before
    // it. State writes after the kill signal: killed, then the final one after cleanup.
    const signalled = history.events!.findIndex((e) => e.workflowExecutionSignaledEventAttributes);
    expect(localActivityResultsIn(history.events!.slice(signalled), 'recordState')).toHaveLength(2);
  });

  it('is killed while preparing its workspace and ends killed with nothing left behind', async () => {
    // A repository big enough that cloning takes a moment.
    const big: Record<string, string> = nodeProjectFiles();
    for (let i = 0; i < 40; i++) big[`blob/${i}.bin`] = randomBytes(512 * 1024).toString('base64');
    const remote = createRemoteRepo(big);
    const taskId = 'T-kill-clone';
    const handle = await h.spawn({ taskId, repository: remote.url });
    const agentId = handle.workflowId.replace('agent-', '');
    await eventually(async () => (await agentState(agentId))?.phase === 'preparing-workspace', 30_000, 'preparing');
    await handle.signal('kill', { reason: 'stop while cloning' });
    const final = await handle.result();
    expect(final.status).toBe('killed');
    expect(final.startedAt).toBeUndefined();
    expect(existsSync(path.join(h.workspaceRoot, 'worktrees', agentId))).toBe(false);
    expect(h.fakeModel.requestsFor(taskId)).toHaveLength(0);
    // The run waits for the clone to stop, so it acknowledged the kill first (`stopping`): killed
    // and the final write follow.
    const events = (await handle.fetchHistory()).events!;
    expect(localActivityResultsIn(events.slice(events.findIndex((e) => e.workflowExecutionSignaledEventAttributes)), 'recordState')).toHaveLength(3);
  });

  it('answers the status query while running and keeps the AgentStatus search attribute current', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-query-1';
    h.fakeModel.script(taskId, [{ text: 'slow', delayMs: 60_000 }]);
    const handle = await h.spawn({ taskId, repository: remote.url });
    await eventually(async () => h.fakeModel.requestsFor(taskId).length === 1, 30_000, 'the model call');
    const status = await handle.query<AgentStatusView>('status');
    expect(status).toMatchObject({ status: 'running', phase: 'agent-loop', taskId });
    const desc = await handle.describe();
    expect(desc.typedSearchAttributes.getAll().find((p) => p.key.name === 'AgentStatus')?.value).toBe('running');
    await handle.signal('kill', { reason: 'done looking' });
    await handle.result();
  });
});
