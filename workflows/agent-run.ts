/**
 * agentRun: one autonomous agent, from worktree to pushed branch, as a durable workflow.
 *
 * prepare workspace -> start sandbox -> agent loop (one activity per model turn, one per tool
 * batch) -> pre-commit gates -> secret scan -> commit -> post-commit gates -> coordinator ->
 * conflict check -> push, with cleanup on every path in a non-cancellable scope. The
 * conversation lives in Valkey; history carries only counts, so it stays small.
 */
import * as wf from '@temporalio/workflow';
import { KILL_SIGNAL, STATUS_QUERY, type AgentResult, type AgentRunInput, type AgentStatusView, type KillRequest } from '../domain/agent';
import { acceptedWork, cleanUp, decideCleanUp, deliver, describeFailure, prepare, Run } from './phases';
import { wallTimeBreach } from '../domain/budgets';
import { isHostLost, moveToAnotherHost } from './failover';
import { RunState } from './run-state';

export const killSignal = wf.defineSignal<[KillRequest]>(KILL_SIGNAL);

/**
 * A stop (a kill, the wall-time budget, Temporal's Cancel) that arrived while the last activity
 * before a continue-as-new finished anyway (WAIT_CANCELLATION_COMPLETED lets a short tool batch
 * complete) ends the run here: the new run would know nothing of it, and a kill was lost (the
 * agent went on, the killswitch waited out its deadline and forced it). Asked only then, right
 * after that activity's result (not a local activity's: see PATCHES_BEFORE_LOCAL_ACTIVITIES), so
 * other runs take no marker; runs recorded before it continued as new, and replay so.
 */
const STOP_BEFORE_CONTINUE_AS_NEW = 'stop-before-continue-as-new';
export const statusQuery = wf.defineQuery<AgentStatusView>(STATUS_QUERY);

export async function agentRun(input: AgentRunInput): Promise<AgentStatusView> {
  const state = new RunState(input, Date.now());
  const run = new Run(state);

  const main = new wf.CancellationScope();
  wf.setHandler(statusQuery, () => state.view());
  let killAcknowledged: Promise<void> | undefined;
  wf.setHandler(killSignal, (req) => {
    if (state.killReason || state.finished) return;
    state.killReason = req.reason?.trim() || 'killed by request';
    wf.log.info('kill requested', { agentId: input.agentId, requestedBy: req.requestedBy });
    main.cancel();
    if (run.killNeedsAcknowledgement()) killAcknowledged = run.acknowledgeKill(state.killReason);
  });

  // The wall-time budget also holds during a long tool run or gate, not only between turns.
  void wf.CancellationScope.cancellable(async () => {
    await wf.sleep(Math.max(state.wallDeadlineMs - Date.now(), 1));
    if (!state.killReason && !state.budgetReason) {
      state.budgetReason = wallTimeBreach(input.budgets).message;
      main.cancel();
    }
  }).catch(() => undefined);

  // A host that stops answering moves the agent to another host, and the work goes on there.
  const work = async (): Promise<AgentResult> => {
    for (;;) {
      try {
        if (!input.resume) await prepare(run);
        const { commitSha, delivered } = await acceptedWork(run);
        return state.readOnly ? state.finalResult({ pushed: false }) : await deliver(run, commitSha, delivered);
      } catch (err) {
        if (!isHostLost(err) || !(state.workspace as { host?: unknown } | undefined)?.host) throw err;
        await moveToAnotherHost(run, err);
      }
    }
  };

  let cancelledByTemporal = false;
  try {
    state.result = await main.run(work);
  } catch (err) {
    const stoppedFirst = err instanceof wf.ContinueAsNew && main.consideredCancelled && wf.patched(STOP_BEFORE_CONTINUE_AS_NEW);
    if (err instanceof wf.ContinueAsNew && !stoppedFirst) throw err;
    if (state.killReason) {
      state.error = `killed: ${state.killReason}`;
    } else if (state.budgetReason) {
      state.error = state.budgetReason;
      state.errorType = 'BudgetExceeded';
      state.exceededBudget = 'maxWallTimeSeconds';
    } else if (wf.isCancellation(err) || stoppedFirst) {
      cancelledByTemporal = true;
      state.killReason = 'cancelled through Temporal';
      state.error = `killed: ${state.killReason}`;
    } else {
      ({ message: state.error, type: state.errorType, budget: state.exceededBudget } = describeFailure(err));
    }
  }

  // The agent has stopped: no model call or command of it runs now (commands are waited for,
  // except a turn's, which cleanup stops first; model calls abandoned), so its final status is
  // recorded at once and a kill lands without waiting for cleanup. Cleanup runs on every path and
  // cannot be cancelled: a killed agent still releases its container and worktree; what it
  // salvaged is recorded on the same final status.
  await wf.CancellationScope.nonCancellable(async () => {
    const succeeded = state.result !== undefined;
    state.phase = 'cleanup';
    state.completedAt = new Date().toISOString();
    decideCleanUp(run);
    if (succeeded) await run.moveTo('completed', 'run finished');
    else if (state.killReason) await run.moveTo('killed', state.killReason);
    else await run.moveTo('failed', state.error);
    await cleanUp(run, succeeded);
    state.phase = 'done';
    await killAcknowledged;
    await run.record();
  });

  if (state.status === 'failed') throw wf.ApplicationFailure.nonRetryable(state.error ?? 'agent run failed', state.errorType ?? 'AgentFailed', state.view());
  if (cancelledByTemporal) throw new wf.CancelledFailure('agent run cancelled through Temporal');
  return state.view();
}
