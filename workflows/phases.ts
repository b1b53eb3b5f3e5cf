/**
 * The phases of an agent run, each a named function over the run's state: prepare the
 * workspace, the agent loop, a gate phase, scan and commit, deliver (conflict check and push),
 * clean up. agent-run.ts strings them together and decides how the run ends.
 */
import * as wf from '@temporalio/workflow';
import type { AgentPhase, AgentResult, AgentRunInput, AgentStatusView, WorkerHost } from '../domain/agent';
import type { BudgetName } from '../domain/budgets';
import { awaitsCoordinator, blockingUnavailableGates, gatesUnavailableMessage, phaseHasGates, type GatePhase } from '../domain/gates';
import type { AgentStatus } from '../domain/lifecycle';
import { addUsd } from '../domain/pricing';
import { SA } from '../domain/search-attributes';
import { prepareForkedWorkspace } from './fork';
import { appendFeedback, modelTurn, onHost, prepareWorkspace, recordState, reportToCoordinator, setUpAgent, writeInitialPrompt, type HostActivities } from './proxies';
import type { CommitChangesInput, GateResolution, MergeAndPushResult, ModelTurnInput, ModelTurnResult, RecordStateInput, RunGatesInput, RunGatesResult, ScanResultForAgent } from '../activities';
import type { CommitResult } from '../activities/git';
import { RunFailure, type RunState } from './run-state';
import { onLiveHost } from './host-waits';

/** A run's state plus the one way it is published: Valkey projection, search attribute, Web UI details. */
export class Run {
  private indexedStatus: AgentStatus;
  /** Patch decisions taken early, before a state write (PATCHES_BEFORE_LOCAL_ACTIVITIES), for the code right after it. */
  private readonly decided = new Map<string, boolean>();

  /** The shape the run started with (undefined: before shapes, every patch asked on its own). */
  private readonly shape: typeof CURRENT_SHAPE | typeof SHAPE_2026_12 | undefined;
  /** How many calls the run awaits that a kill abandons at once (TRY_CANCEL): the run then ends in the same workflow task. */
  private abandonedByKill = 0;

  /** A state write handed to the next turn's activity instead of a local activity of its own. */
  private carried: RecordStateInput | undefined;

  /** `patched(id)` now, kept for the next `patched(id)`. */
  decide(id: string): boolean {
    const value = this.ask(id);
    this.decided.set(id, value);
    return value;
  }

  /** The decision `decide` took for `id`, once; otherwise whether the run takes patch `id`. */
  patched(id: string): boolean {
    const early = this.decided.get(id);
    this.decided.delete(id);
    return early ?? this.ask(id);
  }

  private ask(id: string): boolean {
    return (this.shape !== undefined && IMPLIED_BY_SHAPE_2026_12.has(id)) || (this.shape === CURRENT_SHAPE && IMPLIED_BY_CURRENT_SHAPE.has(id)) || wf.patched(id);
  }

  constructor(readonly state: RunState) {
    // The API indexes 'spawning' at start; continue-as-new carries the rest.
    this.indexedStatus = state.status;
    // First thing in the run, before any state write (PATCHES_BEFORE_LOCAL_ACTIVITIES).
    // The newest shape first: a run takes one shape's marker, never two.
    this.shape = wf.patched(CURRENT_SHAPE) ? CURRENT_SHAPE : wf.patched(SHAPE_2026_12) ? SHAPE_2026_12 : undefined;
  }

  /** Started with CURRENT_SHAPE or SHAPE_2026_12: every patch the shape implies is taken without being asked. */
  get currentShape(): boolean {
    return this.shape !== undefined;
  }

  /**
   * `call` (a model call, or a turn whose activity the run does not wait for on a kill), marked
   * as such while it runs: a kill arriving meanwhile ends the run in the same workflow task.
   */
  async abandonableOnKill<T>(call: () => Promise<T>): Promise<T> {
    this.abandonedByKill++;
    try {
      return await call();
    } finally {
      this.abandonedByKill--;
    }
  }

  /**
   * Whether a kill arriving now needs its own acknowledgement (`stopping`). Not when the run
   * awaits only a call the kill abandons: its `killed` write then follows in the same workflow
   * task and tells the API more. Runs started before CURRENT_SHAPE always acknowledge, as recorded.
   */
  killNeedsAcknowledgement(): boolean {
    return !(this.shape === CURRENT_SHAPE && this.abandonedByKill > 0);
  }

  showDetails(): void {
    wf.setCurrentDetails(this.state.details());
  }

  /** The activities of the host that holds the agent's worktree. */
  host(): HostActivities {
    // `host` is absent from workspaces recorded before workers had hosts (see onHost).
    const { host } = this.state.requireWorkspace() as { host?: WorkerHost };
    const failoverSeconds = this.state.input.hostFailoverSeconds ?? DEFAULT_HOST_FAILOVER_SECONDS;
    const activities = onHost(host, failoverSeconds);
    return host ? onLiveHost(activities, host, failoverSeconds) : activities;
  }

