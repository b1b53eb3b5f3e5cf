/**
 * Determinism: every recorded agentRun history (test/fixtures/histories, recorded by
 * scripts/record-histories.ts) replays against the current workflow code, and a workflow changed
 * so that it issues a different command sequence does not. No Temporal server is needed.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, Worker, type ReplayResult, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { loadHistoryDir, loadHistoryFile, replayHistories, type NamedHistory } from '../worker/replay';
import { workflowBundle } from './support/harness';

const ROOT = path.resolve(__dirname, '..');
const HISTORIES = path.join(ROOT, 'test/fixtures/histories');
const WORKFLOWS_DIR = path.join(ROOT, 'workflows');
/** The file the mutation test changes: where the first state write is issued. */
const MUTATED_FILE = 'phases.ts';
/** Each replay worker bundles the workflows with webpack: allow for a slow machine. */
const REPLAY_TIMEOUT_MS = 180_000;

const quietLogger = { trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, log: () => {} };

/** Runs the replay CLI as `npm run replay` would; resolves with its exit code and output. */
function runReplayCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(path.join(ROOT, 'node_modules/.bin/tsx'), ['worker/replay-cli.ts', ...args], { cwd: ROOT, timeout: REPLAY_TIMEOUT_MS }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function collect(results: AsyncIterable<ReplayResult>): Promise<ReplayResult[]> {
  const all: ReplayResult[] = [];
  for await (const r of results) all.push(r);
  return all;
}

describe('replaying recorded agentRun histories', () => {
  let histories: NamedHistory[];
  let scratch: string;

  beforeAll(async () => {
    histories = await loadHistoryDir(HISTORIES);
    // Inside the repository (.data is git-ignored) so the copied workflow resolves node_modules.
    mkdirSync(path.join(ROOT, '.data'), { recursive: true });
    scratch = mkdtempSync(path.join(ROOT, '.data/replay-mutant-'));
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  /** workflows/ copied (imports outside it made absolute), `file` (its phases) changed by `mutate`, and bundled. */
  const bundleCopy = async (name: string, mutate: (source: string) => string, file = MUTATED_FILE): Promise<WorkflowBundle> => {
    const dir = path.join(scratch, name, 'workflows');
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(WORKFLOWS_DIR).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))) {
      const source = readFileSync(path.join(WORKFLOWS_DIR, f), 'utf8').replace(/(from\s+')(\.\.\/[^']*)(')/g, (_m, pre: string, rel: string, post: string) => {
        return `${pre}${path.resolve(WORKFLOWS_DIR, rel)}${post}`;
      });
      writeFileSync(path.join(dir, f), f === file ? mutate(source) : source);
    }
    return bundleWorkflowCode({ workflowsPath: path.join(dir, 'index.ts'), logger: quietLogger });
  };

  it('has the recorded scenarios: completed with tools and gates (before and after the folded activities, with turns as one activity, pushed by the commit activity, and in the current shape), gate feedback (before and after the gates, scan and commit became one activity, and in the current shape), gates skipped, a fork (both shapes), failed on the turn budget (before and after turns became one activity) or unavailable gates (both paths), killed during a tool run (three paths), continued as new (the first run; the last run in the current shape), the state write of each turn carried by the next turn activity (completed, killed during a tool run), and the shape after (run-shape-2026-12b: completed, gate feedback, killed during a tool run without a stopping write), and with the spend ledger (a paid review; a review refused over the dollar budget), a reviewer, the wall-time budget ending a run during a tool, a cancel through Temporal, a kill while the tool batch before a continue-as-new finished (killed there, not continued), a commit the secret scan blocked (then fixed), an answer cut off at max_tokens while thinking (taken as final before; the agent told to go on now), an agent that changed nothing, a coordinator that approves or vetoes, and on many hosts (a late host found alive; a host that died, the run moved and rebuilt)', () => {
    expect(histories.map((h) => h.workflowId)).toEqual([
      'cancelled-through-temporal',
      'completed-after-cut-off-answer',
      'completed-after-gate-feedback-in-current-shape',
      'completed-after-gate-feedback-in-one',
      'completed-after-gate-feedback-in-shape-2026-12b',
      'completed-after-gate-feedback',
      'completed-after-host-died',
      'completed-after-secret-feedback',
      'completed-cut-off-answer-taken-as-final',
      'completed-fork-in-current-shape',
      'completed-fork',
      'completed-gates-skipped',
      'completed-in-current-shape',
      'completed-in-fewer-activities',
      'completed-in-shape-2026-12b',
      'completed-on-a-late-host-found-alive',
      'completed-pushed-with-commit',
      'completed-reviewer',
      'completed-with-coordinator',
      'completed-with-paid-review',
      'completed-with-tools',
      'completed-with-turns-in-one',
      'completed-with-write-in-turn',
      'continued-as-new-in-current-shape',
      'continued-as-new',
      'failed-coordinator-veto',
      'failed-gates-unavailable-in-setup',
      'failed-gates-unavailable',
      'failed-nothing-to-commit',
      'failed-review-over-budget',
      'failed-turn-budget-in-turn',
      'failed-turn-budget',
      'failed-wall-time',
      'killed-before-continue-as-new',
      'killed-during-tool-in-current-shape',
      'killed-during-tool-in-shape-2026-12b',
      'killed-during-tool-in-turn',
      'killed-during-tool-with-write-in-turn',
      'killed-during-tool',
    ]);
    for (const { history } of histories) expect(history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name).toBe('agentRun');
  });

  it(
    'replays every recorded history against the current workflow code',
    async () => {
      const outcomes = await replayHistories(histories, { workflowBundle: await workflowBundle() });
      expect(outcomes.map((o) => ({ workflowId: o.workflowId, error: o.error?.message }))).toEqual(histories.map((h) => ({ workflowId: h.workflowId, error: undefined })));
    },
    REPLAY_TIMEOUT_MS,
  );

  it(
    'fails with a DeterminismViolationError when the workflow issues an extra command before its first state write',
    async () => {
      const anchor = "await run.record('spawn accepted');";
      expect(readFileSync(path.join(WORKFLOWS_DIR, MUTATED_FILE), 'utf8').split(anchor)).toHaveLength(2);
      const completed = histories.filter((h) => h.workflowId === 'completed-with-tools');
      expect(completed).toHaveLength(1);

      // The copy itself replays: whatever fails below fails because of the mutation, not the copying.
      const unchanged = await collect(Worker.runReplayHistories({ workflowBundle: await bundleCopy('unchanged', (s) => s) }, completed));
      expect(unchanged.map((r) => r.error)).toEqual([undefined]);

      const mutant = await bundleCopy('mutant', (s) => s.replace(anchor, `await headSha({ workspace: undefined as never }).catch(() => undefined);\n  ${anchor}`));
      const results = await collect(Worker.runReplayHistories({ workflowBundle: mutant }, completed));
      expect(results).toHaveLength(1);
      const [result] = results;
      expect(result).toMatchObject({ workflowId: 'completed-with-tools', runId: expect.any(String) });
      expect(result!.error).toBeInstanceOf(DeterminismViolationError);
      expect(result!.error?.name).toBe('DeterminismViolationError');
      expect(result!.error?.message).toMatch(/nondeterminism/i);

      // The single-history form throws the same error.
      await expect(Worker.runReplayHistory({ workflowBundle: mutant }, completed[0]!.history, 'completed-with-tools')).rejects.toBeInstanceOf(DeterminismViolationError);
    },
    REPLAY_TIMEOUT_MS,
  );

  it(
    'covers the stop-before-continue-as-new path: its history ends killed where it would have continued as new, and code without that stop does not replay it',
    async () => {
      const [killed] = histories.filter((h) => h.workflowId === 'killed-before-continue-as-new');
      const events = killed!.history.events ?? [];
      expect(events.some((e) => e.workflowExecutionContinuedAsNewEventAttributes)).toBe(false);
      const patches = events.flatMap((e) => Object.values(e.markerRecordedEventAttributes?.details ?? {}).flatMap((p) => (p.payloads ?? []).map((d) => Buffer.from(d.data ?? []).toString())));
      expect(patches.some((p) => p.includes('"stop-before-continue-as-new"'))).toBe(true);

      const anchor = '&& wf.patched(STOP_BEFORE_CONTINUE_AS_NEW)';
      expect(readFileSync(path.join(WORKFLOWS_DIR, 'agent-run.ts'), 'utf8').split(anchor)).toHaveLength(2);
      const continuing = await bundleCopy('no-stop-before-continue', (s) => s.replace(anchor, '&& false'), 'agent-run.ts');
      const results = await collect(Worker.runReplayHistories({ workflowBundle: continuing }, [killed!]));
      expect(results[0]?.error).toBeInstanceOf(DeterminismViolationError);
    },
    REPLAY_TIMEOUT_MS,
  );

  it(
    'replay CLI: exits 0 for a recorded history file, 1 for a history the code does not match, 2 for a bad invocation',
    async () => {
      // A history whose prepareWorkspace was scheduled under another activity name: the current code cannot match it.
      const tampered = path.join(scratch, 'tampered.json');
      const json = JSON.parse(readFileSync(path.join(HISTORIES, 'failed-turn-budget.json'), 'utf8')) as { events: { activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } }[] };
      const scheduled = json.events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'prepareWorkspace');
      scheduled!.activityTaskScheduledEventAttributes!.activityType!.name = 'renamedActivity';
      writeFileSync(tampered, JSON.stringify(json));
      await expect(loadHistoryFile(tampered)).resolves.toMatchObject({ workflowId: 'tampered' });

      const [ok, bad, usage, missing] = await Promise.all([
        runReplayCli(['--file', 'test/fixtures/histories/completed-with-tools.json']),
        runReplayCli(['--file', tampered]),
        runReplayCli([]),
        runReplayCli(['--file', path.join(scratch, 'no-such-history.json')]),
      ]);
      expect(ok).toMatchObject({ code: 0, stdout: 'replay ok: completed-with-tools\n' });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('nondeterminism: tampered');
      expect(bad.stderr).toContain('DeterminismViolationError');
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('usage: replay');
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('no-such-history.json');
    },
    REPLAY_TIMEOUT_MS,
  );
});
