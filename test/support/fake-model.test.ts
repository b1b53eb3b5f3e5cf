/**
 * The fake Messages API bills like the real one: the tests and the token benchmark rely on its
 * prompt-cache accounting, so it is tested here through the real SDK.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { FakeModelServer } from './fake-model';
import { freeFixedPort } from './ports';

const EPHEMERAL = { type: 'ephemeral' } as const;
const big = (label: string, chars = 8000) => `${label} ${'x'.repeat(chars)}`; // ~2,000 tokens

type Msg = Anthropic.MessageParam;
const user = (text: string, marked = false): Msg => ({ role: 'user', content: [{ type: 'text', text, ...(marked ? { cache_control: EPHEMERAL } : {}) }] });
const assistant = (text: string): Msg => ({ role: 'assistant', content: [{ type: 'text', text }] });

describe('fake model: usage like the API', () => {
  let fake: FakeModelServer;
  let client: Anthropic;
  beforeEach(async () => {
    fake = new FakeModelServer({ contextWindowTokens: 50_000 });
    client = new Anthropic({ apiKey: 'test', baseURL: await fake.start(), maxRetries: 0 });
  });
  afterEach(async () => {
    await fake.stop();
  });

  const send = (messages: Msg[], extra: Partial<Anthropic.MessageCreateParamsNonStreaming> = {}) =>
    client.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 1000, system: [{ type: 'text', text: 'You are terse.' }], messages, ...extra });

  it('bills everything as input without breakpoints', async () => {
    const first = await send([user(`Task: A ${big('a')}`)]);
    const again = await send([user(`Task: A ${big('a')}`)]);
    for (const r of [first, again]) expect(r.usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    expect(again.usage.input_tokens).toBe(first.usage.input_tokens);
    expect(first.usage.input_tokens).toBeGreaterThan(2000);
  });

  it('writes the prefix up to a breakpoint, then reads it when the next request repeats it', async () => {
    const turn1 = [user(`Task: B ${big('b')}`, true)];
    const r1 = await send(turn1);
    expect(r1.usage.cache_read_input_tokens).toBe(0);
    expect(r1.usage.cache_creation_input_tokens).toBe(fake.requests[0]!.requestTokens);
    expect(r1.usage.input_tokens).toBe(0);

    // Rolling breakpoint: the old marker goes, a new one marks the end.
    const turn2 = [user(`Task: B ${big('b')}`), assistant('ok'), user(big('more', 400), true)];
    const r2 = await send(turn2);
    expect(r2.usage.cache_read_input_tokens).toBe(r1.usage.cache_creation_input_tokens);
    expect(r2.usage.cache_creation_input_tokens).toBe(fake.requests[1]!.requestTokens! - r2.usage.cache_read_input_tokens!);
    expect(fake.requests[1]!.prefixCheck).toEqual({ comparedBlocks: fake.requests[0]!.breakpoints!.at(-1)! + 1, identical: true });
  });

  it('tells when a request changed the previous prefix, and bills the changed part as a write', async () => {
    await send([user(`Task: C ${big('c')}`, true)]);
    const r2 = await send([user(`Task: C ${big('C')}`, true)]);
    expect(fake.requests[1]!.prefixCheck).toMatchObject({ identical: false, firstDifference: 1, unchangedTokens: Math.ceil(JSON.stringify({ type: 'text', text: 'You are terse.' }).length / 4) });
    expect(r2.usage.cache_read_input_tokens).toBe(0);
  });

  it('finds an earlier prefix only within 20 blocks of a breakpoint', async () => {
    const base = [user(`Task: D ${big('d')}`, true)];
    await send(base);
    // 24 more blocks after the cached one, one breakpoint at the end: the lookback misses.
    const turns: Msg[] = [];
    for (let i = 0; i < 12; i++) turns.push(assistant(`a${i}`), user(`u${i}`));
    (turns.at(-1)!.content as Anthropic.TextBlockParam[])[0]!.cache_control = EPHEMERAL;
    const far = await send([user(`Task: D ${big('d')}`), ...turns]);
    expect(far.usage.cache_read_input_tokens).toBe(0);
    // The same request with a breakpoint also on the cached block reads it.
    const near = await send([user(`Task: D ${big('d')}`, true), ...turns]);
    expect(near.usage.cache_read_input_tokens).toBeGreaterThan(2000);
  });

  it('caches nothing below the minimum cacheable length', async () => {
    const r = await send([user('Task: E short', true)]);
    expect(r.usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  });

  it('refuses more than 4 breakpoints and requests over the context window, as the API does', async () => {
    const five = [user('Task: F', true), assistant('a'), user('b', true), assistant('c'), user('d', true), assistant('e'), user('f', true)];
    await expect(send(five, { system: [{ type: 'text', text: 's', cache_control: EPHEMERAL }] })).rejects.toMatchObject({ status: 400 });
    await expect(send([user(`Task: F ${'z'.repeat(250_000)}`)])).rejects.toMatchObject({ status: 400 });
    // The input fits, but not with all max_tokens may write: refused too (a hard limit for the models that think).
    const near = [user(`Task: F ${'z'.repeat(180_000)}`)];
    await expect(send(near, { max_tokens: 10_000 })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/input length and `max_tokens` exceed context limit: 450\d\d \+ 10000 > 50000/) });
    await expect(send(near, { max_tokens: 1000 })).resolves.toMatchObject({ stop_reason: 'end_turn' });
  });

  it('counts thinking toward max_tokens: an answer whose thinking uses them up stops with only its thinking', async () => {
    fake.script('H', [
      { text: 'Looks right.\nVERDICT: APPROVE', thinking: 'Let me weigh every hunk. '.repeat(400) },
      { text: 'Looks right.\nVERDICT: APPROVE', thinking: 'Short.' },
    ]);
    const cut = await send([user('Task: H')], { max_tokens: 2048 });
    expect(cut.stop_reason).toBe('max_tokens');
    expect(cut.content.map((b) => b.type)).toEqual(['thinking']);
    expect(cut.usage.output_tokens).toBe(2048);
    const whole = await send([user('Task: H')], { max_tokens: 2048 });
    expect(whole.content.map((b) => b.type)).toEqual(['thinking', 'text']);
  });

  it('stops at max_tokens and bills the scripted output size', async () => {
    fake.script('G', [{ text: 'long answer', outputTokens: 5000 }, { text: 'short', outputTokens: 10 }]);
    const cut = await send([user('Task: G')], { max_tokens: 300 });
    expect(cut.stop_reason).toBe('max_tokens');
    expect(cut.usage.output_tokens).toBe(300);
    const whole = await send([user('Task: G')]);
    expect(whole.usage.output_tokens).toBe(10);
    expect(fake.accountFor('G')).toMatchObject({ requests: 2, outputTokens: 310 });
  });
});

describe('fake model: refuses what the API refuses', () => {
  let fake: FakeModelServer;
  let client: Anthropic;
  beforeEach(async () => {
    fake = new FakeModelServer();
    client = new Anthropic({ apiKey: 'test', baseURL: await fake.start(), maxRetries: 0 });
  });
  afterEach(async () => {
    await fake.stop();
  });

  const send = (messages: Msg[]) => client.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 1000, messages });
  const use = (id: string): Anthropic.ToolUseBlockParam => ({ type: 'tool_use', id, name: 'bash', input: { command: 'ls' } });
  const result = (id: string): Anthropic.ToolResultBlockParam => ({ type: 'tool_result', tool_use_id: id, content: 'ok' });
  const task = user('Task: V');

  it('answers a conversation whose tool calls are each answered once in the next message', async () => {
    await expect(send([task, { role: 'assistant', content: [{ type: 'text', text: 'Looking.' }, use('t1'), use('t2')] }, { role: 'user', content: [result('t1'), result('t2')] }])).resolves.toMatchObject({ type: 'message' });
    // Consecutive messages of one role are one turn to the API.
    await expect(send([task, { role: 'assistant', content: [use('t1')] }, { role: 'user', content: [result('t1')] }, user('More.')])).resolves.toMatchObject({ type: 'message' });
  });

  it.each<[string, Msg[], RegExp]>([
    ['a tool call left unanswered', [task, { role: 'assistant', content: [use('t1')] }, user('Gates failed.')], /^400 .*messages\.1: `tool_use` ids were found without `tool_result` blocks immediately after: t1/],
    ['a tool call answered later, not in the next message', [task, { role: 'assistant', content: [use('t1')] }, user('x'), assistant('y'), { role: 'user', content: [result('t1')] }], /tool_use` ids were found without `tool_result` blocks immediately after: t1/],
    ['a result answering no call of the previous message', [task, assistant('ok'), { role: 'user', content: [result('t9')] }], /messages\.2\.content\.0: unexpected `tool_use_id` found in `tool_result` blocks: t9/],
    ['a result for a call two turns back', [task, { role: 'assistant', content: [use('t1')] }, { role: 'user', content: [result('t1')] }, assistant('a'), { role: 'user', content: [result('t1')] }], /messages\.4\.content\.0: unexpected `tool_use_id`/],
    ['a call answered twice', [task, { role: 'assistant', content: [use('t1')] }, { role: 'user', content: [result('t1'), result('t1')] }], /messages\.2\.content\.1: .*t1 has more than one/],
    ['a tool_use id used twice', [task, { role: 'assistant', content: [use('t1')] }, { role: 'user', content: [result('t1')] }, { role: 'assistant', content: [use('t1')] }, { role: 'user', content: [result('t1')] }], /messages\.3\.content\.0: `tool_use` ids must be unique/],
    ['an assistant message with no content', [task, { role: 'assistant', content: [] }, user('Gates failed.')], /messages\.1: all messages must have non-empty content/],
    ['an empty text block', [task, assistant(''), user('again')], /messages\.1\.content\.0: text content blocks must be non-empty/],
    ['a cache marker on a thinking block', [task, { role: 'assistant', content: [{ type: 'thinking', thinking: '', signature: 's', cache_control: EPHEMERAL } as unknown as Anthropic.ThinkingBlockParam, use('t1')] }, { role: 'user', content: [result('t1')] }], /messages\.1\.content\.0\.thinking\.cache_control: Extra inputs are not permitted/],
    ['a blank text block', [task, { role: 'assistant', content: [{ type: 'text', text: ' \n' }, use('t1')] }, { role: 'user', content: [result('t1')] }], /messages\.1\.content\.0: text content blocks must contain non-whitespace text/],
  ])('refuses %s with 400 invalid_request_error', async (_what, messages, message) => {
    const err = (await send(messages).catch((e: unknown) => e)) as { status?: number; message?: string; error?: { error?: { type?: string } } };
    expect(err.status).toBe(400);
    expect(err.error?.error?.type).toBe('invalid_request_error');
    expect(err.message).toMatch(message);
    expect(fake.requests.at(-1)!.usage).toBeUndefined();
  });

  it('binds a thinking block to what came before it: sent back after an earlier message changed, it is refused, unless drop_block is asked', async () => {
    fake.script('V', [{ thinking: '', tools: [{ name: 'bash', input: { command: 'ls' } }] }, { text: 'Done.' }, { text: 'Done.' }, { text: 'Done.' }]);
    const history: Msg[] = [user('Task: V'), assistant('earlier answer'), user('go on')];
    const first = await send(history);
    expect(first.content[0]).toMatchObject({ type: 'thinking', signature: expect.stringMatching(/^sig_/) });
    const toolUse = first.content.find((b) => b.type === 'tool_use') as Anthropic.ToolUseBlock;
    const next = (earlier: string, marked: boolean): Msg[] => [
      history[0]!,
      assistant(earlier),
      user('go on', marked),
      { role: 'assistant', content: first.content as Anthropic.ContentBlockParam[] },
      { role: 'user', content: [result(toolUse.id)] },
    ];
    // Unchanged (a cache marker moved, which is not part of what is bound): taken.
    await expect(send(next('earlier answer', true))).resolves.toMatchObject({ type: 'message' });
    // An earlier message shortened, as a compaction does: refused.
    const err = (await send(next('earlier [cleared]', false)).catch((e: unknown) => e)) as { status?: number; message?: string };
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/messages\.3\.content\.0: The thinking block is bound to a different conversation/);
    // The same request asking the API to drop such blocks: taken.
    await expect(
      client.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 1000, messages: next('earlier [cleared]', false), thinking: { type: 'adaptive', block_binding: { prefix_mismatch_behavior: 'drop_block' } } } as unknown as Anthropic.MessageCreateParamsNonStreaming),
    ).resolves.toMatchObject({ type: 'message' });
  });

  it('cut at max_tokens while writing a tool call, keeps the call, its input incomplete, as the API does', async () => {
    fake.script('V', [{ tools: [{ name: 'bash', input: { command: 'cat big.txt' } }], outputTokens: 5000 }]);
    const cut = await send([task]);
    expect(cut.stop_reason).toBe('max_tokens');
    expect(cut.content).toEqual([expect.objectContaining({ type: 'tool_use', name: 'bash', input: {} })]);
  });
});

describe('npm run fake-model: the fake as a server of its own', () => {
  it('answers each task its scripted replies on FAKE_MODEL_PORT, then "Done."; SIGTERM stops it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fake-model-'));
    const replies = path.join(dir, 'replies.json');
    writeFileSync(replies, JSON.stringify({ T1: [{ tools: [{ name: 'bash', input: { command: 'ls' } }], thinking: 'List first.' }] }));
    const port = await freeFixedPort();
    const server = spawn(process.execPath, ['--import', 'tsx', path.resolve(__dirname, '../../scripts/fake-model.ts'), replies], {
      env: { ...process.env, FAKE_MODEL_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [line] = (await once(server.stdout, 'data')) as [Buffer];
      expect(line.toString()).toContain(`on http://127.0.0.1:${port} (scripted tasks: T1)`);
      const client = new Anthropic({ apiKey: 'any', baseURL: `http://127.0.0.1:${port}`, maxRetries: 0 });
      const ask = () => client.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 100, messages: [user('Task: T1\n\nwork')] });
      expect((await ask()).content).toEqual([expect.objectContaining({ type: 'thinking', thinking: 'List first.' }), expect.objectContaining({ type: 'tool_use', name: 'bash', input: { command: 'ls' } })]);
      expect((await ask()).content).toEqual([expect.objectContaining({ type: 'text', text: 'Done.' })]);
    } finally {
      server.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
    expect(await once(server, 'exit')).toEqual([0, null]);
  });

  /** Runs the script and waits up to 30 s for it to exit (a server that starts does not: it is stopped, code null). */
  async function startFails(replies: unknown, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fake-model-'));
    const file = path.join(dir, 'replies.json');
    writeFileSync(file, typeof replies === 'string' ? replies : JSON.stringify(replies));
    const port = await freeFixedPort();
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(__dirname, '../../scripts/fake-model.ts'), file], {
      env: { ...process.env, FAKE_MODEL_PORT: String(port), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
    return { code, stdout, stderr };
  }

  it.each([
    // A newcomer's slip: the file then served "Done." to every agent, and the run failed NothingToCommit far from the cause.
    ['a task whose replies are an object, not a list', { 'T-1': { tools: [{ name: 'bash', input: { command: 'ls' } }] } }, 'T-1: must be a list of replies'],
    ['a reply with a misspelt field', { 'T-1': [{ tool: [{ name: 'bash', input: { command: 'ls' } }] }] }, 'T-1.0: must be { tools, text? }, { text } or { status, body? }'],
    ['a tool the agent does not have', { 'T-1': [{ tools: [{ name: 'python', input: {} }] }] }, 'T-1.0: must be { tools, text? }, { text } or { status, body? }'],
    ['a file that is not a map of tasks', '[1, 2]', 'must be a JSON object of task ids to lists of replies'],
    ['a file that is not JSON', '{"T-1": [', 'is not JSON'],
  ])('refuses %s with one stderr line naming where, and exits 1', async (_what, replies, message) => {
    const res = await startFails(replies);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain(message);
  });

  it.each(['abc', '99999', ' '])('refuses FAKE_MODEL_PORT=%j naming it, and exits 1', async (port) => {
    const res = await startFails({}, { FAKE_MODEL_PORT: port });
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`fake-model: FAKE_MODEL_PORT=${JSON.stringify(port)}: must be a port number (1-65535)\n`);
  });
});
