/**
 * The activities the workflow calls, one proxy per option set, destructured so each phase
 * imports only what it may call (a cleanup step cannot schedule a model turn by accident).
 * Type-only imports: no activity code enters the workflow bundle.
 *
 * Two placements (domain/placement.ts): the shared task queue (model turns, state writes,
 * preparing a workspace on whichever host picks it up), and the own queue of the host holding
 * the agent's worktree, for everything that touches it (`onHost`).
 */
import { proxyActivities, proxyLocalActivities, workflowInfo, type ActivityInterfaceFor } from '@temporalio/workflow';
import type { AcceptActivities, GateActivities, GitActivities, HostLivenessActivities, ModelActivities, ModelTurnInput, ModelTurnResult, SandboxActivities, SetupActivities, StateActivities, TurnActivities } from '../activities';
import type { WorkerHost } from '../domain/agent';
import type { HostBoundActivity } from '../domain/placement';
import { hostTurnTaskQueue, modelTaskQueue } from '../domain/task-queues';
import * as options from './activity-options';

export const { recordState } = proxyLocalActivities<StateActivities>(options.valkeyWrite);
export const { writeInitialPrompt, appendFeedback } = proxyLocalActivities<ModelActivities>(options.valkeyWrite);
export const { hostLiveness } = proxyLocalActivities<HostLivenessActivities>(options.hostCheck);
export const { prepareWorkspace, rebuildWorkspace } = proxyActivities<GitActivities>(options.workspace);
export const { setUpAgent } = proxyActivities<SetupActivities>(options.workspace);
export const { reportToCoordinator } = proxyActivities<GateActivities>(options.coordinator);
// Not local: a checkpoint chain may be many megabytes.
export const { copyForkSource } = proxyActivities<StateActivities>(options.quick);

/**
 * One model call, on the model task queue next to this run's own (domain/task-queues.ts);
 * `summary` is what the Web UI shows for it.
 */
export function modelTurn(input: ModelTurnInput, summary?: string): Promise<ModelTurnResult> {
  const { modelTurn: call } = proxyActivities<ModelActivities>({ ...options.modelCall, taskQueue: modelTaskQueue(workflowInfo().taskQueue) });
  return summary ? call.executeWithOptions({ summary }, [input]) : call(input);
}

type AllActivities = GitActivities & SandboxActivities & GateActivities & AcceptActivities & TurnActivities;
export type HostActivities = ActivityInterfaceFor<Pick<AllActivities, HostBoundActivity>>;

const hostProxies = new Map<string, HostActivities>();

/**
 * The host-bound activities on `host`'s own queue; `failoverSeconds` bounds how long each waits
 * for the host. A workspace prepared before workers had hosts names none: its activities stay on
 * the shared queue, as they were scheduled then, so those runs replay and finish unchanged.
 */
export function onHost(host: WorkerHost | undefined, failoverSeconds: number): HostActivities {
  const key = host ? `${host.taskQueue}\n${failoverSeconds}` : '';
  const cached = hostProxies.get(key);
  if (cached) return cached;
  const on = (opts: Parameters<typeof options.onHostQueue>[0]) => (host ? options.onHostQueue(opts, host.taskQueue, failoverSeconds) : opts);
  const { headSha } = proxyActivities<GitActivities>(on(options.quick));
  const { executeTools } = proxyActivities<SandboxActivities>(on(options.toolBatch));
  const { startSandbox } = proxyActivities<SandboxActivities>(on(options.workspace));
  const { scanStagedChanges, commitChanges, scanAndCommit, checkMergeable, pushBranch, pushIfMergeable } = proxyActivities<GitActivities>(on(options.workspace));
  const { resolveGates } = proxyActivities<GateActivities>(on(options.quick));
  const { runGates } = proxyActivities<GateActivities>(on(options.gates));
  const { gatesScanAndCommit } = proxyActivities<AcceptActivities>(on(options.gates));
  const { cleanupAgent } = proxyActivities<GitActivities>(on(options.cleanup));
  // Only runs whose workspace names its host take turns in one activity (phases.ts): without
  // a host there is no turn queue to send them to.
  const { toolsThenModel } = proxyActivities<TurnActivities>(host ? options.onHostQueue(options.toolsThenModel, hostTurnTaskQueue(host.taskQueue), failoverSeconds) : options.toolsThenModel);
  const activities: HostActivities = {
    headSha,
    executeTools,
    startSandbox,
    scanStagedChanges,
    commitChanges,
    scanAndCommit,
    checkMergeable,
    pushBranch,
    pushIfMergeable,
    resolveGates,
    runGates,
    gatesScanAndCommit,
    cleanupAgent,
    toolsThenModel,
  };
  hostProxies.set(key, activities);
  return activities;
}
