/**
 * The activities the workflow calls, one proxy per option set, destructured so each phase
 * imports only what it may call (a cleanup step cannot schedule a model turn by accident).
 * Type-only imports: no activity code enters the workflow bundle.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { GateActivities, GitActivities, ModelActivities, SandboxActivities, StateActivities } from '../activities';
import * as options from './activity-options';

export const { recordState } = proxyActivities<StateActivities>(options.quick);
export const { writeInitialPrompt, appendFeedback } = proxyActivities<ModelActivities>(options.quick);
export const { headSha } = proxyActivities<GitActivities>(options.quick);
export const { modelTurn } = proxyActivities<ModelActivities>(options.modelCall);
export const { executeTools } = proxyActivities<SandboxActivities>(options.toolBatch);
export const { startSandbox } = proxyActivities<SandboxActivities>(options.workspace);
export const { prepareWorkspace, scanStagedChanges, commitChanges, checkMergeable, pushBranch } = proxyActivities<GitActivities>(options.workspace);
export const { runGates } = proxyActivities<GateActivities>(options.gates);
export const { reportToCoordinator } = proxyActivities<GateActivities>(options.coordinator);
export const { cleanupAgent } = proxyActivities<GitActivities>(options.cleanup);
