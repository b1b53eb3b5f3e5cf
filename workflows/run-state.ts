/**
 * What one agent run knows about itself, as a plain class: status and phase, the turn and
 * message counters, tokens, feedback rounds, gate results, budgets, how it ended. The workflow
 * drives it; the status query, the Valkey projection, the Web UI details and continue-as-new read
 * it. No Temporal API in here, so it is unit-tested without a server.
 */
import type {
  AgentLoopCheckpoint,
  AgentPhase,
  AgentProgress,
  AgentResult,
  AgentRunInput,
  AgentStatusView,
  RunUsage,
  SandboxInfo,
  WorkerHost,
  WorkspaceInfo,
} from '../domain/agent';
import { spentBudget, type BudgetName } from '../domain/budgets';
import type { FailureType } from '../domain/failures';
import { addUsd, formatUsd } from '../domain/pricing';
import type { ReviewOutcome } from '../domain/review';
import type { GateResult } from '../domain/gates';
import { isTerminal, transition, type AgentStatus } from '../domain/lifecycle';

/** Why a run fails, raised inside the workflow; the run ends as an ApplicationFailure of this type. */
export class RunFailure extends Error {
  constructor(
    message: string,
    readonly type: FailureType,
    /** For `BudgetExceeded`: which budget. */
    readonly budget?: BudgetName,
  ) {
    super(message);
  }
}

/**
 * What a model turn reports back to the loop. The cache and cost fields are absent in the
 * recorded results of runs from before they were counted.
 */
export interface TurnOutcome {
  inputTokens: number;
  outputTokens: number;
  cacheCreationInputTokens?: number;
  cacheReadInputTokens?: number;
  costUsd?: number;
  /** The spend ledger's total after the turn; absent in results recorded before the ledger. */
  spentUsd?: number;
  contextTokens?: number;
  review?: ReviewOutcome;
}

/** What the model activity needs to hold a turn to the budgets. */
export interface TurnBudgetInput {
  maxOutputTokens: number;
  outputTokens: number;
  maxCostUsd?: number;
  costUsd: number;
}

export class RunState {
  status: AgentStatus;
  phase: AgentPhase;
  /** Sequence number of the last Valkey write. */
  seq: number;
  workspace?: WorkspaceInfo;
  sandbox?: SandboxInfo;
  /** The sandbox of the current host is started (or is disabled): false again after a move. */
  sandboxReady: boolean;
  /** The last model answer asked for tools that have not run yet (their results are not stored). */
  pendingTools = false;
  /** What the model answered with those tools (the Web UI's summary of the batch). */
  pendingToolsDigest?: string;
  /** The agent ended its turn without tools; cleared when feedback goes back to it. */
  loopDone = false;
  /** The agent's commit on the current host, once made. */
  commitSha?: string;
  /** A reviewer spawned without `context.baseBranch`: the base the set-up found (the remote's default branch). */
  reviewBase?: string;
  /** Gates found missing at the base commit and skipped; set once the check before the first turn ran. */
  gatesSkipped?: string[];
  /** Hosts this run lost (their resources are left to their own reapers). */
  lostHosts: string[];
  /** The workspace's host was lost and the agent has not moved since (a host lost before may hold it again). */
  workspaceLost = false;
  startedAt?: string;
  readonly startedAtMs: number;
  turn: number;
  /** Turns taken since this workflow run started (continue-as-new resets it). */
  turnsThisRun = 0;
  /** Messages `[0, messageCount)` are the stored conversation. */
  messageCount: number;
  inputTokens: number;
  outputTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
  /** USD of every model turn so far. */
  costUsd: number;
  lastTurn?: AgentProgress['lastTurn'];
  /** A reviewer's verdict, from its latest final answer. */
  review?: ReviewOutcome;
  feedbackRounds: number;
  /** The latest answers, in a row, that were cut off at max_tokens before they finished. */
  cutOffsInARow: number;
  lastGates?: GateResult[];
  /** Outcome of the last tool batch (`bash: npm test → exit 1`), shown in the Web UI details. */
  lastTools?: string;
  result?: AgentResult;
  error?: string;
  errorType?: string;
  completedAt?: string;
  killReason?: string;
  budgetReason?: string;
  exceededBudget?: BudgetName;

