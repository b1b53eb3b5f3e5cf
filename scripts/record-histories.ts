/**
 * Records real agentRun histories for the replay test (test/replay.test.ts):
 *
 *   npx tsx scripts/record-histories.ts [name ...]
 *
 * Each scenario runs through the test harness (a worker on a fresh task queue against the
 * Temporal dev server and Valkey at TEMPORAL_ADDRESS / VALKEY_HOST / VALKEY_PORT, and the scripted
 * fake model) and is saved to test/fixtures/histories/<name>.json, then replayed once against the
 * current workflow code as a check. Re-record after a deliberate, versioned workflow change only:
 * the point of the fixtures is that old histories keep replaying.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { CancelledFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { agentRun } from '../workflows';
import { createRemoteRepo, nodeProjectFiles } from '../test/support/git-fixtures';
import { eventually, startHarness, type Harness } from '../test/support/harness';
import { loadHistoryDir, replayHistories, saveHistory } from '../worker/replay';

const HISTORIES_DIR = path.resolve(__dirname, '../test/fixtures/histories');

interface Scenario {
  name: string;
  /** Configuration of a harness of its own (absent: the shared one, on the defaults); a function when it needs a server started first. */
  env?: Record<string, string> | (() => Promise<Record<string, string>>);
  /** Starts the run and waits until it has closed with the expected outcome. */
  run(h: Harness): Promise<WorkflowHandle<typeof agentRun>>;
}

/** Turns of at most 1,024 output tokens at $15 per million: a budget in cents that two turns fit and a review does not. */
const CENTS_ENV = { MODEL_PRICES: JSON.stringify({ 'claude-sonnet-5-5': { input: 3, output: 15 } }), AGENT_MAX_TOKENS_PER_TURN: '1024' };

/** A worker whose one post-commit gate is the AI review, under a dollar budget, ending as `settle` expects. */
async function reviewedUnderBudget(
  h: Harness,
  taskId: string,
  maxCostUsd: number,
  settle: (handle: WorkflowHandle<typeof agentRun>) => Promise<void>,
): Promise<WorkflowHandle<typeof agentRun>> {
  h.fakeModel.script(taskId, [{ tools: [bash('echo reviewed > notes.txt')], outputTokens: 1024 }, { text: 'Wrote notes.txt.', outputTokens: 1024 }, { text: 'Fine.\nVERDICT: APPROVE' }]);
  const remote = createRemoteRepo(nodeProjectFiles());
  const handle = await h.spawn({
    taskId,
    repository: remote.url,
    gateProfile: 'custom',
    context: { repository: remote.url, branch: 'main', workItems: ['US-001'], skills: [], gates: ['review'] },
    budgets: { maxTurns: 20, maxOutputTokens: 100_000, maxWallTimeSeconds: 600, maxCostUsd },
  });
  await settle(handle);
  return handle;
}

const bash = (command: string) => ({ name: 'bash' as const, input: { command } });
const agentIdOf = (handle: WorkflowHandle) => handle.workflowId.replace(/^agent-/, '');

async function expectStatus(handle: WorkflowHandle<typeof agentRun>, status: string): Promise<void> {
  const final = await handle.result();
  if (final.status !== status) throw new Error(`${handle.workflowId}: expected ${status}, got ${final.status}`);
}

async function expectFailure(handle: WorkflowHandle<typeof agentRun>, type: string): Promise<void> {
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  const cause = err instanceof WorkflowFailedError ? (err.cause as { type?: string } | undefined) : undefined;
  if (cause?.type !== type) throw new Error(`${handle.workflowId}: expected a ${type} failure, got ${String(err)}`);
}

async function completedWithTools(h: Harness, taskId: string): Promise<WorkflowHandle<typeof agentRun>> {
  h.fakeModel.script(taskId, [
    { tools: [{ name: 'str_replace_based_edit_tool', input: { command: 'create', path: 'hello.txt', file_text: 'hello\n' } }, bash('cat hello.txt')] },
    { text: 'Done.' },
  ]);
  const handle = await h.spawn({ taskId, repository: createRemoteRepo(nodeProjectFiles()).url, gateProfile: 'minimal' });
  await expectStatus(handle, 'completed');
  return handle;
}