  /** Publishes the current state; sequence-numbered, so a retried write never moves it backwards. */
  async record(reason?: string): Promise<void> {
    const { state } = this;
    await recordState.executeWithOptions({ summary: `state: ${state.status} · ${state.phase}${reason ? ` (${reason.slice(0, 80)})` : ''}` }, [this.nextWrite(reason)]);
  }

  /**
   * Publishes the current state through the next turn's activity, which writes it before its
   * tools (RECORD_WITH_TURN): the same sequence-numbered write, without a local activity holding
   * the workflow task before the turn is scheduled.
   */
  recordWithNextTurn(): void {
    this.carried = this.nextWrite();
  }

  /** The write `recordWithNextTurn` left for the turn activity, once. */
  takeCarriedWrite(): RecordStateInput | undefined {
    const carried = this.carried;
    this.carried = undefined;
    return carried;
  }

  /** The next state write; the status search attribute and the Web UI's details follow it now. */
  private nextWrite(reason?: string): RecordStateInput {
    const { state } = this;
    const seq = state.nextSeq();
    if (state.status !== this.indexedStatus) {
      wf.upsertSearchAttributes([{ key: SA.agentStatus, value: state.status }]);
      this.indexedStatus = state.status;
    }
    this.showDetails();
    return { seq, view: state.view(), context: state.input.context, reason, at: new Date().toISOString() };
  }

  async moveTo(to: AgentStatus, reason?: string): Promise<void> {
    this.state.moveTo(to);
    await this.record(reason);
  }

  async enterPhase(next: AgentPhase): Promise<void> {
    this.state.phase = next;
    await this.record();
  }

  /**
   * Enters `phase` and does its work; the state write runs beside the work's first step (both
   * go out with the same workflow task), so publishing the phase costs no extra turn.
   */
  async during<T>(phase: AgentPhase, work: () => Promise<T>): Promise<T> {
    const [, result] = await Promise.all([this.enterPhase(phase), work()]);
    return result;
  }

  /**
   * Tells the API the kill arrived (phase `stopping`): without this write by its short deadline,
   * the API assumes no worker runs the workflow and stops it itself (api/killswitch.ts).
   */
  async acknowledgeKill(reason: string): Promise<void> {
    this.state.phase = 'stopping';
    try {
      await this.record(`kill requested: ${reason}`);
    } catch (err) {
      wf.log.warn('could not acknowledge the kill in Valkey', { agentId: this.state.input.agentId, error: describeFailure(err).message });
    }
  }
}

/** How long a host-bound activity waits for its host unless the input says otherwise (HOST_FAILOVER_SECONDS). */
export const DEFAULT_HOST_FAILOVER_SECONDS = 30;

/**
 * Patches that fold steps a run always does back to back into one activity each, saving a server
 * round trip apiece (issue 13): worktree + gates + sandbox, scan + commit, merge check + push.
 * Histories recorded before them replay on the separate activities.
 *
 * PATCHES_BEFORE_LOCAL_ACTIVITIES: a patch is asked before the state write (a local activity)
 * that precedes the code using it, never right after it. When a workflow task completes with the
 * local activity's marker but before the code after it ran (it happens under load, and whenever
 * a small workflow cache evicts the run), that code runs in the next task, and on replay the
 * SDK (1.24) answers `patched()` there from the earlier task's markers: false for a patch the
 * live run took, and the run is stuck on a nondeterminism error. The marker of a local activity
 * may sit before or after a patch marker in the same task, so histories recorded with the old
 * order still replay.
 */
const SET_UP_IN_ONE = 'set-up-agent-in-one-activity';
const SCAN_AND_COMMIT_IN_ONE = 'scan-and-commit-in-one-activity';
const PUSH_IF_MERGEABLE_IN_ONE = 'push-if-mergeable-in-one-activity';
/** Pre-commit gates + scan + commit: the gates' activity goes on to commit when they pass. */
const GATES_SCAN_AND_COMMIT_IN_ONE = 'gates-scan-and-commit-in-one-activity';
/** A turn after the first: the last answer's tools, then the next model call (activities/turn/). */
const TOOLS_THEN_MODEL_IN_ONE = 'tools-then-model-in-one-activity';
/** With no post-commit gate, the pre-commit gates' activity goes on from the commit to the merge check and the push. */
const PUSH_WITH_COMMIT = 'gates-commit-and-push-in-one-activity';
const GATES_BEFORE_FIRST_TURN = 'gates-resolved-before-first-turn';
/** Status, cost and the turn's cost reach Valkey every turn, not only at phase changes. */
const RECORD_EVERY_TURN = 'record-state-every-turn';
/**
 * A turn's state write goes with the next turn's activity when that turn follows at once: the
 * local activity held each turn's workflow task until Valkey answered, before the next turn could
 * be scheduled. Asked on each turn with tools by runs in SHAPE_2026_12 (a marker and a
 * TemporalChangeVersion upsert once per run); implied by CURRENT_SHAPE. One-way like any patch.
 * The status then shows the last answer once the turn's activity has started, not before.
 */
