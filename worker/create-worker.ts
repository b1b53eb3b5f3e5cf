/**
 * Builds the Temporal workers of one process, sharing one connection:
 *  - the deployment's (shared) task queue: the agentRun workflow, its local activities (state
 *    writes) and the activities any host may run (preparing a workspace, the coordinator);
 *  - this host's own queue (`<task queue>@<host id>`): every activity that works on the files,
 *    containers or mirrors of an agent this host holds (domain/placement.ts): Temporal's
 *    worker-specific task queue pattern;
 *  - this host's turn queue (`<host queue>/turns`): an agent's turns after the first, each its
 *    tool batch and then its model call (activities/turn/), budgeted like model calls;
 *  - the model queue (domain/task-queues.ts): the first model call of a run, and each after feedback.
 * Slots are reserved before a task is polled, so one worker cannot budget by activity type; two
 * queues give model calls, which wait minutes on the network, a budget of their own that can be
 * large (a waiting call costs a socket and a promise), while commands and git keep theirs.
 */
import { Worker, type NativeConnection, type WorkflowBundleOption } from '@temporalio/worker';
import { splitByPlacement, type Activities } from '../activities';
import type { WorkerHost } from '../domain/agent';
import type { Config } from '../config';
import { hostTurnTaskQueue, modelTaskQueue } from '../domain/task-queues';

/** Slot budgets of one worker process (configuration: WORKER_*_SLOTS, WORKER_MAX_CACHED_WORKFLOWS). */
export interface WorkerSlots {
  /** Concurrent model calls (the model queue). */
  modelCalls: number;
  /** Concurrent activities on the host's queue (git, tool batches, gates, cleanup), and on the shared one. */
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
  /** The host this process is; without one (a stand-in), every activity stays on the shared queue. */
  host?: WorkerHost;
  activities: Activities;
  slots: WorkerSlots;
  /** A pre-built bundle (tests bundle once per file); otherwise workflows/ is bundled at start. */
  workflowBundle?: WorkflowBundleOption;
  /** Defaults to `<pid>@<host id>`. */
  identity?: string;
}

/** The process's workers, run and stopped together. */
export interface AgentWorkers {
  /** What every worker of the process reports as its identity (ActivityTaskStarted events). */
  identity?: string;
  /** Resolves when every worker has stopped; rejects when one fails (the others are shut down). */
  run(): Promise<void>;
  shutdown(): void;
}

export async function createWorkers(opts: CreateWorkerOptions): Promise<AgentWorkers> {
  const { slots, host } = opts;
  const split = host ? splitByPlacement(opts.activities) : { shared: opts.activities, host: {}, turns: {} };
  const identity = opts.identity ?? (host ? `${process.pid}@${host.id}` : undefined);
  const common = {
    connection: opts.connection,
    namespace: opts.namespace,
    activities: split.shared,
    ...(identity ? { identity } : {}),
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
    // A kill reaches a running command in the answer to a heartbeat: heartbeat often so it lands within a second
    // (the first one leaves a second after the activity started: activities/first-heartbeat.ts).
    maxHeartbeatThrottleInterval: '1s',
    defaultHeartbeatThrottleInterval: '1s',
  });
  const workers = [main];
  // A process without activities (a test's stand-in workflow) has no model calls to serve.
  if (Object.keys(opts.activities).length === 0) return runTogether(workers, identity);
  if (host) {
    workers.push(
      await Worker.create({
        ...common,
        activities: split.host,
        taskQueue: host.taskQueue,
        maxConcurrentActivityTaskExecutions: slots.activities,
        maxHeartbeatThrottleInterval: '1s',
        defaultHeartbeatThrottleInterval: '1s',
      }),
      await Worker.create({
        ...common,
        activities: split.turns,
        taskQueue: hostTurnTaskQueue(host.taskQueue),
        // Mostly model waits: slots like model calls. Their tool batches take a slot of the
        // process's ToolSlots (WORKER_ACTIVITY_SLOTS) inside the activity.
        maxConcurrentActivityTaskExecutions: slots.modelCalls,
        // Every 10 s: a third of the turn's heartbeat timeout (30 s, so a lost host is noticed as
        // fast as during a tool batch), and 500 waiting turns cost the server 50 heartbeats a
        // second, not 500. A kill does not wait for a turn; cleanup stops its tool batch directly
        // (activities/turn/in-flight.ts).
        maxHeartbeatThrottleInterval: '10s',
        defaultHeartbeatThrottleInterval: '10s',
      }),
    );
  }
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
  return runTogether(workers, identity);
}

function runTogether(workers: Worker[], identity: string | undefined): AgentWorkers {
  const shutdown = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  return {
    identity,
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
