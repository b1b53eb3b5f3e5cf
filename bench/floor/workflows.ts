/**
 * Bare-Temporal floors for bench/capacity.bench.ts: the agent loop as bare activities with no
 * I/O, and a run that waits in an activity until killed.
 */
import { ActivityCancellationType, CancellationScope, defineSignal, isCancellation, proxyActivities, setHandler } from '@temporalio/workflow';
import type { FloorActivities } from './activities';

const { model, tools } = proxyActivities<FloorActivities>({ startToCloseTimeout: '1m' });
const { wait } = proxyActivities<FloorActivities>({
  startToCloseTimeout: '1h',
  heartbeatTimeout: '30s',
  cancellationType: ActivityCancellationType.TRY_CANCEL,
});

export const floorKill = defineSignal('kill');

export interface FloorRunResult {
  /** When each model call started (worker clock, epoch ms). */
  modelStarts: number[];
  lastModelEnd: number;
}

/** `turns` model calls with a tool batch between each, like an agent's five-turn loop. */
export async function floorRun(turns: number): Promise<FloorRunResult> {
  const modelStarts: number[] = [];
  let lastModelEnd = 0;
  for (let i = 0; i < turns; i++) {
    const stamp = await model();
    modelStarts.push(stamp.startedAt);
    lastModelEnd = stamp.endedAt;
    if (i < turns - 1) await tools();
  }
  return { modelStarts, lastModelEnd };
}

/** Waits in an activity, like an agent waiting on the model, until the kill signal. */
export async function floorWait(): Promise<string> {
  const scope = new CancellationScope();
  setHandler(floorKill, () => scope.cancel());
  try {
    await scope.run(() => wait());
  } catch (err) {
    if (!isCancellation(err)) throw err;
  }
  return 'killed';
}
