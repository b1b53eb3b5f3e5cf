/**
 * Runs that cannot succeed end before the first model call: a profile whose gates the repository
 * does not define (GatesUnavailable), and permanent git errors (RepositoryNotFound,
 * BranchNotFound, GitAuthFailed), each in one attempt. Real Temporal, Valkey and git through the
 * real worker; the scripted fake model counts the requests it gets.
 */
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { AgentRunInput, AgentStatusView } from '../domain/agent';
import { keys } from '../state/keys';
import { createRemoteRepo, git, nodeProjectFiles, remoteBranches, showFile } from './support/git-fixtures';
import { startHarness, type Harness } from './support/harness';
import { subscribe } from './support/redis';

/** The bound: a run that cannot succeed says so within seconds, not after 40 s of retries. */
const PERMANENT_FAILURE_BOUND_MS = 10_000;

describe('runs that cannot succeed fail before the first model call', () => {
  let h: Harness;
  let gitHost: Server;
  let gitHostUrl: string;
  beforeAll(async () => {
    h = await startHarness({ GIT_ALLOWED_SCHEMES: 'file,http,https,ssh' });
    // A git host that wants credentials for everything (none are configured for http).
    gitHost = createServer((_req, res) => {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' });
      res.end();
    });
    await new Promise<void>((resolve) => gitHost.listen(0, '127.0.0.1', resolve));
    gitHostUrl = `http://127.0.0.1:${(gitHost.address() as AddressInfo).port}`;
    // The worker's first workflow task loads the workflow bundle: not what the timings below are about.
    await (await h.spawn({ taskId: 'T-warm-up', repository: 'file:///nonexistent/warm-up.git' })).result().catch(() => undefined);
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (gitHost ? gitHost.close(() => resolve()) : resolve()));
    await h?.close();
  });

  const agentIdOf = (handle: WorkflowHandle) => handle.workflowId.replace(/^agent-/, '');

  /** Spawns, waits for the failure and reports its type, message, duration and prepare attempts. */
  async function failedRun(taskId: string, repository: string, overrides: Partial<AgentRunInput> = {}) {
    const t0 = Date.now();
    const handle = await h.spawn({ taskId, repository, ...overrides });
    const err = await handle.result().catch((e: unknown) => e);
    const elapsedMs = Date.now() - t0;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as { type?: string; message: string };
    const history = await handle.fetchHistory();
    const started = history.events?.filter((e) => e.activityTaskStartedEventAttributes) ?? [];
    const scheduled = new Map(
      (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes!.activityType?.name]),
    );
    const prepareAttempts = started
      .filter((e) => scheduled.get(String(e.activityTaskStartedEventAttributes!.scheduledEventId)) === 'setUpAgent')
      .map((e) => e.activityTaskStartedEventAttributes!.attempt);
    const stored = JSON.parse((await h.redis.get(keys.agent(agentIdOf(handle)))) ?? 'null') as AgentStatusView | null;
    process.stdout.write(`${taskId}: spawn -> failed in ${elapsedMs} ms (${cause.type}: ${cause.message})\n`);
    return { type: cause.type, message: cause.message, elapsedMs, prepareAttempts, stored };
  }

  it.each([
    ['a path that is not a repository', 'T-no-repo-etc', () => 'file:///etc'],
    ['a repository that does not exist', 'T-no-repo-path', () => 'file:///nonexistent/team/repo.git'],
  ])('fails on %s with RepositoryNotFound, after one attempt and no model call', async (_what, taskId, url) => {
    const run = await failedRun(taskId, url());
    expect(run.type).toBe('RepositoryNotFound');
    expect(run.message).toContain('does not exist or is not a git repository');
    expect(run.prepareAttempts).toEqual([1]);
    expect(run.elapsedMs).toBeLessThan(PERMANENT_FAILURE_BOUND_MS);
    expect(run.stored).toMatchObject({ status: 'failed', errorType: 'RepositoryNotFound' });
    expect(h.fakeModel.requestsFor(taskId)).toHaveLength(0);
  });

  it('fails on a base branch the repository does not have with BranchNotFound', async () => {
    const taskId = 'T-no-branch';
    const remote = createRemoteRepo(nodeProjectFiles());
    const run = await failedRun(taskId, remote.url, { context: { repository: remote.url, branch: 'release/9.9', workItems: ['US-1'], skills: [] } });
    expect(run.type).toBe('BranchNotFound');
    expect(run.message).toContain('base branch "release/9.9" does not exist');
    expect(run.prepareAttempts).toEqual([1]);
    expect(run.elapsedMs).toBeLessThan(PERMANENT_FAILURE_BOUND_MS);
    expect(h.fakeModel.requestsFor(taskId)).toHaveLength(0);
  });

  it.each([
    ['a tag', 'T-tag-branch', () => 'v1.0', ': "v1.0" is a tag: context.branch takes a branch name; spawn on a branch that has it (its branches: "main")'],
    ['a commit id', 'T-sha-branch', (sha: string) => sha, 'looks like a commit id: context.branch takes a branch name'],
    ['a full ref', 'T-ref-branch', () => 'refs/heads/main', ': name it without "refs/heads/" ("main")'],
  ])('fails BranchNotFound on %s given as the branch, saying what it is and what to give instead', async (_what, taskId, branch, says) => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const seed = path.join(path.dirname(remote.dir), 'seed');
    git(seed, 'tag', 'v1.0');
    git(seed, 'push', '-q', remote.dir, 'v1.0');
    const sha = git(seed, 'rev-parse', 'HEAD');
    const run = await failedRun(taskId, remote.url, { context: { repository: remote.url, branch: branch(sha), workItems: ['US-1'], skills: [] } });
    expect(run.type).toBe('BranchNotFound');
    // Before: only 'base branch "v1.0" does not exist in file://... (its branches: "main")'.
    expect(run.message).toContain(says);
    expect(h.fakeModel.requestsFor(taskId)).toHaveLength(0);
  });

  it('fails on a host that refuses us with GitAuthFailed', async () => {
    const taskId = 'T-no-auth';
    const run = await failedRun(taskId, `${gitHostUrl}/team/private.git`);
    expect(run.type).toBe('GitAuthFailed');
    expect(run.message).toContain('could not authenticate');
    expect(run.prepareAttempts).toEqual([1]);
    expect(run.elapsedMs).toBeLessThan(PERMANENT_FAILURE_BOUND_MS);
    expect(h.fakeModel.requestsFor(taskId)).toHaveLength(0);
  });

  it('fails with GatesUnavailable, naming each missing gate and how to define it, when the profile needs a gate the base commit lacks', async () => {
    const taskId = 'T-no-gates';
    h.fakeModel.script(taskId, [{ text: 'never asked' }]);
    // A Python project without pytest configured still gets pytest; this one has no manifest at all.
    const remote = createRemoteRepo({ 'README.md': '# docs only\n', 'notes.txt': 'nothing to run\n' });
    const events = await subscribe(keys.events());
    const run = await failedRun(taskId, remote.url, { gateProfile: 'minimal' });
    await events.stop();
    expect(run.type).toBe('GatesUnavailable');
    expect(run.message).toBe(
      'gates unavailable at the base commit: tests (the repository has no .orchestrator/gates.json and none of package.json, pyproject.toml, setup.py, setup.cfg, pytest.ini, tox.ini, go.mod, Cargo.toml, pom.xml, build.gradle, build.gradle.kts at its root; or define it in .orchestrator/gates.json). ' +
        'Define them in the repository, or spawn with missingGates: "skip" to run without them',
    );
    expect(h.fakeModel.requestsFor(taskId)).toHaveLength(0);
    expect(run.stored).toMatchObject({ status: 'failed', errorType: 'GatesUnavailable' });
    expect(run.stored?.startedAt).toBeUndefined();
    const mine = events.messages.filter((e) => (e as { taskId: string }).taskId === taskId) as { from: string | null; to: string; reason?: string }[];
    expect(mine.map((e) => `${e.from}->${e.to}`)).toEqual(['null->spawning', 'spawning->failed']);
    expect(mine[1]?.reason).toContain('gates unavailable');
  });

  it('names only the gates the profile cannot do without: standard needs tests and tolerates a missing lint', async () => {
    const taskId = 'T-no-tests';
    const remote = createRemoteRepo({ 'package.json': JSON.stringify({ name: 'x', version: '1.0.0', scripts: { lint: 'true', build: 'true' } }) });
    const run = await failedRun(taskId, remote.url, { gateProfile: 'standard' });
    expect(run.type).toBe('GatesUnavailable');
    expect(run.message).toContain('tests (no "test" script in package.json; or define it in .orchestrator/gates.json)');
    expect(run.message).not.toContain('lint (');
    expect(run.message).not.toContain('typecheck (');
    expect(h.fakeModel.requestsFor(taskId)).toHaveLength(0);
  });

  it('fails with GatesUnavailable, naming the program and where to install it, when a required gate\'s toolchain is not where gates run', async () => {
    const taskId = 'T-no-toolchain';
    h.fakeModel.script(taskId, [{ text: 'never asked' }]);
    // As a Rust repository on a worker whose sandbox has no cargo: exit 127 in every gate.
    const remote = createRemoteRepo({ '.orchestrator/gates.json': JSON.stringify({ gates: { tests: { command: 'no-such-toolchain-c3 test --all' } } }) });
    const run = await failedRun(taskId, remote.url, { gateProfile: 'minimal' });
    // Before: three feedback rounds of "command not found" sent to the agent (paid turns), then GateFailed.
    expect(run.type).toBe('GatesUnavailable');
    expect(run.message).toContain('tests (no-such-toolchain-c3 is not installed where the gates run');
    expect(run.message).toContain('SANDBOX_READONLY_PATHS');
    expect(h.fakeModel.requestsFor(taskId)).toHaveLength(0);
  });

  it('reports a tolerated gate whose toolchain is missing as missing, not as the agent\'s failure, and completes', async () => {
    const taskId = 'T-no-linter';
    const remote = createRemoteRepo({ '.orchestrator/gates.json': JSON.stringify({ gates: { tests: { command: 'node -e 0' }, lint: { command: 'no-such-linter-c3 --strict .' } } }) });
    h.fakeModel.script(taskId, [
      { tools: [{ name: 'str_replace_based_edit_tool', input: { command: 'create', path: 'a.txt', file_text: 'a\n' } }] },
      { text: 'Added a.txt.' },
    ]);
    const final = await (await h.spawn({ taskId, repository: remote.url, gateProfile: 'standard' })).result();
    // Before: lint failed (exit 127) in every round, and the run failed GateFailed.
    expect(final.status).toBe('completed');
    const lint = final.result?.gates?.find((g) => g.name === 'lint');
    expect(lint?.outcome).toBe('missing');
    expect(lint?.detail).toContain('no-such-linter-c3 is not installed where the gates run');
    expect(final.result?.gates?.find((g) => g.name === 'tests')?.outcome).toBe('passed');
  });

  /** The smallest Maven project: its `mvn test` needs Maven's plugins, fetched from repo.maven.apache.org into an empty cache. */
  const POM = [
    '<project xmlns="http://maven.apache.org/POM/4.0.0">',
    '  <modelVersion>4.0.0</modelVersion>',
    '  <groupId>example</groupId><artifactId>offline-probe</artifactId><version>1.0</version>',
    '</project>',
    '',
  ].join('\n');

  it('fails with GatesUnavailable naming SANDBOX_NETWORK=host when a Maven project\'s required gates would fetch with the sandbox network off', async () => {
    const taskId = 'T-maven-offline';
    h.fakeModel.script(taskId, [{ text: 'never asked' }]);
    const remote = createRemoteRepo({ 'pom.xml': POM });
    const run = await failedRun(taskId, remote.url, { gateProfile: 'minimal' });
    // Before: the agent's turns, then "Unknown host repo.maven.apache.org" in every round, then GateFailed.
    expect(run.type).toBe('GatesUnavailable');
    expect(run.message).toContain('tests (mvn downloads the project\'s plugins and dependencies');
    expect(run.message).toContain('SANDBOX_NETWORK=host');
    expect(h.fakeModel.requestsFor(taskId)).toHaveLength(0);
  });

  it('ends a run without a feedback round when a required gate that calls Maven itself shows a name that did not resolve', async () => {
    const taskId = 'T-maven-indirect';
    // gates.json says what runs (a script, not mvn): set-up cannot know it fetches, the round's output says so.
    const remote = createRemoteRepo({
      'pom.xml': POM,
      'build.sh': 'mvn -B -ntp test\n',
      '.orchestrator/gates.json': JSON.stringify({ gates: { tests: { command: 'sh build.sh' } } }),
    });
    h.fakeModel.script(taskId, [
      { tools: [{ name: 'str_replace_based_edit_tool', input: { command: 'create', path: 'a.txt', file_text: 'a\n' } }] },
      { text: 'Added a.txt.' },
      { text: 'never asked: no feedback round' },
    ]);
    const run = await failedRun(taskId, remote.url, { gateProfile: 'minimal' });
    // Before: GateFailed after feedback rounds the agent could do nothing about.
    expect(run.type).toBe('GatesUnavailable');
    expect(run.message).toContain('did not resolve');
    expect(run.message).toContain('SANDBOX_NETWORK=host');
    expect(h.fakeModel.requestsFor(taskId)).toHaveLength(2);
  }, 120_000);

  it('with missingGates "skip", does not let an agent pass its failing required tests by printing a name that did not resolve', async () => {
    const taskId = 'T-skip-unknown-host';
    // The test is the base's (gates.json, inline): the agent writes only the code it checks.
    const remote = createRemoteRepo({
      'app.sh': 'echo 42\n',
      '.orchestrator/gates.json': JSON.stringify({ gates: { tests: { command: 'out=$(sh app.sh); echo "$out"; test "$out" = 42' } } }),
    });
    const breakIt = { name: 'str_replace_based_edit_tool' as const, input: { command: 'create', path: 'app.sh', file_text: 'echo "Unknown host repo.example.test"\n' } };
    h.fakeModel.script(taskId, [{ tools: [breakIt] }, { text: 'Done.' }, { text: 'Still done.' }, { text: 'Still done.' }, { text: 'Still done.' }]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', missingGates: 'skip', maxFeedbackRounds: 1 });
    const final = await handle.result().catch((e: unknown) => e);
    // Before: the failed tests were taken for a gate without network, made missing, then skipped, and the run completed.
    expect(final).toBeInstanceOf(WorkflowFailedError);
    expect(((final as WorkflowFailedError).cause as { type?: string }).type).toBe('GateFailed');
    expect(remoteBranches(remote.dir).filter((b) => b.includes(taskId))).toEqual([]);
  }, 120_000);

  it('with missingGates "skip", runs anyway and reports the missing gates as skipped in the result and the events', async () => {
    const taskId = 'T-skip-gates';
    const remote = createRemoteRepo({ 'README.md': '# docs only\n' });
    h.fakeModel.script(taskId, [
      { tools: [{ name: 'str_replace_based_edit_tool', input: { command: 'create', path: 'CHANGELOG.md', file_text: '- docs\n' } }] },
      { text: 'Added a changelog.' },
    ]);
    const events = await subscribe(keys.events());
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'standard', missingGates: 'skip' });
    const final = await handle.result();
    await events.stop();
    expect(final.status).toBe('completed');
    expect(final.result?.gates?.map((g) => [g.name, g.outcome])).toEqual([
      ['typecheck', 'skipped'],
      ['lint', 'skipped'],
      ['tests', 'skipped'],
      ['coverage', 'skipped'],
    ]);
    expect(final.result?.gates?.find((g) => g.name === 'tests')?.detail).toContain('none of package.json');
    const running = events.messages.find((e) => (e as { taskId: string; to: string }).taskId === taskId && (e as { to: string }).to === 'running') as { reason?: string };
    expect(running.reason).toBe('workspace ready; gates skipped (not defined at the base commit): typecheck, lint, tests, coverage');
    expect(showFile(remote.dir, final.result!.branch!, 'CHANGELOG.md')).toBe('- docs');
    expect(remoteBranches(remote.dir)).toContain(`refs/heads/${final.result!.branch!}`);
  });
});
