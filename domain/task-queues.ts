/**
 * The task queues of one deployment. Workflows and every activity that touches an agent's files
 * poll the deployment's queue (TEMPORAL_TASK_QUEUE); model calls poll a queue of their own, so
 * minutes of waiting on the model hold slots from their own budget and never starve the short
 * activities. The name is derived, so the workflow finds it from its own task queue.
 */
export function modelTaskQueue(taskQueue: string): string {
  return `${taskQueue}-model`;
}