async function completedWithTurns(h: Harness, taskId: string): Promise<WorkflowHandle<typeof agentRun>> {
  h.fakeModel.script(taskId, [{ tools: [bash('echo a > a.txt')] }, { tools: [bash('echo b > b.txt')] }, { tools: [bash('cat a.txt b.txt')] }, { text: 'Done.' }]);
  const handle = await h.spawn({ taskId, repository: createRemoteRepo(nodeProjectFiles()).url, gateProfile: 'minimal' });
  await expectStatus(handle, 'completed');
  return handle;
}

/** A finished run (three tool turns) forked at turn 2; the fork's history. */
async function forkAtTurnTwo(h: Harness, taskId: string): Promise<WorkflowHandle<typeof agentRun>> {
  // The fake model keys its script by task id, which the fork shares: replies 5 and 6 are the fork's.
  h.fakeModel.script(taskId, [
    { tools: [bash('echo a > a.txt')] },
    { tools: [bash('echo b > b.txt')] },
    { tools: [bash('echo c > c.txt')] },
    { text: 'Done.' },
    { tools: [bash('ls; cat b.txt')] },
    { text: 'Done after the fork.' },
  ]);
  const repository = createRemoteRepo(nodeProjectFiles()).url;
  const old = await h.spawn({ taskId, repository, gateProfile: 'minimal' });
  await expectStatus(old, 'completed');
  const fork = await h.spawn({ taskId, repository, gateProfile: 'minimal', forkOf: { agentId: agentIdOf(old), turn: 2 } });
  await expectStatus(fork, 'completed');
  return fork;
}

/** One turn per run: the history of the first run, which ends in continue-as-new, or of the last, which goes on from it (`last`). */
async function continuedAsNew(h: Harness, taskId: string, which: 'first' | 'last' = 'first'): Promise<WorkflowHandle<typeof agentRun>> {
  h.fakeModel.script(taskId, [{ tools: [bash('echo one > one.txt')] }, { tools: [bash('echo two > two.txt')] }, { text: 'Done.' }]);
  const handle = await h.spawn({ taskId, repository: createRemoteRepo(nodeProjectFiles()).url, gateProfile: 'minimal', turnsPerRun: 1 });
  await expectStatus(handle, 'completed');
  const started = (await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
  if (!started?.continuedExecutionRunId || !started.firstExecutionRunId) throw new Error(`${handle.workflowId}: expected the run to have continued as new`);
  return which === 'last' ? handle : h.client.workflow.getHandle<typeof agentRun>(handle.workflowId, started.firstExecutionRunId);
}

async function completedAfterGateFeedback(h: Harness, taskId: string): Promise<WorkflowHandle<typeof agentRun>> {
  h.fakeModel.script(taskId, [{ tools: [bash('echo x > broken.txt && echo y > work.txt')] }, { text: 'Done.' }, { tools: [bash('rm broken.txt')] }, { text: 'Fixed.' }]);
  const handle = await h.spawn({ taskId, repository: createRemoteRepo(nodeProjectFiles()).url, gateProfile: 'minimal' });
  await expectStatus(handle, 'completed');
  return handle;
}

async function gatesUnavailable(h: Harness, taskId: string): Promise<WorkflowHandle<typeof agentRun>> {
  const handle = await h.spawn({ taskId, repository: createRemoteRepo({ 'package.json': JSON.stringify({ name: 'x', scripts: { lint: 'true' } }) }).url });
  await expectFailure(handle, 'GatesUnavailable');
  return handle;
}

/** Three tool answers against a budget of two turns: the run fails with BudgetExceeded. */
async function failedTurnBudget(h: Harness, taskId: string): Promise<WorkflowHandle<typeof agentRun>> {
  h.fakeModel.script(taskId, [{ tools: [bash('echo again')] }, { tools: [bash('echo again')] }, { tools: [bash('echo again')] }]);
  const handle = await h.spawn({ taskId, repository: createRemoteRepo(nodeProjectFiles()).url, budgets: { maxTurns: 2, maxOutputTokens: 100_000, maxWallTimeSeconds: 600 } });
  await expectFailure(handle, 'BudgetExceeded');
  return handle;
}

/** Killed while its first tool call sleeps. */
async function killedDuringTool(h: Harness, taskId: string): Promise<WorkflowHandle<typeof agentRun>> {
  h.fakeModel.script(taskId, [{ tools: [bash('echo wip > wip.txt; sleep 60')] }]);
  const handle = await h.spawn({ taskId, repository: createRemoteRepo(nodeProjectFiles()).url });
  const wip = path.join(h.workspaceRoot, 'worktrees', agentIdOf(handle), 'wip.txt');
  await eventually(async () => existsSync(wip), 60_000, 'the tool to start');
  await handle.signal('kill', { reason: 'recorded kill' });
  await expectStatus(handle, 'killed');
  return handle;
}

/**
 * A kill that lands while the tool batch before a continue-as-new runs, and the batch finishes
 * anyway (it ends before its first heartbeat, which would have brought the cancellation): the run
 * ends killed there (agent-run.ts STOP_BEFORE_CONTINUE_AS_NEW) instead of continuing as new.
 */
async function killedBeforeContinueAsNew(h: Harness, taskId: string): Promise<WorkflowHandle<typeof agentRun>> {
  h.fakeModel.script(taskId, [{ tools: [bash('echo wip > wip.txt; sleep 0.6')] }, { text: 'Never asked.' }]);
  const handle = await h.spawn({ taskId, repository: createRemoteRepo(nodeProjectFiles()).url, gateProfile: 'minimal', turnsPerRun: 1 });
  const wip = path.join(h.workspaceRoot, 'worktrees', agentIdOf(handle), 'wip.txt');
  for (const deadline = Date.now() + 60_000; !existsSync(wip); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > deadline) throw new Error(`${handle.workflowId}: the tool never started`);
  }
  await handle.signal('kill', { reason: 'recorded kill before continue-as-new' });
  await expectStatus(handle, 'killed');
  const history = await handle.fetchHistory();
  if (history.events?.some((e) => e.workflowExecutionContinuedAsNewEventAttributes)) throw new Error(`${handle.workflowId}: continued as new despite the kill`);
  const patched = history.events?.some((e) =>
    Object.values(e.markerRecordedEventAttributes?.details ?? {}).some((p) => p.payloads?.some((d) => d.data && Buffer.from(d.data).toString().includes('"stop-before-continue-as-new"'))),
  );
  if (!patched) throw new Error(`${handle.workflowId}: the kill did not land while the last tool batch ran (no stop-before-continue-as-new marker); record it again`);
  return handle;
}

