import type { AgentRunInput, WorkspaceInfo } from '../domain/agent';
import { IllegalTransitionError } from '../domain/lifecycle';
import { RunState } from './run-state';

const T0 = Date.parse('2026-01-01T00:00:00Z');

const workspace: WorkspaceInfo = {
  host: { id: 'host-a', taskQueue: 'q@host-a' },
  path: '/ws/worktrees/a',
  branch: 'agent/T-1/aaaaaaaa',
  baseBranch: 'main',
  baseSha: 'a'.repeat(40),
  mirrorPath: '/ws/mirrors/x.git',
};

function input(overrides: Partial<AgentRunInput> = {}): AgentRunInput {
  return {
    agentId: 'aaaaaaaa-0000-4000-8000-000000000000',
    taskId: 'T-1',
    agentType: 'worker',
    gateProfile: 'standard',
    priority: 5,
    context: { repository: 'https://example.test/r.git', branch: 'main', workItems: [], skills: [] },
    spawnedAt: '2026-01-01T00:00:00.000Z',
    budgets: { maxTurns: 3, maxOutputTokens: 1000, maxWallTimeSeconds: 60 },
    maxFeedbackRounds: 1,
    ...overrides,
  };
}

describe('RunState', () => {
  it('starts spawning in the workspace phase, with nothing counted', () => {
    const s = new RunState(input(), T0);
    expect(s.view()).toMatchObject({ status: 'spawning', phase: 'preparing-workspace', progress: { turn: 0, inputTokens: 0, outputTokens: 0 } });
    expect(s.view().result).toBeUndefined();
    expect(s.finished).toBe(false);
  });

  it('picks up where a continued-as-new run left off', () => {
    const first = new RunState(input(), T0);
    first.workspace = workspace;
    first.startedAt = '2026-01-01T00:00:01.000Z';
    first.recordTurn({ inputTokens: 10, outputTokens: 5 });
    first.recordToolResults();
    first.nextSeq();
    const resumed = new RunState(input({ resume: first.checkpoint() }), T0 + 99_000);
    expect(resumed.status).toBe('running');
    expect(resumed.phase).toBe('agent-loop');
    expect(resumed.checkpoint()).toEqual(first.checkpoint());
    // The wall clock keeps counting from the first run's start, not the continuation's.
    expect(resumed.wallDeadlineMs).toBe(T0 + 60_000);
    expect(resumed.turnsThisRun).toBe(0);
  });

  it('counts a turn, its tool results and its tokens', () => {
    const s = new RunState(input(), T0);
    s.messageCount = 1;
    s.recordTurn({ inputTokens: 100, outputTokens: 20 });
    s.recordToolResults();
    s.recordTurn({ inputTokens: 150, outputTokens: 30 });
    expect({ turn: s.turn, messages: s.messageCount, in: s.inputTokens, out: s.outputTokens, thisRun: s.turnsThisRun }).toEqual({
      turn: 2,
      messages: 4,
      in: 250,
      out: 50,
      thisRun: 2,
    });
  });

  it.each([
    ['turns', (s: RunState) => (s.turn = 3), /max turns \(3\)/],
    ['output tokens', (s: RunState) => (s.outputTokens = 1000), /1000 output tokens used of 1000/],
  ])('names the %s budget when it is used up', (_name, use, message) => {
    const s = new RunState(input(), T0);
    expect(s.exhaustedBudget(T0)).toBeUndefined();
    use(s);
    expect(s.exhaustedBudget(T0)).toMatchObject({ type: 'BudgetExceeded', message: expect.stringMatching(message) });
  });

  it('names the wall-time budget once its deadline has passed', () => {
    const s = new RunState(input(), T0);
    expect(s.exhaustedBudget(T0 + 59_999)).toBeUndefined();
    expect(s.exhaustedBudget(T0 + 60_000)).toMatchObject({ type: 'BudgetExceeded', budget: 'maxWallTimeSeconds', message: 'wall time budget (maxWallTimeSeconds) of 60s exhausted' });
  });

  it('continues as new when suggested or after turnsPerRun, never before the first turn of a run', () => {
    const s = new RunState(input({ turnsPerRun: 2 }), T0);
    expect(s.shouldContinueAsNew(true)).toBe(false);
    s.recordTurn({ inputTokens: 0, outputTokens: 0 });
    expect(s.shouldContinueAsNew(false)).toBe(false);
    expect(s.shouldContinueAsNew(true)).toBe(true);
    s.recordTurn({ inputTokens: 0, outputTokens: 0 });
    expect(s.shouldContinueAsNew(false)).toBe(true);
  });

  it('allows feedback rounds up to the configured number', () => {
    const s = new RunState(input({ maxFeedbackRounds: 1 }), T0);
    expect(s.canFeedBack()).toBe(true);
    s.recordFeedback();
    expect(s.canFeedBack()).toBe(false);
    expect(s.messageCount).toBe(1);
  });

  it('keeps the loop going after an answer cut off at max_tokens, counting cut-offs in a row across continue-as-new', () => {
    const s = new RunState(input(), T0);
    s.workspace = workspace;
    s.startedAt = '2026-01-01T00:00:01.000Z';
    for (let i = 0; i < 2; i++) {
      s.recordTurn({ inputTokens: 1, outputTokens: 1 });
      s.expectTools(false);
      s.answerCutOff(true);
      s.recordContinueNote();
    }
    expect({ loopDone: s.loopDone, cutOffsInARow: s.cutOffsInARow, messageCount: s.messageCount }).toEqual({ loopDone: false, cutOffsInARow: 2, messageCount: 4 });
    const resumed = new RunState(input({ resume: s.checkpoint() }), T0);
    expect(resumed.cutOffsInARow).toBe(2);
    resumed.recordTurn({ inputTokens: 1, outputTokens: 1 });
    resumed.expectTools(true);
    resumed.answerCutOff(false);
    expect(resumed.cutOffsInARow).toBe(0);
    // A checkpoint without cut-offs is the one runs always continued with.
    expect(resumed.checkpoint()).not.toHaveProperty('cutOffsInARow');
  });

  it('keeps the latest result of every gate', () => {
    const s = new RunState(input(), T0);
    s.mergeGates([
      { name: 'tests', outcome: 'failed', durationMs: 1 },
      { name: 'lint', outcome: 'passed', durationMs: 1 },
    ]);
    s.mergeGates([{ name: 'tests', outcome: 'passed', durationMs: 2 }]);
    expect(s.lastGates).toEqual([
      { name: 'lint', outcome: 'passed', durationMs: 1 },
      { name: 'tests', outcome: 'passed', durationMs: 2 },
    ]);
  });

  it('reports a partial result once the workspace exists, and its own result when it has one', () => {
    const s = new RunState(input(), T0);
    s.workspace = workspace;
    s.recordTurn({ inputTokens: 7, outputTokens: 3 });
    expect(s.view().result).toEqual({
      branch: workspace.branch,
      pushed: false,
      turns: 1,
      inputTokens: 7,
      outputTokens: 3,
      cacheCreationInputTokens: 0,
      cacheReadInputTokens: 0,
      costUsd: 0,
      gates: undefined,
    });
    s.result = s.finalResult({ commitSha: 'c'.repeat(40), pushed: true });
    expect(s.view().result).toMatchObject({ commitSha: 'c'.repeat(40), pushed: true, turns: 1 });
  });

  it('follows the lifecycle and refuses an illegal move', () => {
    const s = new RunState(input(), T0);
    s.moveTo('running');
    s.moveTo('completed');
    expect(s.finished).toBe(true);
    expect(() => s.moveTo('running')).toThrow(IllegalTransitionError);
  });

  it('cannot checkpoint before the run is running', () => {
    const s = new RunState(input(), T0);
    expect(() => s.checkpoint()).toThrow(/only continued once it is running/);
  });

  it('shows status, phase, turn, tokens, gates and error in its details', () => {
    const s = new RunState(input(), T0);
    s.mergeGates([{ name: 'tests', outcome: 'failed', durationMs: 1 }]);
    s.error = 'quality gates failed: tests failed';
    expect(s.details()).toBe(
      [
        '**spawning** · phase `preparing-workspace`',
        'turn 0/3 · tokens in 0 / out 0 (budget 1000) · cache read 0 / written 0',
        'cost $0.0000',
        'last gates: tests failed',
        'error: quality gates failed: tests failed',
      ].join('\n\n'),
    );
  });

  it('is read-only for reviewers only', () => {
    expect(new RunState(input({ agentType: 'reviewer' }), T0).readOnly).toBe(true);
    expect(new RunState(input({ agentType: 'tester' }), T0).readOnly).toBe(false);
  });

  describe('cost', () => {
    const turn = (costUsd: number, extra = {}) => ({ inputTokens: 10, outputTokens: 20, cacheCreationInputTokens: 300, cacheReadInputTokens: 4000, costUsd, contextTokens: 5000, ...extra });

    it('sums cache tokens and dollars into the progress, the result and the checkpoint, and keeps the last turn', () => {
      const s = new RunState(input({ budgets: { maxTurns: 10, maxOutputTokens: 1000, maxWallTimeSeconds: 60, maxCostUsd: 1 } }), T0);
      s.workspace = workspace;
      s.startedAt = '2026-01-01T00:00:01.000Z';
      s.recordTurn(turn(0.0123));
      s.recordTurn(turn(0.0007));
      const usage = { inputTokens: 20, outputTokens: 40, cacheCreationInputTokens: 600, cacheReadInputTokens: 8000, costUsd: 0.013 };
      expect(s.view().progress).toEqual({ turn: 2, ...usage, lastTurn: { turn: 2, costUsd: 0.0007, contextTokens: 5000 } });
      expect(s.view().result).toMatchObject(usage);
      expect(s.finalResult({ pushed: true })).toMatchObject(usage);
      const resumed = new RunState(input({ resume: s.checkpoint() }), T0);
      expect(resumed.view().progress).toMatchObject(usage);
      expect(s.details()).toContain('cost $0.0130 of $1.00 · last turn $0.0007, ~5000 tokens sent');
    });

    it("takes the spend ledger's total when it holds calls the workflow never saw, and never goes below its own sum", () => {
      const s = new RunState(input({ budgets: { maxTurns: 10, maxOutputTokens: 1000, maxWallTimeSeconds: 60, maxCostUsd: 1 } }), T0);
      s.recordTurn(turn(0.01, { spentUsd: 0.01 }));
      // A gate attempt paid $0.02 for a review and failed; the retry reused the verdict and paid nothing.
      s.recordCost(0, 0.03);
      expect(s.costUsd).toBe(0.03);
      s.recordTurn(turn(0.01, { spentUsd: 0.04 }));
      expect(s.costUsd).toBe(0.04);
      // A ledger that lost its entries (Valkey flushed) does not make the run cheaper.
      s.recordTurn(turn(0.01, { spentUsd: 0.01 }));
      expect(s.costUsd).toBe(0.05);
    });

    it('counts turns recorded before costs existed as free, and resumes old checkpoints at zero', () => {
      const s = new RunState(input(), T0);
      s.recordTurn({ inputTokens: 10, outputTokens: 5 });
      expect(s.view().progress).toMatchObject({ costUsd: 0, cacheReadInputTokens: 0 });
      s.workspace = workspace;
      s.startedAt = 'x';
      const { costUsd: _c, cacheReadInputTokens: _r, cacheCreationInputTokens: _w, ...old } = s.checkpoint();
      expect(new RunState(input({ resume: old }), T0).costUsd).toBe(0);
    });

    it('names the dollar budget once it is spent, and tells the model activity what is left', () => {
      const s = new RunState(input({ budgets: { maxTurns: 10, maxOutputTokens: 1000, maxWallTimeSeconds: 60, maxCostUsd: 0.05 } }), T0);
      s.recordTurn(turn(0.03));
      expect(s.turnBudget()).toEqual({ maxOutputTokens: 1000, outputTokens: 20, maxCostUsd: 0.05, costUsd: 0.03 });
      expect(s.exhaustedBudget(T0)).toBeUndefined();
      s.recordTurn(turn(0.02));
      expect(s.exhaustedBudget(T0)).toMatchObject({ type: 'BudgetExceeded', budget: 'maxCostUsd', message: 'cost budget (maxCostUsd) exhausted: $0.0500 spent of $0.0500' });
      expect(new RunState(input(), T0).turnBudget()).toEqual({ maxOutputTokens: 1000, outputTokens: 0, costUsd: 0 });
    });

    it("keeps a reviewer's latest verdict for the result", () => {
      const s = new RunState(input({ agentType: 'reviewer' }), T0);
      s.workspace = workspace;
      s.recordTurn(turn(0.01, { review: { verdict: 'approve', findings: [], summary: 'fine' } }));
      expect(s.finalResult({ pushed: false }).review).toEqual({ verdict: 'approve', findings: [], summary: 'fine' });
      expect(s.details()).toContain('review: approve, 0 finding(s)');
    });
  });

  it('keeps a pending tool batch and a finished loop across a move to another host, and forgets the lost host\'s sandbox and commit', () => {
    const s = new RunState(input(), T0);
    s.workspace = workspace;
    s.sandbox = { containerId: 'c', containerName: 'n' };
    s.sandboxReady = true;
    s.commitSha = 'c'.repeat(40);
    s.recordTurn({ inputTokens: 1, outputTokens: 1 });
    s.expectTools(true);
    expect({ pendingTools: s.pendingTools, loopDone: s.loopDone }).toEqual({ pendingTools: true, loopDone: false });

    s.hostLost();
    expect(s.onLostHost).toBe(true);
    const moved: WorkspaceInfo = { ...workspace, host: { id: 'host-b', taskQueue: 'q@host-b' }, path: '/other/worktrees/a' };
    s.movedTo(moved);
    expect({ workspace: s.workspace, sandbox: s.sandbox, sandboxReady: s.sandboxReady, commitSha: s.commitSha, lostHosts: s.lostHosts }).toEqual({
      workspace: moved,
      sandbox: undefined,
      sandboxReady: false,
      commitSha: undefined,
      lostHosts: ['host-a'],
    });
    expect(s.onLostHost).toBe(false);
    expect(s.pendingTools).toBe(true); // the batch runs again on host-b

    s.recordToolResults();
    s.recordTurn({ inputTokens: 1, outputTokens: 1 });
    s.expectTools(false);
    expect({ pendingTools: s.pendingTools, loopDone: s.loopDone }).toEqual({ pendingTools: false, loopDone: true });
    s.recordFeedback();
    expect(s.loopDone).toBe(false);
  });

  it('remembers the hosts it lost across continue-as-new, so the bound on moves counts the whole run', () => {
    const s = new RunState(input(), T0);
    s.workspace = workspace;
    s.startedAt = '2026-01-01T00:00:01.000Z';
    s.hostLost();
    s.movedTo({ ...workspace, host: { id: 'host-b', taskQueue: 'q@host-b' } });
    const resumed = new RunState(input({ resume: s.checkpoint() }), T0);
    expect(resumed.lostHosts).toEqual(['host-a']);
    // A run that never lost a host continues with the checkpoint it always had.
    const calm = new RunState(input(), T0);
    calm.workspace = workspace;
    calm.startedAt = s.startedAt;
    expect(calm.checkpoint()).not.toHaveProperty('lostHosts');
  });

  it("keeps a reviewer's review base found at set-up across continue-as-new, and no other run's checkpoint changes", () => {
    const s = new RunState(input({ agentType: 'reviewer', context: { repository: 'https://example.test/r.git', branch: 'agent/T-0/12345678', workItems: [], skills: [] } }), T0);
    s.workspace = workspace;
    s.startedAt = '2026-01-01T00:00:01.000Z';
    s.reviewBase = 'trunk';
    expect(new RunState(input({ resume: s.checkpoint() }), T0).reviewBase).toBe('trunk');
    const worker = new RunState(input(), T0);
    worker.workspace = workspace;
    worker.startedAt = s.startedAt;
    expect(worker.checkpoint()).not.toHaveProperty('reviewBase');
  });
});
