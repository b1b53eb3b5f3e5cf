/**
 * The task queues of one deployment. Workflows and the activities any host may run poll the
 * deployment's queue (TEMPORAL_TASK_QUEUE); every activity that touches an agent's files polls
 * the queue of the host holding them (`hostTaskQueue`, domain/placement.ts); model calls poll a
 * queue of their own, so minutes of waiting on the model hold slots from their own budget and
 * never starve the short activities. The names are derived, so the workflow finds them from its
 * own task queue and the host recorded in the agent's workspace.
 */
export function modelTaskQueue(taskQueue: string): string {
  return `${taskQueue}-model`;
}

/** The task queue the workers of one host poll besides the shared one. */
export function hostTaskQueue(taskQueue: string, hostId: string): string {
  return `${taskQueue}@${hostId}`;
}

/**
 * The queue of a host's agent turns after the first (the tool calls of the last answer, then the
 * next model call: activities/turn/). Host-bound like `hostTaskQueue` because the tools touch the
 * worktree, with a slot budget sized for model waits like `modelTaskQueue`. `/` appears in no
 * host id (HOST_ID_PATTERN), so no other host's queue can have this name.
 */
export function hostTurnTaskQueue(hostQueue: string): string {
  return `${hostQueue}/turns`;
}