/** A reviewer on the minimal profile: a read-only run that commits nothing, its gates run at the branch's head. */
async function completedReviewer(h: Harness, taskId: string): Promise<WorkflowHandle<typeof agentRun>> {
  h.fakeModel.script(taskId, [{ tools: [bash('cat package.json')] }, { text: 'FINDINGS:\n- info: package.json: fine\nVERDICT: APPROVE' }]);
  const handle = await h.spawn({ taskId, agentType: 'reviewer', repository: createRemoteRepo(nodeProjectFiles()).url, gateProfile: 'minimal' });
  await expectStatus(handle, 'completed');
  return handle;
}

/** A tool that outlasts the wall-time budget: the run's timer (or the turn's own deadline) ends it, BudgetExceeded. */
async function failedWallTime(h: Harness, taskId: string): Promise<WorkflowHandle<typeof agentRun>> {
  h.fakeModel.script(taskId, [{ tools: [bash('echo wip > wip.txt')] }, { tools: [bash('sleep 60')] }]);
  const handle = await h.spawn({ taskId, repository: createRemoteRepo(nodeProjectFiles()).url, budgets: { maxTurns: 20, maxOutputTokens: 100_000, maxWallTimeSeconds: 8 } });
  await expectFailure(handle, 'BudgetExceeded');
  return handle;
}

/** Cancelled from Temporal (the Web UI's or CLI's Cancel) while its tool sleeps: killed, and the run ends cancelled. */
async function cancelledThroughTemporal(h: Harness, taskId: string): Promise<WorkflowHandle<typeof agentRun>> {
  h.fakeModel.script(taskId, [{ tools: [bash('echo wip > wip.txt; sleep 60')] }]);
  const handle = await h.spawn({ taskId, repository: createRemoteRepo(nodeProjectFiles()).url });
  const wip = path.join(h.workspaceRoot, 'worktrees', agentIdOf(handle), 'wip.txt');
  await eventually(async () => existsSync(wip), 60_000, 'the tool to start');
  await handle.cancel();
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof WorkflowFailedError) || !(err.cause instanceof CancelledFailure)) throw new Error(`${handle.workflowId}: expected a cancelled run, got ${String(err)}`);
  return handle;
}

