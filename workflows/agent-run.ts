/**
 * agentRun: one autonomous agent, from worktree to pushed branch, as a durable workflow.
 *
 * prepare workspace -> start sandbox -> agent loop (one activity per model turn, one per tool
 * batch) -> pre-commit gates -> secret scan -> commit -> post-commit gates -> coordinator ->
 * conflict check -> push, with cleanup on every path in a non-cancellable scope. The
 * conversation lives in Valkey; history carries only counts, so it stays small.
 */
import * as wf from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  FAILURE_TYPES,
  KILL_SIGNAL,
  STATUS_QUERY,
  type AgentLoopCheckpoint,
  type AgentPhase,
  type AgentResult,
  type AgentRunInput,
  type AgentStatusView,
  type KillRequest,
  type SandboxInfo,
  type WorkspaceInfo,
} from '../domain/agent';
import type { GatePhase, GateResult } from '../domain/gates';
import { transition, type AgentStatus } from '../domain/lifecycle';
import { SA } from '../domain/search-attributes';
import * as options from './activity-options';

const quick = wf.proxyActivities<Activities>(options.quick);
const workspaceOps = wf.proxyActivities<Activities>(options.workspace);
const model = wf.proxyActivities<Activities>(options.modelCall);
const tools = wf.proxyActivities<Activities>(options.toolBatch);
const gateOps = wf.proxyActivities<Activities>(options.gates);
const coordinatorOps = wf.proxyActivities<Activities>(options.coordinator);
const cleanupOps = wf.proxyActivities<Activities>(options.cleanup);

export const killSignal = wf.defineSignal<[KillRequest]>(KILL_SIGNAL);
export const statusQuery = wf.defineQuery<AgentStatusView>(STATUS_QUERY);

/** Why a run fails, raised inside the workflow; it ends as an ApplicationFailure of the same type carrying the final status. */
class RunFailure extends Error {
  constructor(
    message: string,
    readonly type: string,
  ) {
    super(message);
  }
}

