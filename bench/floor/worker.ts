/**
 * The floor's worker process (bench/capacity.bench.ts starts it beside the service's worker):
 * bare workflows and no-op activities on FLOOR_TASK_QUEUE, with slots for 1000 waiting runs.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { floorActivities } from './activities';

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS ?? 'localhost:7233';
  const taskQueue = process.env.FLOOR_TASK_QUEUE;
  if (!taskQueue) throw new Error('FLOOR_TASK_QUEUE is not set');
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('./workflows'),
    activities: floorActivities,
    maxConcurrentActivityTaskExecutions: 1000,
  });
  process.once('SIGTERM', () => worker.shutdown());
  process.stdout.write('floor worker started\n');
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`floor worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
