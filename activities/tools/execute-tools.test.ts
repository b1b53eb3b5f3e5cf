/**
 * One batch of tool calls, from the stored assistant message to the stored tool results, with
 * the real transcript store (Valkey) and the local runner in a scratch worktree.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Redis from 'ioredis';
import { TranscriptMissingError, TranscriptStore } from '../../state/transcript-store';
import { connectTestRedis } from '../../test/support/redis';
import { executeToolBatch, type ToolBatchDeps } from './execute-tools';
import { LocalRunner } from './local-runner';
import { redactSecrets } from '../../scanner';

describe('executeToolBatch', () => {
  let redis: Redis;
  let transcripts: TranscriptStore;
  let dir: string;
  let deps: ToolBatchDeps;
  beforeAll(() => {
    redis = connectTestRedis();
    transcripts = new TranscriptStore(redis);
  });
  afterAll(() => redis.quit());
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tools-'));
    deps = { transcripts, redact: redactSecrets, runner: new LocalRunner(dir, path.join(dir, '.home')), hostRoot: dir, timeoutMs: 10_000, maxOutputBytes: 10_000 };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const toolUse = (id: string, name: string, input: Record<string, unknown>) => ({ type: 'tool_use' as const, id, name, input });

  async function agentWith(...calls: ReturnType<typeof toolUse>[]): Promise<string> {
    const agentId = randomUUID();
    await transcripts.put(agentId, 0, { role: 'user', content: 'Task: T' });
    await transcripts.put(agentId, 1, { role: 'assistant', content: calls, stop_reason: 'tool_use' });
    return agentId;
  }

  it('runs every call in order and stores the results as the next user message', async () => {
    const agentId = await agentWith(
      toolUse('a', 'str_replace_based_edit_tool', { command: 'create', path: 'notes.txt', file_text: 'one\n' }),
      toolUse('b', 'bash', { command: 'cat notes.txt; echo two >> notes.txt; exit 3' }),
    );
    const result = await executeToolBatch(deps, { agentId, messageIndex: 2, readOnly: false }, {});
    expect(result).toEqual({
      toolCalls: 2,
      failed: 0,
      reused: false,
      outcomes: ['edit: create notes.txt → ok', 'bash: cat notes.txt; echo two >> notes.txt; exit 3 → exit 3'],
    });
    expect(readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('one\ntwo\n');
    const stored = await transcripts.get(agentId, 2);
    expect(stored).toMatchObject({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'a' },
        { type: 'tool_result', tool_use_id: 'b', content: 'one\n[exit code 3]' },
      ],
    });
  });

  it('is idempotent: a retried batch whose results are stored runs nothing again', async () => {
    const agentId = await agentWith(toolUse('a', 'bash', { command: 'echo run >> count.txt' }));
    await executeToolBatch(deps, { agentId, messageIndex: 2, readOnly: false }, {});
    const again = await executeToolBatch(deps, { agentId, messageIndex: 2, readOnly: false }, {});
    // What ran is still reported (from the stored results), so the batch's event can be written on a retry.
    expect(again).toEqual({ toolCalls: 0, failed: 0, reused: true, outcomes: ['bash: echo run >> count.txt → exit 0'] });
    expect(readFileSync(path.join(dir, 'count.txt'), 'utf8')).toBe('run\n');
  });

  it('answers bad calls with an error result instead of failing the batch', async () => {
    const agentId = await agentWith(
      toolUse('a', 'bash', { command: '  ' }),
      toolUse('b', 'teleport', {}),
      toolUse('c', 'str_replace_based_edit_tool', { command: 'view', path: '../../etc/passwd' }),
      toolUse('d', 'bash', { restart: true }),
    );
    const result = await executeToolBatch(deps, { agentId, messageIndex: 2, readOnly: false }, {});
    expect(result.failed).toBe(3);
    const stored = await transcripts.get(agentId, 2);
    const content = stored?.content as { tool_use_id: string; is_error?: boolean; content: string }[];
    expect(content.map((c) => [c.tool_use_id, c.is_error ?? false])).toEqual([
      ['a', true],
      ['b', true],
      ['c', true],
      ['d', false],
    ]);
    expect(content[2]!.content).toMatch(/outside the workspace/);
  });

  it('refuses edits from a read-only (reviewer) agent', async () => {
    const agentId = await agentWith(toolUse('a', 'str_replace_based_edit_tool', { command: 'create', path: 'x.txt', file_text: 'x' }));
    await executeToolBatch(deps, { agentId, messageIndex: 2, readOnly: true }, {});
    expect(existsSync(path.join(dir, 'x.txt'))).toBe(false);
    const stored = await transcripts.get(agentId, 2);
    expect(stored?.content).toMatchObject([{ tool_use_id: 'a', is_error: true }]);
  });

  it('reports a timed-out command as an error and stops it', async () => {
    const agentId = await agentWith(toolUse('a', 'bash', { command: 'sleep 30' }));
    const started = Date.now();
    const result = await executeToolBatch({ ...deps, timeoutMs: 300 }, { agentId, messageIndex: 2, readOnly: false }, {});
    expect(result.failed).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    const stored = await transcripts.get(agentId, 2);
    expect(JSON.stringify(stored?.content)).toMatch(/timed out/);
  });

  it('stops and stores nothing when the activity is cancelled mid-command', async () => {
    const agentId = await agentWith(toolUse('a', 'bash', { command: 'sleep 30' }));
    const controller = new AbortController();
    const reason = new Error('cancelled');
    setTimeout(() => controller.abort(reason), 200);
    await expect(executeToolBatch(deps, { agentId, messageIndex: 2, readOnly: false }, { signal: controller.signal })).rejects.toBe(reason);
    expect(await transcripts.get(agentId, 2)).toBeNull();
  });

  it('fails with TranscriptMissing when the tool calls it should run are gone', async () => {
    const agentId = randomUUID();
    await expect(executeToolBatch(deps, { agentId, messageIndex: 2, readOnly: false }, {})).rejects.toBeInstanceOf(TranscriptMissingError);
  });

  it('reports each call in one redacted line: a secret in a command never shows', async () => {
    const key = `sk-ant-api03-${randomBytes(80).toString('base64url').slice(0, 93)}AA`;
    const agentId = await agentWith(toolUse('a', 'bash', { command: `export KEY=${key} && exit 1` }));
    const result = await executeToolBatch(deps, { agentId, messageIndex: 2, readOnly: false }, {});
    expect(result.outcomes).toHaveLength(1);
    expect(result.outcomes[0]).toMatch(/^bash: export KEY=.* → exit 1$/);
    expect(result.outcomes[0]).not.toContain(key.slice(14, 40));
  });

  it('repeats no secret the model put in a tool name: not in the outcome line, not in a heartbeat', async () => {
    const token = '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';
    const agentId = await agentWith(toolUse('a', token, { command: 'true' }));
    const beats: unknown[] = [];
    const result = await executeToolBatch(deps, { agentId, messageIndex: 2, readOnly: false }, { heartbeat: (d) => beats.push(d) });
    expect(result.outcomes).toEqual(['ghp_…: → error']);
    expect(JSON.stringify(beats)).not.toContain(token);
  });

  it('heartbeats per call, naming the tool', async () => {
    const agentId = await agentWith(toolUse('a', 'bash', { command: 'true' }), toolUse('b', 'bash', { command: 'true' }));
    const beats: unknown[] = [];
    await executeToolBatch(deps, { agentId, messageIndex: 2, readOnly: false }, { heartbeat: (d) => beats.push(d) });
    expect(beats).toEqual(expect.arrayContaining([{ tool: 'bash', index: 0 }, { tool: 'bash', index: 1 }]));
  });
});
