/**
 * A live worker on the test API's task queue running the stand-in workflow
 * (test/api/stand-in-workflow.ts), so API tests reach a real workflow (readiness, spawn, status,
 * kill) without the agent machinery. The stand-in workflow calls no activities.
 */
import { NativeConnection, bundleWorkflowCode } from '@temporalio/worker';
import type { Activities } from '../../activities';
import { createWorkers, slotsFromConfig } from '../../worker/create-worker';
import type { TestApi } from './api-harness';

export interface StandInWorker {
  stop(): Promise<void>;
}

const quiet = { trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, log: () => {} };

export async function startStandInWorker(api: TestApi, identity?: string): Promise<StandInWorker> {
  const connection = await NativeConnection.connect({ address: api.config.TEMPORAL_ADDRESS });
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./stand-in-workflow'), logger: quiet });
  const worker = await createWorkers({
    connection,
    namespace: api.config.TEMPORAL_NAMESPACE,
    taskQueue: api.taskQueue,
    activities: {} as Activities,
    slots: slotsFromConfig(api.config),
    workflowBundle,
    ...(identity ? { identity } : {}),
  });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