const RECORD_WITH_TURN = 'record-state-with-next-turn';
/**
 * An answer cut off at max_tokens gets a note asking the agent to go on (continueAfterCutOff);
 * runs recorded before it took such an answer as final and went on to the gates.
 */
const CONTINUE_AFTER_CUT_OFF = 'continue-after-cut-off-answer';
/** Answers cut off in a row that fail the run (AnswerCutOff): the agent had two notes to go on and could not. */
const CUT_OFFS_IN_A_ROW_LIMIT = 3;

/**
 * One patch for every patch a run asked before it: a run started with it takes them all and asks
 * none. Each `patched()` a run takes costs a marker in its history and an upsert of the
 * TemporalChangeVersion search attribute, a visibility write on the server: five for a completed run
 * before, one now. Histories without this marker ask each patch as they did. A patch added later
 * is asked on its own, then folds into the next shape (CURRENT_SHAPE below), which implies this
 * shape's patches too; a run asks the newest shape first, so it takes one marker.
 * Like any patch, it is one-way: a worker of an older release cannot replay a run started with it
 * (it would ask the patches one by one, get false, and fail the task until a current worker takes
 * it). Roll workers forward, not back past the release that brought it.
 */
const SHAPE_2026_12 = 'run-shape-2026-12';
const IMPLIED_BY_SHAPE_2026_12: ReadonlySet<string> = new Set([
  SET_UP_IN_ONE,
  GATES_BEFORE_FIRST_TURN,
  RECORD_EVERY_TURN,
  TOOLS_THEN_MODEL_IN_ONE,
  GATES_SCAN_AND_COMMIT_IN_ONE,
  SCAN_AND_COMMIT_IN_ONE,
  PUSH_WITH_COMMIT,
  PUSH_IF_MERGEABLE_IN_ONE,
]);
/**
 * The shape after SHAPE_2026_12: its patches, RECORD_WITH_TURN (one marker and one upsert less
 * per run), and a kill that lands while the run awaits only an abandoned call writes `killed`
 * without a `stopping` write before it (one local activity less per kill: Run.killNeedsAcknowledgement).
 */
const CURRENT_SHAPE = 'run-shape-2026-12b';
const IMPLIED_BY_CURRENT_SHAPE: ReadonlySet<string> = new Set([RECORD_WITH_TURN]);

/**
 * Worktree (on whichever host picks the task up), the gates it defines, sandbox, `running`, and
 * the first user message. Each step is skipped once done, so a run that moved hosts halfway
 * picks up where it was.
 */
export async function prepare(run: Run): Promise<void> {
  const { state } = run;
  const { input } = state;
  if (!state.workspace) {
    // Asked before the state write, not after it: see PATCHES_BEFORE_LOCAL_ACTIVITIES.
    const setUpInOne = !input.forkOf && run.patched(SET_UP_IN_ONE);
    await run.record('spawn accepted');
    // Only runs started by a fork carry `forkOf`: every other history takes the same path as before.
    if (input.forkOf) state.workspace = await prepareForkedWorkspace(run, input.forkOf);
    else if (setUpInOne) await setUp(run);
    else state.workspace = await prepareWorkspace({ agentId: input.agentId, taskId: input.taskId, repository: input.context.repository, baseBranch: input.context.branch });
  }
  if (state.status === 'spawning' && !state.gatesSkipped) {
    // Histories recorded before this check skip it, so they replay unchanged.
    state.gatesSkipped = run.patched(GATES_BEFORE_FIRST_TURN) ? applyGateResolution(run, await run.host().resolveGates({ workspace: state.requireWorkspace(), profile: input.gateProfile, customGates: input.context.gates, ...reviewBaseOf(state) })) : [];
  }
  await ensureSandbox(run, 'starting-sandbox');
  if (state.status !== 'spawning') return;
  const workspace = state.requireWorkspace();
  const skipped = state.gatesSkipped ?? [];
  state.startedAt = new Date().toISOString();
  state.phase = 'agent-loop';
  const ready = skipped.length > 0 ? `workspace ready; gates skipped (not defined at the base commit): ${skipped.join(', ')}` : 'workspace ready';
  // The state write is scheduled first, then the prompt (recorded histories hold them in that order).
  // A fork's conversation was copied with its workspace: it goes on from there.
  const [, messageCount] = await Promise.all([
    run.moveTo('running', ready),
    input.forkOf ? state.messageCount : writeInitialPrompt({ agentId: input.agentId, input, workspace, ...(state.reviewBase ? { reviewBase: state.reviewBase } : {}) }),
  ]);
  state.messageCount = messageCount;
}

