/**
 * Every activity's errors reach the workflow typed and retried as the failure table says
 * (domain/failures.ts): a retryable type is attempted again, a final one is not, whichever
 * activity threw it. The activities are built by the real factory over dependencies that all
 * throw, and run by a real worker; the workflow sees them through an ActivityFailure.
 */
import { randomUUID } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { GitCommandFailedError, GitInputError } from '../activities/git/errors';
import type { SandboxInfo, WorkspaceInfo } from '../domain/agent';
import { FAILURES } from '../domain/failures';
import { testEnv } from './support/env';
import type { callActivity } from './support/workflows/call-activity';
import './support/harness'; // installs the quiet SDK runtime logger

const ERRORS = {
  retryable: () => new GitCommandFailedError('git fetch failed (exit 128): connection reset', 'fetch', 128),
  final: () => new GitInputError('branch name is not valid'),
};
type ErrorKind = keyof typeof ERRORS;

/**
 * A dependency whose every property is itself and every call throws: the error the running
 * workflow's id names, counted per workflow (so all cases run at once).
 */
function throwingDependency(calls: Map<string, number>): never {
  const target = function () {};
  const proxy: unknown = new Proxy(target, {
    get: (_t, prop) => (prop === 'then' ? undefined : proxy),
    apply: () => {
      const workflowId = Context.current().info.workflowExecution?.workflowId ?? 'none:final';
      calls.set(workflowId, (calls.get(workflowId) ?? 0) + 1);
      throw ERRORS[workflowId.split(':')[1] as ErrorKind]!();
    },
  });
  return proxy as never;
}

