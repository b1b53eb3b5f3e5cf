/**
 * The turn activity's carried state write (workflows/phases.ts RECORD_WITH_TURN): made before the
 * tools, and never a reason for the turn to fail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ModelTurnResult } from '../model/model-turn';
import type { ExecuteToolsResult } from '../sandbox/activities';
import type { RecordStateInput } from '../state/activities';
import { createTurnActivities, type ToolsThenModelInput, type ToolsThenModelResult } from './activities';
import { TurnsInFlight } from './in-flight';
import { ToolSlots } from './tool-slots';

const AGENT = 'agent-turn-test';
const record: RecordStateInput = { seq: 7, view: { agentId: AGENT, taskId: 'T-1', agentType: 'worker', status: 'running', spawnedAt: '2026-12-01T00:00:00Z' }, at: '2026-12-01T00:00:01Z' };
const input = {
  tools: { agentId: AGENT, turn: 1, messageIndex: 2, readOnly: false, workspace: {} },
  model: { agentId: AGENT, turn: 2, messageCount: 3 },
  record,
} as unknown as ToolsThenModelInput;

describe('toolsThenModel with a carried state write', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'turn-activity-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const activities = (recordState: (r: RecordStateInput) => Promise<unknown>, order: string[]) =>
    createTurnActivities({
      runToolBatch: async () => (order.push('tools'), { digest: 'bash: true → exit 0' } as ExecuteToolsResult),
      modelTurn: async () => (order.push('model'), { stopReason: 'end_turn' } as ModelTurnResult),
      recordState: async (r) => (order.push(`write ${r.seq}`), recordState(r)),
      inFlight: new TurnsInFlight(dir),
      toolSlots: new ToolSlots(1),
    });

  it('writes the state first, then runs the tools and the model call', async () => {
    const order: string[] = [];
    const done = (await new MockActivityEnvironment().run(activities(async () => true, order).toolsThenModel, input)) as ToolsThenModelResult;
    expect(order).toEqual(['write 7', 'tools', 'model']);
    expect(done.model).toEqual({ stopReason: 'end_turn' });
  });

  it('goes on with the turn when the write fails: the next write makes up for it', async () => {
    const order: string[] = [];
    const failing = async () => {
      throw new Error('Valkey is down');
    };
    const done = (await new MockActivityEnvironment().run(activities(failing, order).toolsThenModel, input)) as ToolsThenModelResult;
    expect(order).toEqual(['write 7', 'tools', 'model']);
    expect(done.tools.digest).toBe('bash: true → exit 0');
  });

  it('goes on with the turn when the write does not answer', async () => {
    const order: string[] = [];
    const hanging = () => new Promise<never>(() => undefined);
    const done = (await new MockActivityEnvironment().run(activities(hanging, order).toolsThenModel, input)) as ToolsThenModelResult;
    expect(order).toEqual(['write 7', 'tools', 'model']);
    expect(done.model).toBeDefined();
  });
});