/** Worktree, gates and sandbox in one activity; the sandbox is recorded before a missing gate fails the run, so cleanup stops it. */
async function setUp(run: Run): Promise<void> {
  const { state } = run;
  const { input } = state;
  const setup = await setUpAgent({
    agentId: input.agentId,
    taskId: input.taskId,
    repository: input.context.repository,
    baseBranch: input.context.branch,
    profile: input.gateProfile,
    customGates: input.context.gates,
    missingGates: input.missingGates,
    readOnly: state.readOnly,
    ...reviewBaseOf(state),
  });
  state.workspace = setup.workspace;
  if (setup.sandbox !== undefined) {
    state.sandbox = setup.sandbox ?? undefined;
    state.sandboxReady = true;
  }
  state.gatesSkipped = applyGateResolution(run, setup.gates);
}

/**
 * The profile's gates, resolved at the base commit before any model call: a run whose gates can
 * never pass fails now, costing no tokens, unless the spawn accepted missing gates; those are
 * recorded as `skipped` from the start. Returns the names skipped.
 */
function applyGateResolution(run: Run, { unavailable, reviewBase }: GateResolution): string[] {
  const { state } = run;
  const { input } = state;
  if (reviewBase) state.reviewBase = reviewBase;
  if (input.missingGates === 'skip') {
    if (unavailable.length > 0) state.mergeGates(unavailable.map((g) => ({ name: g.name, outcome: 'skipped', durationMs: 0, detail: g.detail })));
    return unavailable.map((g) => g.name);
  }
  const blocking = blockingUnavailableGates(unavailable, input.missingGates);
  if (blocking.length > 0) throw new RunFailure(gatesUnavailableMessage(blocking), 'GatesUnavailable');
  return [];
}

/** Starts the agent's sandbox on its current host, once per host. */
export async function ensureSandbox(run: Run, phase?: AgentPhase): Promise<void> {
  const { state } = run;
  if (state.sandboxReady) return;
  const start = () => run.host().startSandbox({ agentId: state.input.agentId, taskId: state.input.taskId, workspace: state.requireWorkspace(), readOnly: state.readOnly });
  state.sandbox = (await (phase ? run.during(phase, start) : start())) ?? undefined;
  state.sandboxReady = true;
}

/**
 * Turns until the model ends its turn without tool calls; budgets are checked before each.
 * Tools the last answer asked for run first, so a run that moved hosts mid-batch runs that batch
 * again on the new host (the one turn that may run twice) without asking the model again.
 */
export async function agentLoop(run: Run): Promise<void> {
  const { state } = run;
  for (;;) {
    // Tools alone: in runs recorded before turns were one activity, after a move to another host
    // mid-batch there, or when the run is about to end or continue as new.
    if (state.pendingTools && !takesTurnInOne(run)) await runPendingTools(run);
    const exhausted = state.exhaustedBudget(Date.now());
    if (exhausted) throw exhausted;
    if (state.shouldContinueAsNew(wf.workflowInfo().continueAsNewSuggested)) {
      await wf.continueAsNew<(input: AgentRunInput) => Promise<AgentStatusView>>({ ...state.input, resume: state.checkpoint() });
    }
    const answer = await run.abandonableOnKill(() => (state.pendingTools ? toolsThenModel(run) : modelTurn(modelInput(run), `turn ${state.turn + 1}: model call (${state.messageCount} messages)`)));
    // The wall-time budget ran out during the tools (by the worker's clock, which decided it).
    if (!answer) throw state.exhaustedBudget(Math.max(Date.now(), state.wallDeadlineMs))!;
    // Refused before the call: the turn would have passed a budget.
    if (answer.refused) throw new RunFailure(answer.refused.message, 'BudgetExceeded', answer.refused.budget);
    state.recordTurn(answer);
    state.expectTools(answer.stopReason === 'tool_use' && answer.toolUseCount > 0, answer.digest);
    // Status, cost and this turn's cost reach Valkey (and GET /status) every turn, not only at phase
    // changes. Patched: runs started before this write existed replay without it.
    const recordEveryTurn = run.patched(RECORD_EVERY_TURN);
    // What comes after the write is decided before it (PATCHES_BEFORE_LOCAL_ACTIVITIES). Asked
    // only of a cut-off answer, so other runs take no marker.
    const cutOff = answer.stopReason === 'max_tokens' && run.patched(CONTINUE_AFTER_CUT_OFF);
    state.answerCutOff(cutOff);
    if (state.pendingTools) run.decide(TOOLS_THEN_MODEL_IN_ONE);
    else if (!cutOff) decideAcceptance(run);
    if (recordEveryTurn && carriesWriteToNextTurn(run)) run.recordWithNextTurn();
    else if (recordEveryTurn) await run.record();
    // Cut off at a max_tokens that was the output budget's remainder: the budget is used up.
    if (answer.stopReason === 'max_tokens') {
      const spent = state.exhaustedBudget(Date.now());
      if (spent) throw spent;
    }
    if (cutOff) {
      await continueAfterCutOff(run, answer);
      continue;
    }
    if (!state.pendingTools) return;
    // Runs recorded before turns were one activity ran the tools right after the answer.
    if (!run.patched(TOOLS_THEN_MODEL_IN_ONE)) await runPendingTools(run);
  }
}

