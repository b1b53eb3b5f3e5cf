/**
 * The activities the workflow calls, one proxy per option set, destructured so each phase
 * imports only what it may call (a cleanup step cannot schedule a model turn by accident).
 * Type-only imports: no activity code enters the workflow bundle.
 */
import { proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { GateActivities, GitActivities, ModelActivities, ModelTurnInput, ModelTurnResult, SandboxActivities, StateActivities } from '../activities';
import { modelTaskQueue } from '../domain/task-queues';
import * as options from './activity-options';

export const { recordState } = proxyLocalActivities<StateActivities>(options.valkeyWrite);
export const { writeInitialPrompt, appendFeedback } = proxyLocalActivities<ModelActivities>(options.valkeyWrite);
export const { headSha } = proxyActivities<GitActivities>(options.quick);
export const { resolveGates } = proxyActivities<GateActivities>(options.quick);
export const { executeTools } = proxyActivities<SandboxActivities>(options.toolBatch);
export const { startSandbox } = proxyActivities<SandboxActivities>(options.workspace);
export const { prepareWorkspace, scanStagedChanges, commitChanges, checkMergeable, pushBranch } = proxyActivities<GitActivities>(options.workspace);
export const { runGates } = proxyActivities<GateActivities>(options.gates);
export const { reportToCoordinator } = proxyActivities<GateActivities>(options.coordinator);
export const { cleanupAgent } = proxyActivities<GitActivities>(options.cleanup);

/**
 * One model call, on the model task queue next to this run's own (domain/task-queues.ts);
 * `summary` is what the Web UI shows for it.
 */
export function modelTurn(input: ModelTurnInput, summary?: string): Promise<ModelTurnResult> {
  const { modelTurn: call } = proxyActivities<ModelActivities>({ ...options.modelCall, taskQueue: modelTaskQueue(workflowInfo().taskQueue) });
  return summary ? call.executeWithOptions({ summary }, [input]) : call(input);
}
