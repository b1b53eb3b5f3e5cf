/**
 * Valkey keeps what it is given: transcripts and workspace checkpoints live there, so a run goes
 * on across a crash and restart of its own redis-server (append-only file, fsync every second, as
 * the shipped configurations run it), and a message that is really gone fails the run with a
 * reason naming it, without a model call on a shortened conversation.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { keys } from '../state/keys';
import { CheckpointStore } from '../state/checkpoint-store';
import { TranscriptStore } from '../state/transcript-store';
import { createRemoteRepo, showFile } from './support/git-fixtures';
import { eventually, startHarness, type Harness } from './support/harness';
import { OwnRedisServer } from './support/own-redis-server';

const GATES_JSON = JSON.stringify({ gates: { tests: { command: 'true' } } });
const bash = (command: string) => ({ name: 'bash' as const, input: { command } });
const TEST_TIMEOUT_MS = 120_000;

describe('runs whose Valkey restarts or loses data', () => {
  let h: Harness;
  let valkey: OwnRedisServer;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'valkey-aof-'));
    valkey = await OwnRedisServer.start({ persistDir: dataDir });
    h = await startHarness({ VALKEY_PORT: String(valkey.port) });
  });
  afterAll(async () => {
    await h?.close();
    await valkey?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const worktreeOf = (agentId: string, file: string) => path.join(h.workspaceRoot, 'worktrees', agentId, file);

  it(
    'completes a run across a redis-server crash and restart, with nothing of its transcript or checkpoints lost',
    async () => {
      const remote = createRemoteRepo({ '.orchestrator/gates.json': GATES_JSON, 'README.md': '# durable\n' });
      const taskId = 'T-valkey-restart';
      h.fakeModel.script(taskId, [
        { tools: [bash('echo one > one.txt')] },
        { tools: [bash('echo started > started.txt; sleep 5; echo two > two.txt')] },
        { tools: [bash('cat one.txt two.txt')] },
        { text: 'Done.' },
      ]);
      const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
      const agentId = handle.workflowId.replace('agent-', '');
      await eventually(async () => existsSync(worktreeOf(agentId, 'started.txt')), 60_000, 'the second tool batch');
      // More than a second after the last write: the append-only file has it on disk. Then a crash.
      await new Promise((r) => setTimeout(r, 2500));
      await valkey.stop();
      await new Promise((r) => setTimeout(r, 1000));
      await valkey.start();

      const final = await handle.result();
      expect(final.status).toBe('completed');
      expect(showFile(remote.dir, final.result!.branch!, 'two.txt')).toBe('two');
      const reqs = h.fakeModel.requestsFor(taskId);
      expect(reqs.map((r) => r.body.messages.length)).toEqual([1, 3, 5, 7]);
      expect(JSON.stringify(reqs[3]!.body.messages[6])).toContain('one\\ntwo');
      // All 8 messages and the three checkpoints are still there (now expiring with the run).
      expect(await new TranscriptStore(h.redis).range(agentId, 8)).toHaveLength(8);
      expect((await new CheckpointStore(h.redis, { maxTotalBytes: 1e9 }).list(agentId)).map((c) => c.turn)).toEqual([1, 2, 3]);
      expect(await h.redis.ttl(keys.checkpoints(agentId))).toBeGreaterThan(0);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'fails a run whose transcript lost a message, naming it, and never asks the model with the rest',
    async () => {
      const remote = createRemoteRepo({ '.orchestrator/gates.json': GATES_JSON, 'README.md': '# lossy\n' });
      const taskId = 'T-valkey-loss';
      h.fakeModel.script(taskId, [{ tools: [bash('echo started > started.txt; sleep 3')] }, { text: 'never asked' }]);
      const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
      const agentId = handle.workflowId.replace('agent-', '');
      await eventually(async () => existsSync(worktreeOf(agentId, 'started.txt')), 60_000, 'the tool batch');
      await h.redis.hdel(keys.transcript(agentId), '0');

      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect((err as WorkflowFailedError).cause).toMatchObject({ type: 'TranscriptMissing', message: expect.stringContaining(`the transcript of agent ${agentId} has lost message 0`) });
      expect(h.fakeModel.requestsFor(taskId)).toHaveLength(1);
      const status = await handle.query<{ status: string; errorType?: string; error?: string }>('status').catch(() => undefined);
      if (status) expect(status).toMatchObject({ status: 'failed', errorType: 'TranscriptMissing' });
    },
    TEST_TIMEOUT_MS,
  );
});
