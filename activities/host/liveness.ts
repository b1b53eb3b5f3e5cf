/**
 * The question the workflow asks when a host-bound activity was not started in time: is the host
 * still polling its queue (then it is busy, and the agent waits), or is it gone (then the agent
 * moves)? Asked of the Temporal server, from whichever worker runs the workflow, never of the
 * host itself. The verdict is domain/host-liveness.ts.
 */
import type { WorkflowService } from '@temporalio/client';
import { judgeHostQueue, type HostLiveness } from '../../domain/host-liveness';
import { TypedError } from '../../domain/typed-error';

/** When each worker polling a task queue for activities last polled, as the server saw it. */
export interface TaskQueuePolls {
  lastPollsMs(taskQueue: string): Promise<number[]>;
}

export class TaskQueueUnreadableError extends TypedError {
  readonly type = 'TaskQueueUnreadable';
}

// Enum numbers of temporal.api.enums.v1 (TaskQueueKind.NORMAL, TaskQueueType.ACTIVITY).
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE_ACTIVITY = 2;

/** TaskQueuePolls through DescribeTaskQueue on the worker's own connection to Temporal. */
export function describeTaskQueuePolls(service: WorkflowService, namespace: string): TaskQueuePolls {
  return {
    async lastPollsMs(taskQueue) {
      try {
        const res = await service.describeTaskQueue({ namespace, taskQueue: { name: taskQueue, kind: TASK_QUEUE_KIND_NORMAL }, taskQueueType: TASK_QUEUE_TYPE_ACTIVITY });
        return res.pollers.flatMap((p) => (p.lastAccessTime ? [Number(p.lastAccessTime.seconds ?? 0) * 1000 + Math.floor((p.lastAccessTime.nanos ?? 0) / 1e6)] : []));
      } catch (err) {
        throw new TaskQueueUnreadableError(`the Temporal server did not describe task queue ${taskQueue}: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}

export interface HostLivenessInput {
  /** The host's own task queue (domain/task-queues.ts). */
  taskQueue: string;
}

export function createHostLivenessActivities(deps: { polls: TaskQueuePolls; now?: () => number }) {
  const now = deps.now ?? Date.now;
  return {
    /** Whether any worker polled the host's queue recently enough to count as alive. */
    async hostLiveness(args: HostLivenessInput): Promise<HostLiveness> {
      return judgeHostQueue(await deps.polls.lastPollsMs(args.taskQueue), now());
    },
  };
}

export type HostLivenessActivities = ReturnType<typeof createHostLivenessActivities>;
