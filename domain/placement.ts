/**
 * Where each activity may run. An agent's worktree, its container and the git mirror it uses
 * live on one worker host; the activities that touch them run on that host's own task queue
 * (learned from setUpAgent, prepareWorkspace or rebuildWorkspace). Everything else (model turns, state
 * writes, preparing a workspace on whichever host picks it up, the coordinator) runs on the
 * shared queue. Pure data: the workflow and the worker both read it.
 */
export const HOST_BOUND_ACTIVITIES = [
  'startSandbox',
  'executeTools',
  'resolveGates',
  'runGates',
  'scanStagedChanges',
  'commitChanges',
  'scanAndCommit',
  'gatesScanAndCommit',
  'headSha',
  'checkMergeable',
  'pushBranch',
  'pushIfMergeable',
  'cleanupAgent',
] as const;

/**
 * Host-bound activities that wait minutes on the model: on the host's turn queue
 * (domain/task-queues.ts `hostTurnTaskQueue`), whose slots are budgeted like model calls.
 */
export const HOST_TURN_ACTIVITIES = ['toolsThenModel'] as const;

export type HostTurnActivity = (typeof HOST_TURN_ACTIVITIES)[number];
export type HostBoundActivity = (typeof HOST_BOUND_ACTIVITIES)[number] | HostTurnActivity;

export function isHostTurn(name: string): name is HostTurnActivity {
  return (HOST_TURN_ACTIVITIES as readonly string[]).includes(name);
}

export function isHostBound(name: string): name is HostBoundActivity {
  return (HOST_BOUND_ACTIVITIES as readonly string[]).includes(name) || isHostTurn(name);
}