/** A commit the secret scan blocks: the findings go back to the agent as a turn, it removes the secret, the run completes. */
async function completedAfterSecretFeedback(h: Harness, taskId: string): Promise<WorkflowHandle<typeof agentRun>> {
  // A GitHub token with a valid checksum (the scanner's own test value), written by the agent's command, never by the task.
  h.fakeModel.script(taskId, [
    { tools: [bash("printf 'token = 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\\n' > config.txt && echo ok > work.txt")] },
    { text: 'Done.' },
    { tools: [bash('rm config.txt')] },
    { text: 'Removed the token.' },
  ]);
  const handle = await h.spawn({ taskId, repository: createRemoteRepo(nodeProjectFiles()).url, gateProfile: 'minimal' });
  await expectStatus(handle, 'completed');
  return handle;
}

/**
 * An answer whose thinking uses up max_tokens (1,024 here) is not final: the agent is told it was
 * cut off, goes on, and its whole work is committed and pushed.
 */
async function completedAfterCutOffAnswer(h: Harness, taskId: string): Promise<WorkflowHandle<typeof agentRun>> {
  h.fakeModel.script(taskId, [
    { tools: [bash('echo one > part1.txt')] },
    { text: 'Done.', thinking: 'Weigh the next step again. '.repeat(250) },
    { tools: [bash('echo two > part2.txt')] },
    { text: 'Done.' },
  ]);
  const handle = await h.spawn({ taskId, repository: createRemoteRepo(nodeProjectFiles()).url, gateProfile: 'minimal' });
  await expectStatus(handle, 'completed');
  return handle;
}

/** An agent that changes nothing: NothingToCommit once its gates pass. */
async function failedNothingToCommit(h: Harness, taskId: string): Promise<WorkflowHandle<typeof agentRun>> {
  h.fakeModel.script(taskId, [{ text: 'Nothing to do.' }]);
  const handle = await h.spawn({ taskId, repository: createRemoteRepo(nodeProjectFiles()).url, gateProfile: 'minimal' });
  await expectFailure(handle, 'NothingToCommit');
  return handle;
}

/**
 * A coordinator that answers each gate report from `verdicts`, in order (then approves), for as
 * long as the recording runs; its URL is the harness's COORDINATOR_URL.
 */
function fakeCoordinator(verdicts: { approved: boolean; reason?: string }[]): () => Promise<Record<string, string>> {
  return async () => {
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(verdicts.shift() ?? { approved: true })));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    server.unref();
    return { COORDINATOR_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  };
}

/** A worker whose gate reports go to a coordinator, which rules on them. */
async function withCoordinator(h: Harness, taskId: string, settle: (handle: WorkflowHandle<typeof agentRun>) => Promise<void>): Promise<WorkflowHandle<typeof agentRun>> {
  h.fakeModel.script(taskId, [{ tools: [bash('echo x > x.txt')] }, { text: 'Done.' }]);
  const handle = await h.spawn({ taskId, repository: createRemoteRepo(nodeProjectFiles()).url, gateProfile: 'minimal' });
  await settle(handle);
  return handle;
}