/**
 * An answer cut off at max_tokens (in its thinking, its text or a tool call, which does not run)
 * is not the agent's last word: taken as final, the gates ran on unfinished work, committed and
 * pushed it. The agent is told and asked to go on, a few times in a row at most; then the run
 * fails, naming the setting, rather than paying for answers that never end.
 */
async function continueAfterCutOff(run: Run, answer: ModelTurnResult): Promise<void> {
  const { state } = run;
  // Results of workers from before the figure was reported say less.
  const limit = answer.maxTokens !== undefined ? `${answer.maxTokens} output tokens` : 'the output limit';
  if (state.cutOffsInARow >= CUT_OFFS_IN_A_ROW_LIMIT) {
    throw new RunFailure(
      `the agent's answer was cut off at max_tokens (${answer.maxTokens !== undefined ? `${limit} a turn` : limit}, its thinking included) ${state.cutOffsInARow} turns in a row, each before it finished: ` +
        'raise AGENT_MAX_TOKENS_PER_TURN or give the agent a smaller task',
      'AnswerCutOff',
    );
  }
  const note =
    `Your last answer was cut off at max_tokens: it reached ${limit}, your thinking included, before you finished it, ` +
    `so nothing in it ran and your work is not done. Continue from where you were, more briefly: think less before you act, ` +
    `and split large changes into several smaller tool calls.`;
  await appendFeedback({ agentId: state.input.agentId, index: state.messageCount, text: note });
  state.recordContinueNote();
}

/** The next model call's input; the summaries are what the Web UI lists for each activity. */
function modelInput(run: Run): ModelTurnInput {
  const { state } = run;
  const { input } = state;
  return {
    agentId: input.agentId,
    agentType: input.agentType,
    turn: state.turn + 1,
    messageCount: state.messageCount,
    workspaceDir: state.sandbox ? '/workspace' : state.requireWorkspace().path,
    budget: state.turnBudget(),
  };
}

/**
 * Whether the pending tools go out with the next model call as one activity: only on a host's
 * turn queue (a workspace that names its host) and only when the run will make that call (no
 * budget used up, no continue-as-new due first).
 */
function takesTurnInOne(run: Run): boolean {
  return turnInOneCanFollow(run) && run.patched(TOOLS_THEN_MODEL_IN_ONE);
}

function turnInOneCanFollow(run: Run): boolean {
  const { state } = run;
  if (!(state.requireWorkspace() as { host?: WorkerHost }).host) return false;
  return !state.exhaustedBudget(Date.now()) && !state.shouldContinueAsNew(wf.workflowInfo().continueAsNewSuggested);
}

/**
 * Whether this turn's state write can go with the next turn's activity: the answer asked for
 * tools and the loop goes straight on to a turn in one activity (the same checks, in the same
 * activation, as the loop's next pass). Only runs in the current shape ask the patch.
 */
function carriesWriteToNextTurn(run: Run): boolean {
  return run.currentShape && run.state.pendingTools && turnInOneCanFollow(run) && run.patched(RECORD_WITH_TURN);
}

/** The pending tool batch and the next model call, as one activity on the agent's host. */
async function toolsThenModel(run: Run): Promise<ModelTurnResult | undefined> {
  const { state } = run;
  const { input } = state;
  const turn = state.turn;
  const tools = { agentId: input.agentId, turn, messageIndex: state.messageCount, readOnly: state.readOnly, workspace: state.requireWorkspace(), sandbox: state.sandbox };
  // The model call's conversation includes the tool results the batch stores at `messageIndex`.
  const model = { ...modelInput(run), messageCount: state.messageCount + 1 };
  const record = run.takeCarriedWrite();
  const done = await run.host().toolsThenModel.executeWithOptions({ summary: `turn ${turn}: ${state.pendingToolsDigest ?? 'tools'}; turn ${turn + 1}: model call (${model.messageCount} messages)` }, [
    { tools, model, wallDeadlineMs: state.wallDeadlineMs, ...(record ? { record } : {}) },
  ]);
  state.recordToolResults(done.tools.digest);
  run.showDetails();
  return done.model;
}

/** Runs the tool calls of the last answer on the agent's host; their results are the next message. */
async function runPendingTools(run: Run): Promise<void> {
  const { state } = run;
  const { input } = state;
  const turn = state.turn;
  const batch = await run.host().executeTools.executeWithOptions({ summary: `turn ${turn}: ${state.pendingToolsDigest ?? 'tools'}` }, [
    { agentId: input.agentId, turn, messageIndex: state.messageCount, readOnly: state.readOnly, workspace: state.requireWorkspace(), sandbox: state.sandbox },
  ]);
  state.recordToolResults(batch.digest);
  run.showDetails();
}

