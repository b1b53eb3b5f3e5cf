/**
 * An agent's turn after the first, as one activity on its host: the tool calls of the last
 * answer, then the next model call. They always run back to back, and as two activities each
 * turn paid two server round trips and two workflow tasks more than it needed.
 *
 * The activity runs on the host's turn queue (domain/task-queues.ts), whose slots are budgeted
 * for model waits; the tool batches inside take a slot of `ToolSlots` (WORKER_ACTIVITY_SLOTS),
 * so hundreds of agents waiting on the model never mean hundreds of batches at once. A killed
 * run does not wait for this activity; cleanup stops its batch through `TurnsInFlight`.
 */
import { log } from '@temporalio/activity';
import type { ModelTurnInput, ModelTurnResult } from '../model/model-turn';
import { currentOperation, type Operation } from '../operation';
import type { ExecuteToolsInput, ExecuteToolsResult } from '../sandbox/activities';
import type { RecordStateInput } from '../state/activities';
import type { TurnsInFlight } from './in-flight';
import type { ToolSlots } from './tool-slots';

export interface TurnSteps {
  runToolBatch(args: ExecuteToolsInput, op: Operation): Promise<ExecuteToolsResult>;
  /** The model activity's own function (it reads the current activity's context). */
  modelTurn(args: ModelTurnInput): Promise<ModelTurnResult>;
  /** The state projection's write (the recordState activity's own function). */
  recordState(args: RecordStateInput): Promise<unknown>;
  inFlight: TurnsInFlight;
  toolSlots: ToolSlots;
  now?: () => number;
}

export interface ToolsThenModelInput {
  tools: ExecuteToolsInput;
  /** The next model call; its `messageCount` counts the tool results. */
  model: ModelTurnInput;
  /** Epoch ms when the run's wall-time budget ends: past it after the tools, no model call is made. */
  wallDeadlineMs?: number;
  /** The last turn's state write, made here first instead of in a local activity (workflows/phases.ts RECORD_WITH_TURN). */
  record?: RecordStateInput;
}

export interface ToolsThenModelResult {
  tools: ExecuteToolsResult;
  /** Absent when the wall-time budget ran out during the tools (the workflow then ends the run). */
  model?: ModelTurnResult;
}

export function createTurnActivities(steps: TurnSteps) {
  const now = steps.now ?? Date.now;
  return {
    async toolsThenModel(args: ToolsThenModelInput): Promise<ToolsThenModelResult> {
      const op = currentOperation();
      if (args.record) await publishBestEffort(steps, args.record);
      const tools = await steps.inFlight.run(args.tools.agentId, op, (batchOp) => steps.toolSlots.use(batchOp, () => steps.runToolBatch(args.tools, batchOp)), args.tools.workspace.path);
      if (args.wallDeadlineMs !== undefined && now() >= args.wallDeadlineMs) return { tools };
      // Killed while the batch ran, and told only through cleanup: no paid call for a stopped run.
      await steps.inFlight.refuseIfStopped(args.tools.agentId);
      op.heartbeat('model call');
      return { tools, model: await steps.modelTurn(args.model) };
    },
  };
}

/** How long the carried state write may hold up the turn. */
const CARRIED_WRITE_TIMEOUT_MS = 2000;

/**
 * The last turn's state write, before the tools. Best effort: the status is for observers (budgets
 * are the workflow's), and every write is a full, sequence-numbered snapshot, so the run's next
 * write makes up for a missed one; a slow or failing Valkey must not fail the turn. A retry, or a
 * write of the run's that overtook this one, never moves the state back.
 */
async function publishBestEffort(steps: TurnSteps, record: RecordStateInput): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Valkey within ${CARRIED_WRITE_TIMEOUT_MS} ms`)), CARRIED_WRITE_TIMEOUT_MS);
  });
  try {
    await Promise.race([steps.recordState(record), timeout]);
  } catch (err) {
    log.warn("turn: the last turn's state write failed; the run's next write makes up for it", { agentId: record.view.agentId, seq: record.seq, error: (err as Error).message });
  } finally {
    clearTimeout(timer);
  }
}

export type TurnActivities = ReturnType<typeof createTurnActivities>;