describe('activity failures reach the workflow with their declared type and retry behaviour', () => {
  const calls = new Map<string, number>();
  const dep = throwingDependency(calls);
  const deps: ActivityDeps = {
    states: dep,
    transcripts: dep,
    ledger: dep,
    reviewVerdicts: dep,
    events: dep,
    checkpointStore: dep,
    anthropic: dep,
    workspaces: dep,
    homes: dep,
    runtime: dep,
    coordinator: dep,
    taskQueuePolls: dep,
    turnsInFlight: dep,
    toolSlots: dep,
    settings: {
      model: 'm',
      maxTokensPerTurn: 1,
      price: { input: 1, output: 1, cacheWrite5m: 1, cacheWrite1h: 1, cacheRead: 1 },
      promptCache: '5m',
      context: { windowTokens: 100_000, compactAt: 0.5, compactTo: 0.3, keepRecentTurns: 3 },
      modelRequestTimeoutMs: 1000,
      toolTimeoutMs: 1000,
      toolOutputMaxBytes: 1000,
      stateTtlSeconds: 60,
      gateTimeoutMs: 1000,
      coverageThreshold: 80,
      diskBudget: { maxBytes: 1024 * 1024 * 1024, maxEntries: 1_000_000 },
    },
  };
  const activities = createActivities(deps);

  // A worktree the sandbox user owns, so startSandbox reaches the sandbox instead of chown.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'failures-ws-'));
  if (process.getuid?.() === 0) chownSync(dir, 1000, 1000);
  const workspace: WorkspaceInfo = { host: { id: 'h', taskQueue: 'q@h' }, path: dir, branch: 'agent/T/aaaaaaaa', baseBranch: 'main', baseSha: 'a'.repeat(40), mirrorPath: '/nonexistent.git' };
  const sandbox: SandboxInfo = { containerId: 'c', containerName: 'n' };
  const agentId = randomUUID();
  const ids = { agentId, taskId: 'T-1' };

  /** Arguments that get each activity as far as its first dependency call. */
  const argsFor: Record<keyof typeof activities, unknown[]> = {
    recordState: [{ seq: 1, view: { ...ids, agentType: 'worker', status: 'running', spawnedAt: 'now' }, at: 'now' }],
    copyForkSource: [{ agentId, from: { agentId: randomUUID(), turn: 2 } }],
    writeInitialPrompt: [{ agentId, input: { ...ids, agentType: 'worker', context: { repository: 'r', branch: 'main', workItems: [], skills: [] } } }],
    modelTurn: [{ agentId, agentType: 'worker', messageCount: 1, workspaceDir: dir }],
    appendFeedback: [{ agentId, index: 1, text: 'x' }],
    startSandbox: [{ ...ids, workspace }],
    executeTools: [{ agentId, turn: 1, messageIndex: 2, readOnly: false, workspace, sandbox }],
    toolsThenModel: [{ tools: { agentId, turn: 1, messageIndex: 2, readOnly: false, workspace, sandbox }, model: { agentId, agentType: 'worker', messageCount: 3, workspaceDir: dir } }],
    prepareWorkspace: [{ ...ids, repository: 'https://example.test/r.git', baseBranch: 'main' }],
    rebuildWorkspace: [{ ...ids, repository: 'https://example.test/r.git', baseBranch: 'main', baseSha: 'a'.repeat(40), upToTurn: 3 }],
    scanStagedChanges: [{ workspace }],
    commitChanges: [{ ...ids, agentType: 'worker', workspace }],
    scanAndCommit: [{ ...ids, agentType: 'worker', workspace }],
    setUpAgent: [{ ...ids, repository: 'https://example.test/r.git', baseBranch: 'main', profile: 'minimal' }],
    headSha: [{ workspace }],
    checkMergeable: [{ workspace }],
    pushBranch: [{ workspace }],
    pushIfMergeable: [{ workspace }],
    cleanupAgent: [{ agentId, workspace, sandbox, salvage: true }],
    resolveGates: [{ workspace, profile: 'minimal' }],
    gatesScanAndCommit: [{ gates: { ...ids, agentType: 'worker', workspace, sandbox, profile: 'minimal', phase: 'pre-commit', round: 1, maxRounds: 1 }, commit: { ...ids, agentType: 'worker', workspace } }],
    runGates: [{ ...ids, agentType: 'worker', workspace, sandbox, profile: 'minimal', phase: 'pre-commit', round: 1, maxRounds: 1 }],
    hostLiveness: [{ taskQueue: 'q@h' }],
    reportToCoordinator: [{ ...ids, agentType: 'worker', phase: 'pre-commit', branch: workspace.branch, gates: [] }],
  };

  let bundle: WorkflowBundle;
  let connection: NativeConnection;
  let client: Client;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `failures-${randomUUID()}`;

  beforeAll(async () => {
    bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./support/workflows/call-activity'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } });
    connection = await NativeConnection.connect({ address: testEnv.temporalAddress });
    client = new Client({ connection: await Connection.connect({ address: testEnv.temporalAddress }) });
    worker = await Worker.create({ connection, taskQueue, workflowBundle: bundle, activities });
    running = worker.run();
  });
  afterAll(async () => {
    worker.shutdown();
    await running;
    await connection.close();
    await client.connection.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (name: string, kind: ErrorKind) => {
    const workflowId = `failures:${kind}:${name}:${randomUUID()}`;
    const outcome = await client.workflow.execute<typeof callActivity>('callActivity', { taskQueue, workflowId, args: [name, argsFor[name as keyof typeof activities]] });
    return { name, ...outcome, attempts: calls.get(workflowId) };
  };
  const names = Object.keys(argsFor);

  it('covers every activity the workflow can call', () => {
    expect(Object.keys(argsFor).sort()).toEqual(Object.keys(activities).sort());
  });

  it('has a failure table whose retryable and final types are the ones used below', () => {
    expect(FAILURES.GitCommandFailed.retryable).toBe(true);
    expect(FAILURES.InvalidInput.retryable).toBe(false);
  });

  it('a retryable type is retried and reaches the workflow typed, from every activity', async () => {
    const outcomes = await Promise.all(names.map((name) => run(name, 'retryable')));
    expect(outcomes).toEqual(names.map((name) => expect.objectContaining({ name, ok: false, type: 'GitCommandFailed', nonRetryable: false, attempts: 3 })));
  });

  it('a final type is not retried and reaches the workflow typed, from every activity', async () => {
    const outcomes = await Promise.all(names.map((name) => run(name, 'final')));
    expect(outcomes).toEqual(
      names.map((name) => expect.objectContaining({ name, ok: false, type: 'InvalidInput', nonRetryable: true, message: 'branch name is not valid', attempts: 1 })),
    );
  });
});
