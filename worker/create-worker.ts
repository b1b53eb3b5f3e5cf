/**
 * Builds the Temporal workers of one process, sharing one connection:
 *  - the deployment's task queue: the agentRun workflow, its local activities (state writes) and
 *    every activity that works on an agent's files (git, tools, gates, cleanup);
 *  - the model queue (domain/task-queues.ts): model calls only.
 * Slots are reserved before a task is polled, so one worker cannot budget by activity type; two
 * queues give model calls, which wait minutes on the network, a budget of their own that can be
 * large (a waiting call costs a socket and a promise), while commands and git keep theirs.
 */
import { Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import type { Activities } from '../activities';
import type { Config } from '../config';
import { modelTaskQueue } from '../domain/task-queues';

/** Slot budgets of one worker process (configuration: WORKER_*_SLOTS, WORKER_MAX_CACHED_WORKFLOWS). */
export interface WorkerSlots {
  /** Concurrent model calls (the model queue). */
  modelCalls: number;
  /** Concurrent activities on the deployment's queue: git, tool batches, gates, cleanup. */
  activities: number;
  /** Concurrent local activities (state projection writes). */
  localActivities: number;
  workflowTasks: number;
  cachedWorkflows: number;
}

export function slotsFromConfig(config: Config): WorkerSlots {
  return {
    modelCalls: config.WORKER_MODEL_SLOTS,
    activities: config.WORKER_ACTIVITY_SLOTS,
    localActivities: config.WORKER_LOCAL_ACTIVITY_SLOTS,
    workflowTasks: config.WORKER_WORKFLOW_TASK_SLOTS,
    cachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
  };
}

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  slots: WorkerSlots;
  /** A pre-built bundle (tests bundle once per file); otherwise workflows/ is bundled at start. */
  workflowBundle?: WorkflowBundle;
  identity?: string;
}

/** The process's workers, run and stopped together. */
export interface AgentWorkers {
  /** Resolves when every worker has stopped; rejects when one fails (the others are shut down). */
  run(): Promise<void>;
  shutdown(): void;
}

export async function createWorkers(opts: CreateWorkerOptions): Promise<AgentWorkers> {
  const { slots } = opts;
  const common = {
    connection: opts.connection,
    namespace: opts.namespace,
    activities: opts.activities,
    ...(opts.identity ? { identity: opts.identity } : {}),
    shutdownGraceTime: '10s',
  } as const;
  const main = await Worker.create({
    ...common,
    taskQueue: opts.taskQueue,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    maxConcurrentActivityTaskExecutions: slots.activities,
    maxConcurrentLocalActivityExecutions: slots.localActivities,
    maxConcurrentWorkflowTaskExecutions: slots.workflowTasks,
    maxCachedWorkflows: slots.cachedWorkflows,
    // A kill reaches a running command in the answer to a heartbeat: heartbeat often so it lands within a second.
    maxHeartbeatThrottleInterval: '1s',
    defaultHeartbeatThrottleInterval: '1s',
  });
  const workers = [main];
  // A process without activities (a test's stand-in workflow) has no model calls to serve.
  if (Object.keys(opts.activities).length === 0) return runTogether(workers);
  const model = await Worker.create({
    ...common,
    taskQueue: modelTaskQueue(opts.taskQueue),
    maxConcurrentActivityTaskExecutions: slots.modelCalls,
    // A model call is abandoned, not waited for, when its run is killed (activity-options.ts), so
    // its heartbeat only shows the worker is alive: every 30 s is enough, and 500 waiting calls
    // then cost the server ~17 heartbeats/s instead of 500.
    maxHeartbeatThrottleInterval: '30s',
    defaultHeartbeatThrottleInterval: '30s',
  });
  workers.push(model);
  return runTogether(workers);
}

function runTogether(workers: Worker[]): AgentWorkers {
  const shutdown = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  return {
    async run() {
      const runs = workers.map((w) =>
        w.run().catch((err: unknown) => {
          shutdown();
          throw err;
        }),
      );
      const results = await Promise.allSettled(runs);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    shutdown,
  };
}