const scenarios: Scenario[] = [
  {
    // Two tool calls in one turn, the minimal gate profile (npm test) passing, commit and push.
    name: 'completed-with-tools',
    run: (h) => completedWithTools(h, 'H-completed'),
  },
  {
    // The same run recorded after worktree + gates + sandbox, scan + commit and merge check + push became one activity each.
    name: 'completed-in-fewer-activities',
    run: (h) => completedWithTools(h, 'H-completed-fewer'),
  },
  {
    // The gate fails once (broken.txt makes npm test fail), the feedback goes back, the agent fixes it.
    name: 'completed-after-gate-feedback',
    run: (h) => completedAfterGateFeedback(h, 'H-feedback'),
  },
  {
    // The same, recorded after the pre-commit gates, the scan and the commit became one activity
    // (it stops after the failed gates in the first round, and commits in the second).
    name: 'completed-after-gate-feedback-in-one',
    run: (h) => completedAfterGateFeedback(h, 'H-feedback-in-one'),
  },
  {
    // A finished run (three tool turns) forked at turn 2: the fork copies the old transcript and
    // checkpoint (copyForkSource), rebuilds the worktree (rebuildWorkspace), runs one turn of its own.
    name: 'completed-fork',
    run: (h) => forkAtTurnTwo(h, 'H-fork'),
  },
  {
    name: 'failed-turn-budget',
    run: (h) => failedTurnBudget(h, 'H-budget'),
  },
  {
    name: 'killed-during-tool',
    run: (h) => killedDuringTool(h, 'H-kill-tool'),
  },
  {
    // Three tool turns, recorded after a turn after the first became one activity (its tools, then the next model call).
    name: 'completed-with-turns-in-one',
    run: (h) => completedWithTurns(h, 'H-turns-in-one'),
  },
  {
    // With no post-commit gate, the pre-commit gates' activity goes on to the merge check and the push.
    name: 'completed-pushed-with-commit',
    run: (h) => completedWithTools(h, 'H-pushed-with-commit'),
  },
  {
    // The turn budget ends the run after the tools of its last turn ran alone (no model call for a turn past the budget).
    name: 'failed-turn-budget-in-turn',
    run: (h) => failedTurnBudget(h, 'H-budget-in-turn'),
  },
  {
    // Killed during the tools of a turn activity: the run does not wait for it; cleanup stops the command.
    name: 'killed-during-tool-in-turn',
    run: (h) => killedDuringTool(h, 'H-kill-tool-in-turn'),
  },
  {
    // Recorded with the one patch that stands for all the patches before it (phases.ts CURRENT_SHAPE):
    // three tool turns, gate feedback, a kill during a tool run.
    name: 'completed-in-current-shape',
    run: (h) => completedWithTurns(h, 'H-current-shape'),
  },
  {
    name: 'completed-after-gate-feedback-in-current-shape',
    run: (h) => completedAfterGateFeedback(h, 'H-feedback-current-shape'),
  },
  {
    name: 'killed-during-tool-in-current-shape',
    run: (h) => killedDuringTool(h, 'H-kill-tool-current-shape'),
  },
  {
    name: 'completed-fork-in-current-shape',
    run: (h) => forkAtTurnTwo(h, 'H-fork-current-shape'),
  },
  {
    // The last of the runs: it goes on from the run before it (`resume`).
    name: 'continued-as-new-in-current-shape',
    run: (h) => continuedAsNew(h, 'H-continue-current-shape', 'last'),
  },
  {
    // Each turn's state write goes with the next turn's activity (phases.ts RECORD_WITH_TURN).
    name: 'completed-with-write-in-turn',
    run: (h) => completedWithTurns(h, 'H-write-in-turn'),
  },
  {
    name: 'killed-during-tool-with-write-in-turn',
    run: (h) => killedDuringTool(h, 'H-kill-tool-write-in-turn'),
  },
  {
    // Recorded in run-shape-2026-12b (phases.ts CURRENT_SHAPE): the turn's write implied, and a
    // kill during a turn's tools lands without a `stopping` write first.
    name: 'completed-in-shape-2026-12b',
    run: (h) => completedWithTurns(h, 'H-shape-2026-12b'),
  },
  {
    name: 'killed-during-tool-in-shape-2026-12b',
    run: (h) => killedDuringTool(h, 'H-kill-tool-shape-2026-12b'),
  },
  {
    name: 'completed-after-gate-feedback-in-shape-2026-12b',
    run: (h) => completedAfterGateFeedback(h, 'H-feedback-shape-2026-12b'),
  },
  {
    // A kill while the tool batch before a continue-as-new finishes: killed there, not continued (patch stop-before-continue-as-new).
    name: 'killed-before-continue-as-new',
    run: (h) => killedBeforeContinueAsNew(h, 'H-kill-before-continue'),
  },
  {
    // No test script at the base commit: the run fails at prepare, before any model call.
    name: 'failed-gates-unavailable',
    run: (h) => gatesUnavailable(h, 'H-no-gates'),
  },
  {
    // The same, recorded after the gates were resolved inside setUpAgent (no sandbox is started for it).
    name: 'failed-gates-unavailable-in-setup',
    run: (h) => gatesUnavailable(h, 'H-no-gates-setup'),
  },
  {
    // Missing gates accepted by the spawn: reported skipped, the run completes.
    name: 'completed-gates-skipped',
    async run(h) {
      const taskId = 'H-skipped';
      h.fakeModel.script(taskId, [{ tools: [bash('echo notes > notes.txt')] }, { text: 'Done.' }]);
      const handle = await h.spawn({ taskId, repository: createRemoteRepo({ 'README.md': '# docs\n' }).url, missingGates: 'skip' });
      await expectStatus(handle, 'completed');
      return handle;
    },
  },
  {
    // One turn per run: the recorded history is the first run, which ends in continue-as-new.
    name: 'continued-as-new',
    run: (h) => continuedAsNew(h, 'H-continue'),
  },
  {
    // Recorded with the spend ledger: turns and the gates report its total (spentUsd), the review is paid once.
    name: 'completed-with-paid-review',
    env: CENTS_ENV,
    run: (h) => reviewedUnderBudget(h, 'H-paid-review', 1, (handle) => expectStatus(handle, 'completed')),
  },
  {
    // The review's worst case passes what $0.06 leaves after two turns: BudgetExceeded, no feedback round.
    name: 'failed-review-over-budget',
    env: CENTS_ENV,
    run: (h) => reviewedUnderBudget(h, 'H-review-over-budget', 0.06, (handle) => expectFailure(handle, 'BudgetExceeded')),
  },
  {
    // A reviewer: read-only, no commit, the post-commit gates at the head of the branch under review (headSha).
    name: 'completed-reviewer',
    run: (h) => completedReviewer(h, 'H-reviewer'),
  },
  {
    // The wall-time budget ends the run during a tool: the workflow's timer, not a check between turns.
    name: 'failed-wall-time',
    run: (h) => failedWallTime(h, 'H-wall-time'),
  },
  {
    // Temporal's own Cancel: recorded as killed, the workflow ends cancelled.
    name: 'cancelled-through-temporal',
    run: (h) => cancelledThroughTemporal(h, 'H-temporal-cancel'),
  },
  {
    // The secret scan blocks the commit; the findings (file, line, rule: never the value) are the agent's next turn.
    name: 'completed-after-secret-feedback',
    run: (h) => completedAfterSecretFeedback(h, 'H-secret-feedback'),
  },
  {
    // The same script recorded before an answer cut off at max_tokens got a note: taken as final, part1.txt alone was pushed.
    name: 'completed-cut-off-answer-taken-as-final',
    env: { AGENT_MAX_TOKENS_PER_TURN: '1024' },
    run: (h) => completedAfterCutOffAnswer(h, 'H-cut-off-final'),
  },
  {
    // An answer cut off at max_tokens while thinking: a note asks the agent to go on (continue-after-cut-off-answer).
    name: 'completed-after-cut-off-answer',
    env: { AGENT_MAX_TOKENS_PER_TURN: '1024' },
    run: (h) => completedAfterCutOffAnswer(h, 'H-cut-off'),
  },
  {
    // The agent finished without changing anything.
    name: 'failed-nothing-to-commit',
    run: (h) => failedNothingToCommit(h, 'H-nothing'),
  },
  {
    // Gate reports go to a coordinator, which approves: the run waits for its verdict, then pushes.
    name: 'completed-with-coordinator',
    env: fakeCoordinator([]),
    run: (h) => withCoordinator(h, 'H-coordinator', (handle) => expectStatus(handle, 'completed')),
  },
  {
    // The coordinator vetoes the pre-commit gates: CoordinatorVeto, nothing pushed.
    name: 'failed-coordinator-veto',
    env: fakeCoordinator([{ approved: false, reason: 'frozen for release' }]),
    run: (h) => withCoordinator(h, 'H-coordinator-veto', (handle) => expectFailure(handle, 'CoordinatorVeto')),
  },
];

