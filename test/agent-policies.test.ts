/**
 * What stands between an agent and a push: the secret scanner on the staged diff, the quality
 * gates, and the coordinator's verdict. Real Temporal, Valkey, git and gate commands; the model
 * is the scripted fake.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkflowFailedError } from '@temporalio/client';
import { createRemoteRepo, git, nodeProjectFiles, remoteBranches, showFile } from './support/git-fixtures';
import { historyText } from './support/activity-history';
import type { ScriptedReply } from './support/fake-model';
import { startHarness, type Harness } from './support/harness';

/** A key of the real Anthropic shape, made at test time (never committed). */
const fakeAnthropicKey = () => `sk-ant-api03-${randomBytes(80).toString('base64url').slice(0, 93)}AA`;

describe('secret scanning before commit', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('blocks a commit holding a key, tells the agent where (redacted), and pushes only the cleaned work', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-secret-1';
    const key = fakeAnthropicKey();
    h.fakeModel.script(taskId, [
      { tools: [{ name: 'str_replace_based_edit_tool', input: { command: 'create', path: 'config.js', file_text: `module.exports = {\n  apiKey: '${key}',\n};\n` } }] },
      { text: 'Done.' },
      { tools: [{ name: 'str_replace_based_edit_tool', input: { command: 'str_replace', path: 'config.js', old_str: `'${key}'`, new_str: 'process.env.ANTHROPIC_API_KEY' } }] },
      { text: 'Removed the key.' },
    ]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const final = await handle.result();
    expect(final.status).toBe('completed');

    const reqs = h.fakeModel.requestsFor(taskId);
    expect(reqs).toHaveLength(4);
    const feedback = JSON.stringify(reqs[2]!.body.messages.at(-1));
    expect(feedback).toContain('config.js:2');
    expect(feedback).toContain('anthropic-api-key');
    expect(feedback).not.toContain(key);

    const branch = final.result!.branch!;
    expect(showFile(remote.dir, branch, 'config.js')).toContain('process.env.ANTHROPIC_API_KEY');
    expect(git(remote.dir, 'log', '-p', '--all')).not.toContain(key);
    expect(await historyText(handle)).not.toContain(key);
  });

  it('fails with SecretDetected when the agent keeps the key past its feedback rounds, and pushes nothing', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-secret-2';
    const key = fakeAnthropicKey();
    h.fakeModel.script(taskId, [
      { tools: [{ name: 'bash', input: { command: `printf 'TOKEN=${key}\\n' > .env.production` } }] },
      { text: 'Done.' },
      { text: 'Still done.' },
    ]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', maxFeedbackRounds: 1 });
    const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err.cause as { type?: string }).type).toBe('SecretDetected');
    expect(err.cause?.message).toContain('.env.production:1');
    expect(err.cause?.message).not.toContain(key);
    expect(remoteBranches(remote.dir)).toEqual(['refs/heads/main']);
    expect(await historyText(handle)).not.toContain(key);
  });

  it("keeps no hash of a blocked secret in the history or the status: a weak password's sha256 is as good as the password", async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-secret-3';
    const password = 'hunter2hunter2';
    h.fakeModel.script(taskId, [
      { tools: [{ name: 'bash', input: { command: `printf 'password: ${password}\n' > db.yml` } }] },
      { text: 'Done.' },
      { tools: [{ name: 'bash', input: { command: 'rm db.yml && echo ok > ok.txt' } }] },
      { text: 'Removed it.' },
    ]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    expect((await handle.result()).status).toBe('completed');
    // It was found (the agent was told where) ...
    expect(JSON.stringify(h.fakeModel.requestsFor(taskId)[2]!.body.messages.at(-1))).toContain('db.yml:1');
    // ... and neither it nor its fingerprint, which a word list reverses, was kept.
    const fingerprint = createHash('sha256').update(password).digest('hex');
    const history = await historyText(handle);
    expect({ password: history.includes(password), fingerprint: history.includes(fingerprint) }).toEqual({ password: false, fingerprint: false });
    const status = (await h.redis.get(`orchestrator:agent:${handle.workflowId.replace('agent-', '')}`)) ?? '';
    expect(status.includes(fingerprint)).toBe(false);
  });
});