  constructor(
    readonly input: AgentRunInput,
    nowMs: number,
  ) {
    const resume = input.resume;
    this.status = resume ? 'running' : 'spawning';
    this.phase = resume ? 'agent-loop' : 'preparing-workspace';
    this.seq = resume?.stateSeq ?? 0;
    this.workspace = resume?.workspace;
    this.sandbox = resume?.sandbox;
    this.sandboxReady = resume !== undefined;
    this.commitSha = resume?.commitSha;
    this.startedAt = resume?.startedAt;
    this.startedAtMs = resume?.startedAtMs ?? nowMs;
    this.turn = resume?.turn ?? 0;
    this.messageCount = resume?.messageCount ?? 0;
    this.inputTokens = resume?.inputTokens ?? 0;
    this.outputTokens = resume?.outputTokens ?? 0;
    this.cacheCreationInputTokens = resume?.cacheCreationInputTokens ?? 0;
    this.cacheReadInputTokens = resume?.cacheReadInputTokens ?? 0;
    this.costUsd = resume?.costUsd ?? 0;
    this.feedbackRounds = resume?.feedbackRounds ?? 0;
    this.cutOffsInARow = resume?.cutOffsInARow ?? 0;
    this.lostHosts = [...(resume?.lostHosts ?? [])];
    this.reviewBase = resume?.reviewBase;
  }

  /** A fork starts after turn `turn` of the agent it forks, with that agent's first `messageCount` messages. */
  forkedAt(turn: number, messageCount: number): void {
    this.turn = turn;
    this.messageCount = messageCount;
  }

  /** Reviewers read and run; they never commit or push. */
  get readOnly(): boolean {
    return this.input.agentType === 'reviewer';
  }

  get finished(): boolean {
    return isTerminal(this.status);
  }

  /** When the wall-time budget runs out (epoch ms). */
  get wallDeadlineMs(): number {
    return this.startedAtMs + this.input.budgets.maxWallTimeSeconds * 1000;
  }

  /** The workspace, for phases that only run once it exists. */
  requireWorkspace(): WorkspaceInfo {
    if (!this.workspace) throw new Error('the workspace is not prepared yet');
    return this.workspace;
  }

  moveTo(to: AgentStatus): void {
    this.status = transition(this.status, to);
  }

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  /** The first budget that is used up, checked before every turn. */
  exhaustedBudget(nowMs: number): RunFailure | undefined {
    const breach = spentBudget(this.input.budgets, { turns: this.turn, outputTokens: this.outputTokens, costUsd: this.costUsd, elapsedMs: nowMs - this.startedAtMs });
    return breach && new RunFailure(breach.message, 'BudgetExceeded', breach.budget);
  }

  /** The budgets and what is spent, for the model activity to cap `max_tokens` and refuse a turn that would pass `maxCostUsd`. */
  turnBudget(): TurnBudgetInput {
    const { budgets } = this.input;
    return {
      maxOutputTokens: budgets.maxOutputTokens,
      outputTokens: this.outputTokens,
      ...(budgets.maxCostUsd !== undefined ? { maxCostUsd: budgets.maxCostUsd } : {}),
      costUsd: this.costUsd,
    };
  }

  /** Continue as new when Temporal suggests it, or after `turnsPerRun` turns; never before the first turn of a run. */
  shouldContinueAsNew(suggested: boolean): boolean {
    if (this.turnsThisRun === 0) return false;
    return suggested || (this.input.turnsPerRun !== undefined && this.turnsThisRun >= this.input.turnsPerRun);
  }

