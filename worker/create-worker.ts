/** Builds a Temporal worker for agent runs from its connection and ready-made activities. */
import { Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import type { Activities } from '../activities';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  /** A pre-built bundle (tests bundle once per file); otherwise workflows/ is bundled at start. */
  workflowBundle?: WorkflowBundle;
  identity?: string;
}

export async function createWorker(opts: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    // Tool batches and gates are long and mostly waiting on child processes or Docker.
    maxConcurrentActivityTaskExecutions: 50,
    shutdownGraceTime: '10s',
    // Cancellation reaches an activity in the answer to a heartbeat: heartbeat often so a kill lands within a second.
    maxHeartbeatThrottleInterval: '1s',
    defaultHeartbeatThrottleInterval: '1s',
  });
}