/** Gives failed gates or a blocked commit back to the agent, or fails the run when rounds are used up. */
async function feedBack(run: Run, text: string, failure: RunFailure): Promise<void> {
  const { state } = run;
  if (!state.canFeedBack()) throw failure;
  await appendFeedback({ agentId: state.input.agentId, index: state.messageCount, text });
  state.recordFeedback();
}

/**
 * A reviewer's workspace starts from the branch under review, which another agent wrote: its gates
 * are defined where that branch forked from the review base, not by the branch. The review base is
 * `context.baseBranch` or, without one, the remote's default branch, which the gate activity finds
 * (`findReviewBase`) and returns; the run keeps it. Activity inputs and a result field only, so
 * recorded histories replay unchanged.
 */
function reviewBaseOf(state: RunState): { reviewBase?: string; findReviewBase?: boolean } {
  const { input } = state;
  if (input.agentType !== 'reviewer') return {};
  const base = input.context.baseBranch || state.reviewBase;
  return base ? { reviewBase: base } : { findReviewBase: true };
}

/** The input of one gate phase's activity. */
function gateInput(run: Run, phase: GatePhase, round: number, commitSha?: string): RunGatesInput {
  const { state } = run;
  const { input } = state;
  return {
    agentId: input.agentId,
    taskId: input.taskId,
    agentType: input.agentType,
    workspace: state.requireWorkspace(),
    sandbox: state.sandbox,
    profile: input.gateProfile,
    customGates: input.context.gates,
    phase,
    commitSha,
    round,
    maxRounds: input.maxFeedbackRounds,
    missingGates: input.missingGates,
    ...reviewBaseOf(state),
    // The AI review is a model call too: it is not made when it could pass the dollar budget.
    ...(input.budgets.maxCostUsd !== undefined ? { costLeftUsd: Math.max(0, addUsd(input.budgets.maxCostUsd, -state.costUsd)), countedUsd: state.costUsd } : {}),
  };
}

/** Runs one phase's gates and reports them; false when they failed and went back to the agent. */
export async function gatePhase(run: Run, phase: GatePhase, commitSha?: string): Promise<boolean> {
  const { state } = run;
  const { input } = state;
  if (!phaseHasGates(input.gateProfile, input.context.gates, phase)) return true;
  const round = state.feedbackRounds + 1;
  const outcome = await run.during(phase === 'pre-commit' ? 'pre-commit-gates' : 'post-commit-gates', () =>
    run.host().runGates.executeWithOptions({ summary: `${phase} gates, round ${round}` }, [gateInput(run, phase, round, commitSha)]),
  );
  return settleGates(run, phase, outcome, commitSha);
}

/** Records a gate phase's outcome and asks the coordinator when one is configured; false when the gates failed and went back to the agent. */
async function settleGates(run: Run, phase: GatePhase, outcome: RunGatesResult, commitSha?: string): Promise<boolean> {
  const { state } = run;
  const { input } = state;
  state.mergeGates(outcome.results);
  state.recordCost(outcome.costUsd, outcome.spentUsd);
  // The review was not asked for, as it could pass the dollar budget: no feedback round can fix that.
  if (outcome.refused) throw new RunFailure(outcome.refused.message, 'BudgetExceeded', outcome.refused.budget);
  if (awaitsCoordinator(outcome)) {
    const verdict = await reportToCoordinator({
      agentId: input.agentId,
      taskId: input.taskId,
      agentType: input.agentType,
      phase,
      commitSha,
      branch: state.requireWorkspace().branch,
      gates: outcome.results,
    });
    if (verdict && !verdict.approved) throw new RunFailure(`coordinator vetoed: ${verdict.reason ?? 'no reason given'}`, 'CoordinatorVeto');
  }
  if (outcome.passed) return true;
  // Missing only now (a program absent, the network off where the gates run): no feedback round brings them back.
  const blocking = blockingUnavailableGates(outcome.unavailable ?? [], input.missingGates);
  if (blocking.length > 0) throw new RunFailure(gatesUnavailableMessage(blocking), 'GatesUnavailable');
  const failing = outcome.results.filter((g) => g.outcome !== 'passed' && g.outcome !== 'skipped').map((g) => `${g.name} ${g.outcome}`);
  await feedBack(run, outcome.feedback, new RunFailure(`quality gates failed: ${failing.join(', ')}`, 'GateFailed'));
  return false;
}

type CommitStep = { blocked: true } | { blocked: false; commitSha?: string; delivered?: MergeAndPushResult };

/**
 * Pre-commit gates, then scan and commit, in one activity: the activity stops after the gates
 * when they failed or the coordinator must rule on them first, and the rest runs as before.
 */