  /** A model answer was stored at `messageCount`. */
  recordTurn(outcome: TurnOutcome): void {
    this.messageCount += 1;
    this.turn += 1;
    this.turnsThisRun += 1;
    this.inputTokens += outcome.inputTokens;
    this.outputTokens += outcome.outputTokens;
    this.cacheCreationInputTokens += outcome.cacheCreationInputTokens ?? 0;
    this.cacheReadInputTokens += outcome.cacheReadInputTokens ?? 0;
    this.recordCost(outcome.costUsd, outcome.spentUsd);
    this.lastTurn = { turn: this.turn, costUsd: outcome.costUsd ?? 0, ...(outcome.contextTokens !== undefined ? { contextTokens: outcome.contextTokens } : {}) };
    if (outcome.review) this.review = outcome.review;
  }

  /**
   * Dollars an activity paid (a turn, or the AI review gate's call), and the spend ledger's total
   * after it when the activity reports one: that total also holds calls whose activity attempt
   * failed after paying, which the workflow never saw (state/spend-ledger.ts).
   */
  recordCost(usd: number | undefined, spentUsd?: number): void {
    this.costUsd = Math.max(addUsd(this.costUsd, usd ?? 0), spentUsd ?? 0);
  }

  /** Tokens and dollars so far. */
  usage(): RunUsage {
    return {
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      cacheCreationInputTokens: this.cacheCreationInputTokens,
      cacheReadInputTokens: this.cacheReadInputTokens,
      costUsd: this.costUsd,
    };
  }

  /** Whether the answer just recorded asked for tools (`digest` names them): they run next, or the agent's loop is done. */
  expectTools(wanted: boolean, digest?: string): void {
    this.pendingTools = wanted;
    this.pendingToolsDigest = wanted ? digest : undefined;
    this.loopDone = !wanted;
  }

  /** Tool results were stored at `messageCount`; `digest` is their one-line outcome, for the Web UI. */
  recordToolResults(digest?: string): void {
    this.pendingTools = false;
    this.pendingToolsDigest = undefined;
    this.messageCount += 1;
    this.lastTools = digest;
  }

  /**
   * The agent now works on another host: its workspace there was rebuilt from its last
   * checkpoint; the old host's sandbox and any commit made there are gone with it.
   */
  movedTo(workspace: WorkspaceInfo): void {
    this.workspace = workspace;
    this.sandbox = undefined;
    this.sandboxReady = false;
    this.commitSha = undefined;
    this.workspaceLost = false;
  }

  /** The workspace's host stopped answering (or lost the worktree): the run leaves it. */
  hostLost(): void {
    const lost = this.requireWorkspace().host.id;
    if (!this.lostHosts.includes(lost)) this.lostHosts.push(lost);
    this.workspaceLost = true;
  }

  /** Whether the workspace's host is one this run already gave up on. */
  get onLostHost(): boolean {
    // Workspaces recorded before workers had hosts name none (see proxies.ts onHost).
    const host = (this.workspace as { host?: WorkerHost } | undefined)?.host;
    return host !== undefined && this.lostHosts.includes(host.id);
  }

  /**
   * Whether the answer just recorded was cut off at max_tokens (`cutOff`): such an answer is not
   * the agent's last word, so its loop goes on; counted while they come in a row.
   */
  answerCutOff(cutOff: boolean): void {
    this.cutOffsInARow = cutOff ? this.cutOffsInARow + 1 : 0;
    if (cutOff) this.loopDone = false;
  }

  /** The note asking the agent to go on after a cut-off answer was stored at `messageCount`. */
  recordContinueNote(): void {
    this.messageCount += 1;
  }

  canFeedBack(): boolean {
    return this.feedbackRounds < this.input.maxFeedbackRounds;
  }

  /** A feedback turn was stored at `messageCount`. */
  recordFeedback(): void {
    this.loopDone = false;
    this.feedbackRounds += 1;
    this.messageCount += 1;
  }

  /** The latest result of every gate run so far. */
  mergeGates(results: readonly GateResult[]): void {
    this.lastGates = [...(this.lastGates ?? []).filter((g) => !results.some((r) => r.name === g.name)), ...results];
  }