export async function agentRun(input: AgentRunInput): Promise<AgentStatusView> {
  const resume = input.resume;
  const readOnly = input.agentType === 'reviewer';
  let status: AgentStatus = resume ? 'running' : 'spawning';
  let phase: AgentPhase = resume ? 'agent-loop' : 'preparing-workspace';
  let seq = resume?.stateSeq ?? 0;
  let workspace: WorkspaceInfo | undefined = resume?.workspace;
  let sandbox: SandboxInfo | undefined = resume?.sandbox;
  let startedAt = resume?.startedAt;
  const startedAtMs = resume?.startedAtMs ?? Date.now();
  let turn = resume?.turn ?? 0;
  let turnsThisRun = 0;
  let messageCount = resume?.messageCount ?? 0;
  let inputTokens = resume?.inputTokens ?? 0;
  let outputTokens = resume?.outputTokens ?? 0;
  let feedbackRounds = resume?.feedbackRounds ?? 0;
  let lastGates: GateResult[] | undefined;
  let result: AgentResult | undefined;
  let error: string | undefined;
  let errorType: string | undefined;
  let completedAt: string | undefined;
  let killReason: string | undefined;
  let budgetReason: string | undefined;

  const view = (): AgentStatusView => ({
    agentId: input.agentId,
    taskId: input.taskId,
    agentType: input.agentType,
    status,
    phase,
    spawnedAt: input.spawnedAt,
    startedAt,
    completedAt,
    error,
    errorType,
    result: result ?? (workspace ? { branch: workspace.branch, pushed: false, turns: turn, inputTokens, outputTokens, gates: lastGates } : undefined),
    progress: { turn, inputTokens, outputTokens },
  });

  const main = new wf.CancellationScope();
  wf.setHandler(statusQuery, view);
  wf.setHandler(killSignal, (req) => {
    if (killReason || status === 'completed' || status === 'failed' || status === 'killed') return;
    killReason = req.reason?.trim() || 'killed by request';
    wf.log.info('kill requested', { agentId: input.agentId, requestedBy: req.requestedBy });
    main.cancel();
  });

  const showDetails = () =>
    wf.setCurrentDetails(
      [
        `**${status}** · phase \`${phase}\``,
        `turn ${turn}/${input.budgets.maxTurns} · tokens in ${inputTokens} / out ${outputTokens} (budget ${input.budgets.maxOutputTokens})`,
        lastGates ? `last gates: ${lastGates.map((g) => `${g.name} ${g.outcome}`).join(', ')}` : '',
        error ? `error: ${error}` : '',
      ]
        .filter(Boolean)
        .join('\n\n'),
    );

  let indexedStatus: AgentStatus = status; // the API indexes 'spawning' at start; continue-as-new carries the rest
  const record = async (reason?: string) => {
    seq += 1;
    if (status !== indexedStatus) {
      wf.upsertSearchAttributes([{ key: SA.agentStatus, value: status }]);
      indexedStatus = status;
    }
    showDetails();
    await quick.recordState({ seq, view: view(), context: input.context, reason, at: new Date().toISOString() });
  };
  const moveTo = async (to: AgentStatus, reason?: string) => {
    status = transition(status, to);
    await record(reason);
  };
  const enterPhase = async (next: AgentPhase) => {
    phase = next;
    await record();
  };

  // The wall-time budget also holds during a long tool run or gate, not only between turns.
  const wallDeadline = startedAtMs + input.budgets.maxWallTimeSeconds * 1000;
  void wf.CancellationScope.cancellable(async () => {
    await wf.sleep(Math.max(wallDeadline - Date.now(), 1));
    if (!killReason && !budgetReason) {
      budgetReason = `wall time budget of ${input.budgets.maxWallTimeSeconds}s exhausted`;
      main.cancel();
    }
  }).catch(() => undefined);

  const checkpoint = (): AgentLoopCheckpoint => ({
    workspace: workspace!,
    sandbox,
    startedAt: startedAt!,
    startedAtMs,
    turn,
    messageCount,
    inputTokens,
    outputTokens,
    stateSeq: seq,
    feedbackRounds,
  });

  /** Turns until the model ends its turn without tool calls. */
  const agentLoop = async () => {
    for (;;) {
      if (turn >= input.budgets.maxTurns) throw new RunFailure(`turn budget exhausted: max turns (${input.budgets.maxTurns}) reached`, FAILURE_TYPES.budgetExceeded);
      if (outputTokens >= input.budgets.maxOutputTokens)
        throw new RunFailure(`token budget exhausted: ${outputTokens} output tokens used of ${input.budgets.maxOutputTokens}`, FAILURE_TYPES.budgetExceeded);
      if (Date.now() >= wallDeadline) throw new RunFailure(`wall time budget of ${input.budgets.maxWallTimeSeconds}s exhausted`, FAILURE_TYPES.budgetExceeded);
      if (turnsThisRun > 0 && (wf.workflowInfo().continueAsNewSuggested || (input.turnsPerRun && turnsThisRun >= input.turnsPerRun))) {
        await wf.continueAsNew<typeof agentRun>({ ...input, resume: checkpoint() });
      }
      const answer = await model.modelTurn({ agentId: input.agentId, agentType: input.agentType, messageCount, workspaceDir: sandbox ? '/workspace' : workspace!.path });
      messageCount += 1;
      turn += 1;
      turnsThisRun += 1;
      inputTokens += answer.inputTokens;
      outputTokens += answer.outputTokens;
      showDetails();
      if (answer.stopReason !== 'tool_use' || answer.toolUseCount === 0) return;
      await tools.executeTools({ agentId: input.agentId, messageIndex: messageCount, readOnly, workspace: workspace!, sandbox });
      messageCount += 1;
    }
  };

  /** Gives failed gates or a blocked commit back to the agent, or fails the run when rounds are used up. */
  const feedBack = async (text: string, failure: RunFailure) => {
    if (feedbackRounds >= input.maxFeedbackRounds) throw failure;
    feedbackRounds += 1;
    await quick.appendFeedback({ agentId: input.agentId, index: messageCount, text });
    messageCount += 1;
  };

  const runGatePhase = async (gatePhase: GatePhase, commitSha?: string): Promise<boolean> => {
    await enterPhase(gatePhase === 'pre-commit' ? 'pre-commit-gates' : 'post-commit-gates');
    const outcome = await gateOps.runGates({
      agentId: input.agentId,
      taskId: input.taskId,
      agentType: input.agentType,
      workspace: workspace!,
      sandbox,
      profile: input.gateProfile,
      customGates: input.context.gates,
      phase: gatePhase,
      commitSha,
      round: feedbackRounds + 1,
      maxRounds: input.maxFeedbackRounds,
    });
    lastGates = [...(lastGates ?? []).filter((g) => !outcome.results.some((r) => r.name === g.name)), ...outcome.results];
    if (outcome.results.length > 0) {
      const verdict = await coordinatorOps.reportToCoordinator({
        agentId: input.agentId,
        taskId: input.taskId,
        agentType: input.agentType,
        phase: gatePhase,
        commitSha,
        branch: workspace!.branch,
        gates: outcome.results,
      });
      if (verdict && !verdict.approved) throw new RunFailure(`coordinator vetoed: ${verdict.reason ?? 'no reason given'}`, FAILURE_TYPES.coordinatorVeto);
    }
    if (outcome.passed) return true;
    const failing = outcome.results.filter((g) => g.outcome !== 'passed').map((g) => `${g.name} ${g.outcome}`);
    await feedBack(outcome.feedback, new RunFailure(`quality gates failed: ${failing.join(', ')}`, FAILURE_TYPES.gateFailed));
    return false;
  };

  const phases = async (): Promise<AgentResult> => {
    if (!resume) {
      await record('spawn accepted');
      workspace = await workspaceOps.prepareWorkspace({ agentId: input.agentId, taskId: input.taskId, repository: input.context.repository, baseBranch: input.context.branch });
      await enterPhase('starting-sandbox');
      sandbox = (await workspaceOps.startSandbox({ agentId: input.agentId, taskId: input.taskId, workspace })) ?? undefined;
      startedAt = new Date().toISOString();
      phase = 'agent-loop';
      await moveTo('running', 'workspace ready');
      messageCount = await quick.writeInitialPrompt({ agentId: input.agentId, input });
    }
    let commitSha: string | undefined;
    for (;;) {
      if (phase !== 'agent-loop') await enterPhase('agent-loop');
      await agentLoop();
      if (!(await runGatePhase('pre-commit'))) continue;
      if (readOnly) {
        if (!(await runGatePhase('post-commit', await quick.headSha({ workspace: workspace! })))) continue;
        return { branch: workspace!.branch, pushed: false, gates: lastGates, turns: turn, inputTokens, outputTokens };
      }
      await enterPhase('secret-scan');
      const scan = await workspaceOps.scanStagedChanges({ workspace: workspace! });
      if (scan.findings.length > 0) {
        const lines = scan.findings.map((f) => `- ${f.file}:${f.line}:${f.column} ${f.ruleId} (${f.match})`);
        await feedBack(
          `Your changes were not committed: the secret scanner found ${scan.findings.length} likely secret(s):\n${lines.join('\n')}\nRemove them (read credentials from the environment instead) and finish again.`,
          new RunFailure(`secret detected: ${scan.findings.map((f) => `${f.file}:${f.line} ${f.ruleId}`).join(', ')}`, FAILURE_TYPES.secretDetected),
        );
        continue;
      }
      await enterPhase('commit');
      const commit = await workspaceOps.commitChanges({ workspace: workspace!, agentId: input.agentId, taskId: input.taskId, agentType: input.agentType });
      if ('commitSha' in commit) commitSha = commit.commitSha;
      if (!commitSha) throw new RunFailure('the agent finished without changing anything', FAILURE_TYPES.nothingToCommit);
      if (!(await runGatePhase('post-commit', commitSha))) continue;
      break;
    }
    await enterPhase('conflict-check');
    const merge = await workspaceOps.checkMergeable({ workspace: workspace! });
    if (!merge.clean) throw new RunFailure(`merge conflict with ${input.context.branch} in: ${merge.conflicts.join(', ')}`, FAILURE_TYPES.mergeConflict);
    await enterPhase('push');
    const push = await workspaceOps.pushBranch({ workspace: workspace! });
    return { branch: workspace!.branch, commitSha, pushed: push.pushed, gates: lastGates, turns: turn, inputTokens, outputTokens };
  };

  let cancelledByTemporal = false;
  try {
    result = await main.run(phases);
  } catch (err) {
    if (err instanceof wf.ContinueAsNew) throw err;
    if (killReason) {
      error = `killed: ${killReason}`;
    } else if (budgetReason) {
      error = budgetReason;
      errorType = FAILURE_TYPES.budgetExceeded;
    } else if (wf.isCancellation(err)) {
      cancelledByTemporal = true;
      killReason = 'cancelled through Temporal';
      error = `killed: ${killReason}`;
    } else {
      ({ message: error, type: errorType } = describeFailure(err));
    }
  }

  // Cleanup runs on every path and cannot be cancelled: a killed agent still releases its container and worktree.
  await wf.CancellationScope.nonCancellable(async () => {
    const succeeded = result !== undefined;
    phase = 'cleanup';
    showDetails();
    try {
      const cleaned = await cleanupOps.cleanupAgent({ agentId: input.agentId, workspace, sandbox, salvage: !succeeded });
      if (cleaned.salvageRef) result = { ...(result ?? view().result ?? { pushed: false, turns: turn, inputTokens, outputTokens }), salvageRef: cleaned.salvageRef };
      if (cleaned.oomKilled && error) error = `${error} (the sandbox container was OOM-killed)`;
    } catch (err) {
      wf.log.error('cleanup failed; the reaper will finish it', { agentId: input.agentId, error: describeFailure(err).message });
    }
    phase = 'done';
    completedAt = new Date().toISOString();
    if (succeeded) await moveTo('completed', 'run finished');
    else if (killReason) await moveTo('killed', killReason);
    else await moveTo('failed', error);
  });

  const finalStatus = status as AgentStatus;
  if (finalStatus === 'failed') throw wf.ApplicationFailure.nonRetryable(error ?? 'agent run failed', errorType ?? 'AgentFailed', view());
  if (cancelledByTemporal) throw new wf.CancelledFailure('agent run cancelled through Temporal');
  return view();
}

/** Message and type of a failure, looking through ActivityFailure to the cause our activities threw. */
function describeFailure(err: unknown): { message: string; type?: string } {
  if (err instanceof RunFailure) return { message: err.message, type: err.type };
  let cur: unknown = err;
  while (cur instanceof wf.ActivityFailure || (cur instanceof wf.TemporalFailure && !(cur instanceof wf.ApplicationFailure) && cur.cause)) {
    cur = (cur as wf.TemporalFailure).cause;
  }
  if (cur instanceof wf.ApplicationFailure) return { message: cur.message, type: cur.type ?? undefined };
  if (cur instanceof Error) return { message: cur.message };
  return { message: String(cur) };
}