async function gatesScanAndCommit(run: Run): Promise<CommitStep> {
  const { state } = run;
  const { input } = state;
  if (!phaseHasGates(input.gateProfile, input.context.gates, 'pre-commit')) return scanAndCommit(run);
  const round = state.feedbackRounds + 1;
  const push = !phaseHasGates(input.gateProfile, input.context.gates, 'post-commit') && run.patched(PUSH_WITH_COMMIT);
  const done = await run.during('pre-commit-gates', () =>
    run.host().gatesScanAndCommit.executeWithOptions({ summary: `pre-commit gates, round ${round}; scan and commit${push ? '; push' : ''}` }, [
      { gates: gateInput(run, 'pre-commit', round), commit: commitInput(run), ...(push ? { push } : {}) },
    ]),
  );
  if (!(await settleGates(run, 'pre-commit', done.gates))) return { blocked: true };
  if (done.committed && done.delivered) {
    const step = await settleScan(run, done.committed);
    return step.blocked ? step : { ...step, delivered: done.delivered };
  }
  // After the coordinator's approval: still exactly the tree the gates checked.
  return done.committed ? settleScan(run, done.committed) : scanAndCommit(run, done.gates.tree);
}

function commitInput(run: Run): Omit<CommitChangesInput, 'tree'> {
  const { input } = run.state;
  return { workspace: run.state.requireWorkspace(), agentId: input.agentId, taskId: input.taskId, agentType: input.agentType };
}

/**
 * Scans the changes and commits them, unless a finding went back to the agent: the tree the
 * pre-commit gates checked when they ran, otherwise the worktree staged now.
 */
async function scanAndCommit(run: Run, gatedTree?: string): Promise<CommitStep> {
  const commitArgs = commitInput(run);
  const folded = run.patched(SCAN_AND_COMMIT_IN_ONE);
  const gated = gatedTree ? { gatedTree } : {};
  const scan = await run.during('secret-scan', () =>
    folded ? run.host().scanAndCommit({ ...commitArgs, ...gated }) : run.host().scanStagedChanges({ workspace: commitArgs.workspace, ...gated }),
  );
  return settleScan(run, scan);
}

/** What the scan found goes back to the agent; a clean scan is committed (here, unless its activity committed already). */
async function settleScan(run: Run, scan: ScanResultForAgent & { commit?: CommitResult }): Promise<CommitStep> {
  if (scan.refused) {
    await feedBack(run, `Your changes were not committed: ${scan.refused}`, new RunFailure(`commit refused: ${scan.refused}`, 'CommitRefused'));
    return { blocked: true };
  }
  // Older workers did not report unscannable files.
  const unscannable = scan.unscannable ?? [];
  if (scan.findings.length > 0 || unscannable.length > 0) {
    const lines = [
      ...scan.findings.map((f) => `- ${f.file}:${f.line}:${f.column} ${f.ruleId} (${f.match})`),
      ...unscannable.map((u) => `- ${u.file}: cannot be scanned (${u.reason})`),
    ];
    const found = scan.findings.length > 0 ? `the secret scanner found ${scan.findings.length} likely secret(s)` : '';
    const unread = unscannable.length > 0 ? `${unscannable.length} file(s) could not be scanned` : '';
    await feedBack(
      run,
      `Your changes were not committed: ${[found, unread].filter(Boolean).join(' and ')}:\n${lines.join('\n')}\nRemove them (read credentials from the environment instead; keep files the scanner cannot read out of the commit) and finish again.`,
      new RunFailure(
        `secret scan blocked the commit: ${[...scan.findings.map((f) => `${f.file}:${f.line} ${f.ruleId}`), ...unscannable.map((u) => `${u.file} unscannable`)].join(', ')}`,
        'SecretDetected',
      ),
    );
    return { blocked: true };
  }
  const commit = scan.commit ?? (await run.during('commit', () => run.host().commitChanges({ ...commitInput(run), tree: scan.tree })));
  return { blocked: false, commitSha: commit.commitSha };
}

/**
 * The agent works and the gates judge until everything passes (or a phase fails the run).
 * Workers commit between the two gate phases; a reviewer never commits. Re-entered after a move
 * to another host: a finished agent loop is not run again, the gates and the commit are.
 */
export async function acceptedWork(run: Run): Promise<{ commitSha?: string; delivered?: MergeAndPushResult }> {
  const { state } = run;
  for (;;) {
    if (!state.loopDone) {
      if (state.phase !== 'agent-loop') await run.enterPhase('agent-loop');
      await agentLoop(run);
    }
    if (state.readOnly) {
      if (!(await gatePhase(run, 'pre-commit'))) continue;
      if (await gatePhase(run, 'post-commit', await run.host().headSha({ workspace: state.requireWorkspace() }))) return {};
      continue;
    }
    const committed = run.patched(GATES_SCAN_AND_COMMIT_IN_ONE)
      ? await gatesScanAndCommit(run)
      : (await gatePhase(run, 'pre-commit'))
        ? await scanAndCommit(run)
        : ({ blocked: true } as const);
    if (committed.blocked) continue;
    state.commitSha = committed.commitSha ?? state.commitSha; // nothing new to commit after post-commit feedback keeps the last commit
    if (!state.commitSha) throw new RunFailure('the agent finished without changing anything', 'NothingToCommit');
    // Pushed already: only when no post-commit gate was there to run.
    if (committed.delivered) return { commitSha: state.commitSha, delivered: committed.delivered };
    if (await gatePhase(run, 'post-commit', state.commitSha)) return { commitSha: state.commitSha };
  }
}