  /** The result so far: what the run reports when it ends without one of its own. */
  partialResult(): AgentResult | undefined {
    if (!this.workspace) return undefined;
    return { branch: this.workspace.branch, pushed: false, turns: this.turn, ...this.usage(), gates: this.lastGates, ...(this.review ? { review: this.review } : {}) };
  }

  /** The run's own result (reviewers: nothing pushed). */
  finalResult(extra: { commitSha?: string; pushed: boolean }): AgentResult {
    return {
      branch: this.requireWorkspace().branch,
      ...(extra.commitSha !== undefined ? { commitSha: extra.commitSha } : {}),
      pushed: extra.pushed,
      gates: this.lastGates,
      turns: this.turn,
      ...this.usage(),
      ...(this.review ? { review: this.review } : {}),
    };
  }

  view(): AgentStatusView {
    const { input } = this;
    return {
      agentId: input.agentId,
      taskId: input.taskId,
      agentType: input.agentType,
      status: this.status,
      phase: this.phase,
      spawnedAt: input.spawnedAt,
      startedAt: this.startedAt,
      completedAt: this.completedAt,
      error: this.error,
      errorType: this.errorType,
      result: this.result ?? this.partialResult(),
      progress: { turn: this.turn, ...this.usage(), ...(this.lastTurn ? { lastTurn: this.lastTurn } : {}) },
      ...(this.exceededBudget ? { exceededBudget: this.exceededBudget } : {}),
      ...(input.retryOf ? { retryOf: input.retryOf } : {}),
      ...(input.forkOf ? { forkOf: input.forkOf.agentId, forkedAtTurn: input.forkOf.turn } : {}),
    };
  }

  /** Where the next workflow run (continue-as-new) picks up. */
  checkpoint(): AgentLoopCheckpoint {
    if (!this.startedAt) throw new Error('a run is only continued once it is running');
    return {
      workspace: this.requireWorkspace(),
      sandbox: this.sandbox,
      startedAt: this.startedAt,
      startedAtMs: this.startedAtMs,
      turn: this.turn,
      messageCount: this.messageCount,
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      cacheCreationInputTokens: this.cacheCreationInputTokens,
      cacheReadInputTokens: this.cacheReadInputTokens,
      costUsd: this.costUsd,
      stateSeq: this.seq,
      feedbackRounds: this.feedbackRounds,
      ...(this.commitSha ? { commitSha: this.commitSha } : {}),
      // Only when a host was lost: the continuation of every other run is as recorded.
      ...(this.lostHosts.length > 0 ? { lostHosts: this.lostHosts } : {}),
      ...(this.cutOffsInARow > 0 ? { cutOffsInARow: this.cutOffsInARow } : {}),
      ...(this.reviewBase ? { reviewBase: this.reviewBase } : {}),
    };
  }

  /** Markdown for the Web UI's current details. */
  details(): string {
    const { budgets } = this.input;
    return [
      `**${this.status}** · phase \`${this.phase}\``,
      `turn ${this.turn}/${budgets.maxTurns} · tokens in ${this.inputTokens} / out ${this.outputTokens} (budget ${budgets.maxOutputTokens}) · cache read ${this.cacheReadInputTokens} / written ${this.cacheCreationInputTokens}`,
      `cost ${formatUsd(this.costUsd)}${budgets.maxCostUsd !== undefined ? ` of ${formatUsd(budgets.maxCostUsd)}` : ''}${this.lastTurn ? ` · last turn ${formatUsd(this.lastTurn.costUsd)}${this.lastTurn.contextTokens !== undefined ? `, ~${this.lastTurn.contextTokens} tokens sent` : ''}` : ''}`,
      this.lastTools ? `last tools: ${this.lastTools}` : '',
      this.review ? `review: ${this.review.verdict}, ${this.review.findings.length} finding(s)` : '',
      this.lastGates ? `last gates: ${this.lastGates.map((g) => `${g.name} ${g.outcome}`).join(', ')}` : '',
      this.error ? `error: ${this.error}` : '',
    ]
      .filter(Boolean)
      .join('\n\n');
  }
}
