import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { connectTestRedis } from '../test/support/redis';
import { CheckpointStore } from './checkpoint-store';
import { copyForkSource, forkableTurns, ForkSourceMissingError } from './fork-source';
import { keys } from './keys';
import { TranscriptStore, type TranscriptMessage } from './transcript-store';

const BASE = 'b'.repeat(40);
const answer = (turn: number, tools: boolean): TranscriptMessage => ({
  role: 'assistant',
  content: tools ? [{ type: 'tool_use', id: `t${turn}`, name: 'bash', input: { command: `touch f${turn}` } }] : [{ type: 'text', text: `done ${turn}` }],
});
const results = (turn: number): TranscriptMessage => ({ role: 'user', content: [{ type: 'tool_result', tool_use_id: `t${turn}`, content: '[exit code 0]' }] });
const feedback: TranscriptMessage = { role: 'user', content: 'the tests gate failed' };

describe('a fork source (real Valkey)', () => {
  let redis: Redis;
  let transcripts: TranscriptStore;
  let checkpoints: CheckpointStore;
  beforeAll(() => {
    redis = connectTestRedis();
    transcripts = new TranscriptStore(redis);
    checkpoints = new CheckpointStore(redis, { maxTotalBytes: 1024 * 1024 });
  });
  afterAll(async () => {
    await redis.quit();
  });

  /**
   * An agent whose turns 1 and 2 ran tools (checkpoints 1 and 2, the second's pack built on the
   * first), turn 3 finished without tools and got gate feedback, turn 4 ran tools again.
   */
  async function finishedAgent(): Promise<string> {
    const agentId = randomUUID();
    const messages = [{ role: 'user', content: 'Task: T-1' } as TranscriptMessage, answer(1, true), results(1), answer(2, true), results(2), answer(3, false), feedback, answer(4, true), results(4)];
    for (const [i, m] of messages.entries()) await transcripts.put(agentId, i, m);
    const save = (turn: number, parentTurn?: number) =>
      checkpoints.save(agentId, turn, { commit: `c${turn}`, tree: `t${turn}`, baseSha: BASE, ...(parentTurn ? { parentTurn } : {}), pack: Buffer.from(`pack ${turn}`), skipped: [] });
    await save(1);
    await save(2, 1);
    await save(4, 2);
    return agentId;
  }

  it('copies the first turns and the checkpoint chain after them to the new agent, as its own', async () => {
    const from = await finishedAgent();
    const to = randomUUID();
    expect(await copyForkSource({ transcripts, checkpoints }, { agentId: from, turn: 2 }, to)).toEqual({ messageCount: 5, baseSha: BASE, checkpointTurn: 2 });
    expect(await transcripts.range(to, 5)).toEqual(await transcripts.range(from, 5));
    expect(await transcripts.count(to)).toBe(5);
    const copied = await checkpoints.list(to);
    expect(copied.map((r) => [r.agentId, r.turn, r.commit])).toEqual([
      [to, 1, 'c1'],
      [to, 2, 'c2'],
    ]);
    // A restore (a failover of the fork, or a fork of the fork) reads the copied chain.
    expect((await checkpoints.packChain(copied[1]!)).map(String)).toEqual(['pack 1', 'pack 2']);
  });

  it('after a turn that ran no tools, starts from the checkpoint of the last turn that did, with the feedback that followed', async () => {
    const from = await finishedAgent();
    const to = randomUUID();
    expect(await copyForkSource({ transcripts, checkpoints }, { agentId: from, turn: 3 }, to)).toEqual({ messageCount: 7, baseSha: BASE, checkpointTurn: 2 });
    expect((await transcripts.get(to, 6))?.content).toBe('the tests gate failed');
  });

  it('refuses with ForkSourceMissing when the conversation or the checkpoint of the turn is gone, and copies nothing', async () => {
    const noCheckpoint = await finishedAgent();
    await redis.hdel(keys.checkpoints(noCheckpoint), '2');
    const to = randomUUID();
    const refused = copyForkSource({ transcripts, checkpoints }, { agentId: noCheckpoint, turn: 3 }, to);
    await expect(refused).rejects.toThrow(ForkSourceMissingError);
    await expect(refused).rejects.toMatchObject({ type: 'ForkSourceMissing', message: expect.stringContaining('checkpoint of turn 2 is gone') });

    const packGone = await finishedAgent();
    await redis.hdel(keys.checkpointPacks(packGone), '1');
    await expect(copyForkSource({ transcripts, checkpoints }, { agentId: packGone, turn: 2 }, to)).rejects.toMatchObject({ type: 'ForkSourceMissing' });

    const expired = await finishedAgent();
    await redis.del(keys.transcript(expired));
    await expect(copyForkSource({ transcripts, checkpoints }, { agentId: expired, turn: 1 }, to)).rejects.toMatchObject({
      type: 'ForkSourceMissing',
      message: expect.stringContaining('message 0 of its conversation is gone'),
    });
    expect(await transcripts.count(to)).toBe(0);
    expect(await checkpoints.list(to)).toEqual([]);
  });

  it('counts as forkable only turns followed by a stored user message', () => {
    expect([0, 1, 2, 3, 8, 9].map(forkableTurns)).toEqual([0, 0, 0, 1, 3, 4]);
  });
});