describe('quality gates', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('gives a failing test run back to the agent, which fixes it; then gates pass and the branch is pushed', async () => {
    const remote = createRemoteRepo(nodeProjectFiles({ 'broken.txt': 'remove me\n' }));
    const taskId = 'T-gates-1';
    h.fakeModel.script(taskId, [
      { text: 'I think I am done.' },
      { tools: [{ name: 'bash', input: { command: 'git rm -q broken.txt || rm broken.txt' } }] },
      { text: 'Fixed the failing test.' },
    ]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const final = await handle.result();
    expect(final.status).toBe('completed');
    const feedback = JSON.stringify(h.fakeModel.requestsFor(taskId)[1]!.body.messages.at(-1));
    expect(feedback).toContain('tests');
    expect(feedback).toContain('FAIL: broken.txt exists');
    expect(final.result?.gates?.map((g) => [g.name, g.outcome])).toEqual([['tests', 'passed']]);
    expect(final.result?.pushed).toBe(true);
    expect(() => showFile(remote.dir, final.result!.branch!, 'broken.txt')).toThrow();
  });

  // The API sends these answers back (an empty end_turn), and refuses a conversation holding them
  // as they are: the feedback turn must still be one it takes. (An answer cut off at max_tokens is
  // not final and gets no gates: agent-tokens.test.ts "answers cut off at max_tokens".)
  it.each<[string, string, ScriptedReply]>([['an empty answer', 'T-gates-empty', { text: '' }]])('gives the failing tests back after %s in a request the API accepts', async (_what, taskId, first) => {
    const remote = createRemoteRepo(nodeProjectFiles({ 'broken.txt': 'remove me\n' }));
    h.fakeModel.script(taskId, [first, { tools: [{ name: 'bash', input: { command: 'git rm -q broken.txt || rm broken.txt' } }] }, { text: 'Fixed the failing test.' }]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const final = await handle.result();
    expect(final.status).toBe('completed');
    const reqs = h.fakeModel.requestsFor(taskId);
    expect(reqs.map((r) => r.usage !== undefined)).toEqual([true, true, true]);
    expect(JSON.stringify(reqs[1]!.body.messages.at(-1))).toContain('FAIL: broken.txt exists');
  });

  it('fails with GateFailed and the results once the feedback rounds are used up', async () => {
    const remote = createRemoteRepo(nodeProjectFiles({ 'broken.txt': 'remove me\n' }));
    const taskId = 'T-gates-2';
    h.fakeModel.script(taskId, [{ text: 'Done.' }, { text: 'Done again.' }]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', maxFeedbackRounds: 1 });
    const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect((err.cause as { type?: string }).type).toBe('GateFailed');
    expect(err.cause?.message).toContain('tests failed');
    expect(remoteBranches(remote.dir)).toEqual(['refs/heads/main']);
  });
});

describe('the coordinator', () => {
  let h: Harness;
  let server: http.Server;
  const received: { body: { phase: string; gates: { name: string }[] }; key: string | undefined }[] = [];
  let answers: { status: number; body?: unknown }[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        received.push({ body: JSON.parse(data), key: req.headers['idempotency-key'] as string | undefined });
        const answer = answers.shift() ?? { status: 200, body: { approved: true } };
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body ?? {}));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    h = await startHarness({ COORDINATOR_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  });
  afterAll(async () => {
    await h?.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('vetoes the push', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-coord-veto';
    answers = [{ status: 200, body: { approved: false, reason: 'frozen for release' } }];
    h.fakeModel.script(taskId, [{ tools: [{ name: 'bash', input: { command: 'echo x > x.txt' } }] }, { text: 'Done.' }]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect((err.cause as { type?: string }).type).toBe('CoordinatorVeto');
    expect(err.cause?.message).toContain('frozen for release');
    expect(remoteBranches(remote.dir)).toEqual(['refs/heads/main']);
  });

  it('is down for a while: the report is delayed, then delivered once under one idempotency key', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = 'T-coord-down';
    received.length = 0;
    answers = [{ status: 503 }, { status: 503 }, { status: 200, body: { approved: true } }];
    h.fakeModel.script(taskId, [{ tools: [{ name: 'bash', input: { command: 'echo y > y.txt' } }] }, { text: 'Done.' }]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const final = await handle.result();
    expect(final.status).toBe('completed');
    const preCommit = received.filter((r) => r.body.phase === 'pre-commit');
    expect(preCommit).toHaveLength(3);
    expect(new Set(preCommit.map((r) => r.key)).size).toBe(1);
    expect(preCommit[2]!.body.gates.map((g) => g.name)).toEqual(['tests']);
  });
});
