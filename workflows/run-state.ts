/**
 * What one agent run knows about itself, as a plain class: status and phase, the turn and
 * message counters, tokens, feedback rounds, gate results, budgets, how it ended. The workflow
 * drives it; the status query, the Valkey projection, the Web UI details and continue-as-new read
 * it. No Temporal API in here, so it is unit-tested without a server.
 */
import type {
  AgentLoopCheckpoint,
  AgentPhase,
  AgentResult,
  AgentRunInput,
  AgentStatusView,
  SandboxInfo,
  WorkspaceInfo,
} from '../domain/agent';
import type { FailureType } from '../domain/failures';
import type { GateResult } from '../domain/gates';
import { isTerminal, transition, type AgentStatus } from '../domain/lifecycle';

/** Why a run fails, raised inside the workflow; the run ends as an ApplicationFailure of this type. */
export class RunFailure extends Error {
  constructor(
    message: string,
    readonly type: FailureType,
  ) {
    super(message);
  }
}

/** What a model turn reports back to the loop. */
export interface TurnOutcome {
  inputTokens: number;
  outputTokens: number;
}

export class RunState {
  status: AgentStatus;
  phase: AgentPhase;
  /** Sequence number of the last Valkey write. */
  seq: number;
  workspace?: WorkspaceInfo;
  sandbox?: SandboxInfo;
  startedAt?: string;
  readonly startedAtMs: number;
  turn: number;
  /** Turns taken since this workflow run started (continue-as-new resets it). */
  turnsThisRun = 0;
  /** Messages `[0, messageCount)` are the stored conversation. */
  messageCount: number;
  inputTokens: number;
  outputTokens: number;
  feedbackRounds: number;
  lastGates?: GateResult[];
  result?: AgentResult;
  error?: string;
  errorType?: string;
  completedAt?: string;
  killReason?: string;
  budgetReason?: string;

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
    this.startedAt = resume?.startedAt;
    this.startedAtMs = resume?.startedAtMs ?? nowMs;
    this.turn = resume?.turn ?? 0;
    this.messageCount = resume?.messageCount ?? 0;
    this.inputTokens = resume?.inputTokens ?? 0;
    this.outputTokens = resume?.outputTokens ?? 0;
    this.feedbackRounds = resume?.feedbackRounds ?? 0;
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
    const { budgets } = this.input;
    if (this.turn >= budgets.maxTurns) return new RunFailure(`turn budget exhausted: max turns (${budgets.maxTurns}) reached`, 'BudgetExceeded');
    if (this.outputTokens >= budgets.maxOutputTokens)
      return new RunFailure(`token budget exhausted: ${this.outputTokens} output tokens used of ${budgets.maxOutputTokens}`, 'BudgetExceeded');
    if (nowMs >= this.wallDeadlineMs) return new RunFailure(`wall time budget of ${budgets.maxWallTimeSeconds}s exhausted`, 'BudgetExceeded');
    return undefined;
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
  }

  /** Tool results were stored at `messageCount`. */
  recordToolResults(): void {
    this.messageCount += 1;
  }

  canFeedBack(): boolean {
    return this.feedbackRounds < this.input.maxFeedbackRounds;
  }

  /** A feedback turn was stored at `messageCount`. */
  recordFeedback(): void {
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
    return { branch: this.workspace.branch, pushed: false, turns: this.turn, inputTokens: this.inputTokens, outputTokens: this.outputTokens, gates: this.lastGates };
  }

  /** The run's own result (reviewers: nothing pushed). */
  finalResult(extra: { commitSha?: string; pushed: boolean }): AgentResult {
    return {
      branch: this.requireWorkspace().branch,
      ...(extra.commitSha !== undefined ? { commitSha: extra.commitSha } : {}),
      pushed: extra.pushed,
      gates: this.lastGates,
      turns: this.turn,
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
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
      progress: { turn: this.turn, inputTokens: this.inputTokens, outputTokens: this.outputTokens },
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
      stateSeq: this.seq,
      feedbackRounds: this.feedbackRounds,
    };
  }

  /** Markdown for the Web UI's current details. */
  details(): string {
    const { budgets } = this.input;
    return [
      `**${this.status}** · phase \`${this.phase}\``,
      `turn ${this.turn}/${budgets.maxTurns} · tokens in ${this.inputTokens} / out ${this.outputTokens} (budget ${budgets.maxOutputTokens})`,
      this.lastGates ? `last gates: ${this.lastGates.map((g) => `${g.name} ${g.outcome}`).join(', ')}` : '',
      this.error ? `error: ${this.error}` : '',
    ]
      .filter(Boolean)
      .join('\n\n');
  }
}