/**
 * The patches acceptedWork asks right after the agent loop ends, asked before the loop's last
 * state write, in the order it asks them (PATCHES_BEFORE_LOCAL_ACTIVITIES).
 */
function decideAcceptance(run: Run): void {
  const { state } = run;
  const { input } = state;
  if (state.readOnly || !run.decide(GATES_SCAN_AND_COMMIT_IN_ONE)) return;
  if (!phaseHasGates(input.gateProfile, input.context.gates, 'pre-commit')) run.decide(SCAN_AND_COMMIT_IN_ONE);
  else if (!phaseHasGates(input.gateProfile, input.context.gates, 'post-commit')) run.decide(PUSH_WITH_COMMIT);
}

/** Checks the branch still merges into its target, then pushes it (unless the commit's activity did both: `done`). */
export async function deliver(run: Run, commitSha: string | undefined, done?: MergeAndPushResult): Promise<AgentResult> {
  const { state } = run;
  const workspace = state.requireWorkspace();
  const conflict = (conflicts: string[]) => new RunFailure(`merge conflict with ${state.input.context.branch} in: ${conflicts.join(', ')}`, 'MergeConflict');
  if (done || run.patched(PUSH_IF_MERGEABLE_IN_ONE)) {
    const delivered = done ?? (await run.during('push', () => run.host().pushIfMergeable({ workspace })));
    if (!delivered.clean) throw conflict(delivered.conflicts);
    return state.finalResult({ commitSha, pushed: delivered.push.pushed });
  }
  const merge = await run.during('conflict-check', () => run.host().checkMergeable({ workspace }));
  if (!merge.clean) throw conflict(merge.conflicts);
  const push = await run.during('push', () => run.host().pushBranch({ workspace }));
  return state.finalResult({ commitSha, pushed: push.pushed });
}

/**
 * A workspace rebuilt on a host the run had lost before (it came back, say a restarted worker on
 * the same disk) is cleaned up there: the run skipped it, and its container, salvage and worktree
 * waited for the reaper. Asked before the final state write (PATCHES_BEFORE_LOCAL_ACTIVITIES).
 */
const CLEAN_UP_ON_REGAINED_HOST = 'clean-up-on-regained-host';

/** Takes the decisions cleanUp needs, before the state write that precedes it. */
export function decideCleanUp(run: Run): void {
  if (run.state.onLostHost && !run.state.workspaceLost) run.decide(CLEAN_UP_ON_REGAINED_HOST);
}

/**
 * Stops the sandbox, salvages unfinished work, removes the worktree; failures are left to the
 * reaper. A host the run has lost is not waited for: its own reaper cleans up if it comes back.
 */
export async function cleanUp(run: Run, succeeded: boolean): Promise<void> {
  const { state } = run;
  // No workspace: the prepare was stopped before it finished, and stopped prepares leave nothing
  // (an attempt lost in a crash is left to its host's reaper).
  if (!state.workspace) return;
  if (state.onLostHost && (state.workspaceLost || !run.patched(CLEAN_UP_ON_REGAINED_HOST))) {
    wf.log.warn('cleanup skipped: the host is lost; its reaper removes what it left', { agentId: state.input.agentId, host: state.workspace.host.id });
    return;
  }
  try {
    const cleaned = await run.host().cleanupAgent({ agentId: state.input.agentId, workspace: state.workspace, sandbox: state.sandbox, salvage: !succeeded });
    if (cleaned.salvageRef) {
      state.result = { ...(state.result ?? state.partialResult() ?? { pushed: false, turns: state.turn, inputTokens: state.inputTokens, outputTokens: state.outputTokens }), salvageRef: cleaned.salvageRef };
    }
    if (cleaned.oomKilled && state.error) state.error = `${state.error} (the sandbox container was OOM-killed)`;
  } catch (err) {
    wf.log.error('cleanup failed; the reaper will finish it', { agentId: state.input.agentId, error: describeFailure(err).message });
  }
}

/** Message and type of a failure, looking through ActivityFailure to the cause our activities threw. */
export function describeFailure(err: unknown): { message: string; type?: string; budget?: BudgetName } {
  if (err instanceof RunFailure) return { message: err.message, type: err.type, ...(err.budget ? { budget: err.budget } : {}) };
  let cur: unknown = err;
  while (cur instanceof wf.ActivityFailure || (cur instanceof wf.TemporalFailure && !(cur instanceof wf.ApplicationFailure) && cur.cause)) {
    cur = (cur as wf.TemporalFailure).cause;
  }
  if (cur instanceof wf.ApplicationFailure) return { message: cur.message, type: cur.type ?? undefined };
  if (cur instanceof Error) return { message: cur.message };
  return { message: String(cur) };
}