/** A bad invocation: printed as one line, without the stack a failed recording keeps for debugging. */
class UsageError extends Error {}

async function main(names: string[]): Promise<void> {
  const unknown = names.filter((n) => !scenarios.some((s) => s.name === n));
  if (unknown.length) throw new UsageError(`unknown scenario(s): ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`);
  const chosen = names.length ? scenarios.filter((s) => names.includes(s.name)) : scenarios;
  const shared = await startHarness();
  try {
    for (const s of chosen) {
      const t0 = Date.now();
      const own = s.env ? await startHarness(typeof s.env === 'function' ? await s.env() : s.env) : undefined;
      try {
        const handle = await s.run(own ?? shared);
        const history = await handle.fetchHistory();
        const file = path.join(HISTORIES_DIR, `${s.name}.json`);
        await saveHistory(file, history);
        process.stdout.write(`${s.name}: ${history.events?.length ?? 0} events in ${Math.round((Date.now() - t0) / 1000)}s -> ${path.relative(process.cwd(), file)}\n`);
      } finally {
        await own?.close();
      }
    }
  } finally {
    await shared.close();
  }
  const failed = (await replayHistories(await loadHistoryDir(HISTORIES_DIR))).filter((o) => o.error);
  for (const f of failed) process.stderr.write(`replay failed: ${f.workflowId}: ${f.error?.message}\n`);
  if (failed.length) throw new Error(`${failed.length} recorded histories do not replay`);
  process.stdout.write('all recorded histories replay against the current workflow code\n');
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`record-histories: ${err instanceof UsageError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
