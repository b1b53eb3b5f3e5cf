/**
 * A scripted fake of the Anthropic Messages API: `POST /v1/messages` answers with the next
 * scripted reply for the agent (found by the task id in the first user message), and every
 * request is recorded so tests can assert what the model saw. The real SDK talks to it.
 *
 * It bills like the API, so tests and `npm run bench:tokens` can measure caching and compaction:
 *  - tokens: one per 4 characters of each block's JSON (an approximate tokenizer; the service's
 *    own estimate uses 3, so it errs high), plus the fixed prompt the API adds for tool use
 *    (346 tokens) and for each Anthropic-defined tool (bash 245, text editor 700);
 *  - the prompt cache: the request is rendered as tools -> system -> messages, one hash per
 *    block prefix with `cache_control` stripped (markers are not part of what is matched). Each
 *    breakpoint (at most 4, else 400) looks back up to 20 blocks for a prefix an earlier request
 *    wrote; the longest hit is read (`cache_read_input_tokens`), the rest up to the last
 *    breakpoint is written (`cache_creation_input_tokens`) when that prefix reaches the model's
 *    minimum (1,024 tokens by default), the rest is `input_tokens`. Entries live 5 minutes (or
 *    1 hour), refreshed on every read;
 *  - from the second request of an agent on, whether the request repeats the previous request's
 *    prefix up to its last breakpoint byte for byte (`prefixCheck`);
 *  - `max_tokens`: a scripted answer longer than it stops with `max_tokens` (a tool call cut off
 *    stays in the answer, incomplete, as the API leaves it); a request over the context window,
 *    or whose input and `max_tokens` together are (a hard limit for the models that think), is
 *    refused with 400, as the API does;
 *  - the conversation is checked as the API checks it (`conversationError`), and one it would
 *    refuse is answered 400 invalid_request_error: every tool_use answered by a tool_result in the
 *    next message and every tool_result answering one in the previous message, tool_use ids
 *    unique, no empty message and no empty or blank text block. Consecutive messages of one role
 *    count as one turn, as the API merges them;
 *  - preserved thinking, as the API checks it on the models that bind their thinking (Sonnet 5.5,
 *    Opus 5.5, Fable 5.1 and later): a reply scripted with `thinking` opens with a thinking block
 *    whose signature binds it to the request's prefix (system, tools, messages; cache markers and
 *    thinking blocks aside). A thinking block sent back after anything before it changed is
 *    refused with 400, the default for accounts created since 2026-08-31, unless the request
 *    asks for `thinking.block_binding.prefix_mismatch_behavior: "drop_block"`.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ToolCall {
  name: 'bash' | 'str_replace_based_edit_tool';
  input: Record<string, unknown>;
}

/**
 * One scripted answer: tool calls (stop_reason tool_use), or final text (end_turn), or an HTTP
 * error. `outputTokens` bills that many output tokens instead of the answer's own size.
 */
export type ScriptedReply =
  | { tools: ToolCall[]; text?: string; thinking?: string; delayMs?: number; outputTokens?: number }
  | { text: string; thinking?: string; delayMs?: number; outputTokens?: number }
  | { status: number; body?: unknown; headers?: Record<string, string> };

export interface FakeUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

export interface PrefixCheck {
  /** Blocks of the previous request up to and including its last breakpoint. */
  comparedBlocks: number;
  identical: boolean;
  /** Index of the first block that differs (when not identical). */
  firstDifference?: number;
  /** Tokens of the blocks before the first difference: the most a breakpoint could have read back (when not identical). */
  unchangedTokens?: number;
}

export interface RecordedRequest {
  key: string;
  body: {
    model: string;
    system?: unknown;
    tools?: { name: string; type?: string }[];
    messages: { role: string; content: unknown }[];
    max_tokens: number;
    cache_control?: unknown;
  };
  headers: http.IncomingHttpHeaders;
  /** All input tokens of the request (uncached, written and read); absent when it was refused. */
  requestTokens?: number;
  /** Block indices (tools, system, message blocks) that carried `cache_control`. */
  breakpoints?: number[];
  usage?: FakeUsage;
  /** Against the previous request of the same agent; absent on its first request. */
  prefixCheck?: PrefixCheck;
}

export interface FakeModelOptions {
  /** Shortest prefix the cache stores. @default 1024 */
  minCacheableTokens?: number;
  /** Largest request accepted. @default 1_000_000 */
  contextWindowTokens?: number;
}

export interface FakeAccount {
  requests: number;
  inputTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
  outputTokens: number;
  /** Largest request (all input tokens) received. */
  peakRequestTokens: number;
}

const CHARS_PER_TOKEN = 4;
const LOOKBACK_BLOCKS = 20;
const MAX_BREAKPOINTS = 4;
const TOOL_USE_SYSTEM_PROMPT_TOKENS = 346;
const BUILT_IN_TOOL_TOKENS: Record<string, number> = { bash: 245, text_editor: 700 };
const TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;

interface RenderedBlock {
  /** The block's JSON without `cache_control`, with its role and whether it opens a message. */
  json: string;
  tokens: number;
  ttl?: '5m' | '1h';
}

export class FakeModelServer {
  private server?: http.Server;
  private scripts = new Map<string, ScriptedReply[]>();
  private served = new Map<string, number>();
  private readonly byTurn = new Set<string>();
  readonly requests: RecordedRequest[] = [];
  private idCounter = 0;
  private readonly cache = new Map<string, number>();
  /** Per agent: the block JSONs of its previous request up to its last breakpoint. */
  private readonly lastPrefix = new Map<string, string[]>();
  private readonly minCacheable: number;
  private readonly contextWindow: number;

  constructor(options: FakeModelOptions = {}) {
    this.minCacheable = options.minCacheableTokens ?? 1024;
    this.contextWindow = options.contextWindowTokens ?? 1_000_000;
  }

  /**
   * Scripts the replies for the agent whose first message names `key` (the task id). `byTurn`:
   * each reply answers the conversation with as many assistant messages before it, so a call asked
   * again (its first attempt died with its host) gets the same reply, not the next one.
   */
  script(key: string, replies: ScriptedReply[], options: { byTurn?: boolean } = {}): void {
    this.scripts.set(key, replies);
    this.served.set(key, 0);
    if (options.byTurn) this.byTurn.add(key);
    else this.byTurn.delete(key);
  }

  requestsFor(key: string): RecordedRequest[] {
    return this.requests.filter((r) => r.key === key);
  }

  /** What the agent was billed for, summed over its answered requests. */
  accountFor(key: string): FakeAccount {
    const account: FakeAccount = { requests: 0, inputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0, outputTokens: 0, peakRequestTokens: 0 };
    for (const r of this.requestsFor(key)) {
      if (!r.usage) continue;
      account.requests += 1;
      account.inputTokens += r.usage.input_tokens;
      account.cacheCreationInputTokens += r.usage.cache_creation_input_tokens;
      account.cacheReadInputTokens += r.usage.cache_read_input_tokens;
      account.outputTokens += r.usage.output_tokens;
      account.peakRequestTokens = Math.max(account.peakRequestTokens, r.requestTokens ?? 0);
    }
    return account;
  }

  /** Listens on 127.0.0.1:`port` (any free port by default) and answers its URL. */
  async start(port = 0): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', resolve);
    });
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || !req.url?.startsWith('/v1/messages')) {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RecordedRequest['body'];
    const key = this.keyOf(body);
    const recorded: RecordedRequest = { key, body, headers: req.headers };
    this.requests.push(recorded);
    const script = this.scripts.get(key);
    const served = this.served.get(key) ?? 0;
    this.served.set(key, served + 1);
    const index = this.byTurn.has(key) ? body.messages.filter((m) => m.role === 'assistant').length : served;
    const reply: ScriptedReply = script?.[index] ?? { text: 'Done.' };
    if ('delayMs' in reply && reply.delayMs) {
      // Stop waiting (and let the process exit) as soon as the client hangs up.
      let timer: NodeJS.Timeout | undefined;
      const closed = new Promise<void>((r) => req.socket.once('close', () => r()));
      await Promise.race([new Promise((r) => (timer = setTimeout(r, reply.delayMs))), closed]);
      clearTimeout(timer);
      if (req.socket.destroyed) return;
    }
    if ('status' in reply) {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify(reply.body ?? { type: 'error', error: { type: 'api_error', message: 'scripted failure' } }));
      return;
    }

    const invalid = conversationError(body.messages) ?? thinkingBindingError(body);
    if (invalid) return invalidRequest(res, invalid);
    const blocks = render(body);
    const breakpoints = blocks.flatMap((b, i) => (b.ttl ? [i] : []));
    const requestTokens = blocks.reduce((sum, b) => sum + b.tokens, 0);
    if (breakpoints.length > MAX_BREAKPOINTS) {
      return invalidRequest(res, `A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${breakpoints.length}.`);
    }
    if (requestTokens > this.contextWindow) {
      return invalidRequest(res, `prompt is too long: ${requestTokens} tokens > ${this.contextWindow} maximum`);
    }
    // The models that think take max_tokens as a hard limit: the prompt and all it may write must fit.
    if (requestTokens + body.max_tokens > this.contextWindow) {
      return invalidRequest(res, `input length and \`max_tokens\` exceed context limit: ${requestTokens} + ${body.max_tokens} > ${this.contextWindow}, decrease input length or \`max_tokens\` and try again`);
    }
    recorded.requestTokens = requestTokens;
    recorded.breakpoints = breakpoints;
    recorded.prefixCheck = this.checkPrefix(key, blocks, breakpoints);
    const cached = this.bill(body.model, blocks, breakpoints);

    let content: unknown[] = [];
    if ('thinking' in reply && reply.thinking !== undefined) content.push({ type: 'thinking', thinking: reply.thinking, signature: bindingSignature(body, body.messages.length) });
    if (reply.text) content.push({ type: 'text', text: reply.text });
    const toolCalls = 'tools' in reply ? reply.tools : [];
    for (const t of toolCalls) content.push({ type: 'tool_use', id: `toolu_${++this.idCounter}`, name: t.name, input: t.input });
    let stopReason = toolCalls.length ? 'tool_use' : 'end_turn';
    let outputTokens = reply.outputTokens ?? Math.ceil(JSON.stringify(content).length / CHARS_PER_TOKEN);
    if (outputTokens > body.max_tokens) {
      // Thinking comes first and counts toward max_tokens: what it leaves is all the answer gets.
      const thinking = content.find((b) => (b as { type: string }).type === 'thinking') as { thinking: string } | undefined;
      const left = body.max_tokens - (thinking ? Math.ceil(thinking.thinking.length / CHARS_PER_TOKEN) : 0);
      // Cut while writing: the text so far, and the tool call it was writing, its input incomplete
      // (the API's own words: a truncated response may hold an incomplete tool use block).
      const cutText = (reply.text ?? '').slice(0, Math.max(0, left) * CHARS_PER_TOKEN);
      const writing = content.find((b) => (b as { type: string }).type === 'tool_use') as Record<string, unknown> | undefined;
      if (thinking && left <= 0) content = [{ ...thinking, thinking: thinking.thinking.slice(0, body.max_tokens * CHARS_PER_TOKEN) }]; // cut while thinking
      else content = [...(thinking ? [thinking] : []), ...(cutText || !writing ? [{ type: 'text', text: cutText || '...' }] : []), ...(writing ? [{ ...writing, input: {} }] : [])];
      stopReason = 'max_tokens';
      outputTokens = body.max_tokens;
    }
    recorded.usage = {
      input_tokens: requestTokens - cached.read - cached.written5m - cached.written1h,
      output_tokens: outputTokens,
      cache_creation_input_tokens: cached.written5m + cached.written1h,
      cache_read_input_tokens: cached.read,
      cache_creation: { ephemeral_5m_input_tokens: cached.written5m, ephemeral_1h_input_tokens: cached.written1h },
    };
    res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_${this.idCounter}` });
    res.end(
      JSON.stringify({
        id: `msg_${++this.idCounter}`,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content,
        stop_reason: stopReason,
        stop_sequence: null,
        usage: recorded.usage,
      }),
    );
  }

  /** Reads the longest cached prefix within the lookback of a breakpoint, writes up to the last breakpoint. */
  private bill(model: string, blocks: RenderedBlock[], breakpoints: number[]): { read: number; written5m: number; written1h: number } {
    const now = Date.now();
    const hashes: string[] = [];
    const cumulative: number[] = [];
    let hash = createHash('sha256').update(model).digest('hex');
    let tokens = 0;
    for (const b of blocks) {
      hash = createHash('sha256').update(hash).update('\u0000').update(b.json).digest('hex');
      hashes.push(hash);
      tokens += b.tokens;
      cumulative.push(tokens);
    }
    const live = (i: number) => (this.cache.get(hashes[i]!) ?? 0) > now;

    let hit = -1;
    for (const bp of breakpoints) {
      for (let i = bp; i >= Math.max(0, bp - LOOKBACK_BLOCKS + 1); i--) {
        if (live(i)) {
          hit = Math.max(hit, i);
          break;
        }
      }
    }
    const read = hit >= 0 ? cumulative[hit]! : 0;
    if (hit >= 0) this.cache.set(hashes[hit]!, now + TTL_MS[blocks[hit]!.ttl ?? '5m']);

    let written5m = 0;
    let written1h = 0;
    let from = read;
    for (const bp of breakpoints) {
      if (bp <= hit || cumulative[bp]! < this.minCacheable) continue;
      const ttl = blocks[bp]!.ttl!;
      this.cache.set(hashes[bp]!, now + TTL_MS[ttl]);
      if (ttl === '1h') written1h += cumulative[bp]! - from;
      else written5m += cumulative[bp]! - from;
      from = cumulative[bp]!;
    }
    return { read, written5m, written1h };
  }

  private checkPrefix(key: string, blocks: RenderedBlock[], breakpoints: number[]): PrefixCheck | undefined {
    const previous = this.lastPrefix.get(key);
    const last = breakpoints[breakpoints.length - 1];
    this.lastPrefix.set(key, last === undefined ? [] : blocks.slice(0, last + 1).map((b) => b.json));
    if (!previous) return undefined;
    const firstDifference = previous.findIndex((json, i) => blocks[i]?.json !== json);
    if (firstDifference < 0) return { comparedBlocks: previous.length, identical: true };
    const unchangedTokens = blocks.slice(0, firstDifference).reduce((sum, b) => sum + b.tokens, 0);
    return { comparedBlocks: previous.length, identical: false, firstDifference, unchangedTokens };
  }

  private keyOf(body: RecordedRequest['body']): string {
    const first = body.messages[0]?.content;
    const text = typeof first === 'string' ? first : ((first as { text?: string }[] | undefined) ?? []).map((b) => b.text ?? '').join('\n');
    return /Task: (\S+)/.exec(text)?.[1] ?? 'unknown';
  }
}

/** The request as the API renders it: tools, then system, then each message's blocks. */
function render(body: RecordedRequest['body']): RenderedBlock[] {
  const blocks: RenderedBlock[] = [];
  const push = (value: Record<string, unknown>, extraTokens = 0, wrap: (stripped: unknown) => unknown = (s) => s) => {
    const { cache_control, ...stripped } = value;
    const ownJson = JSON.stringify(stripped);
    blocks.push({
      json: JSON.stringify(wrap(stripped)),
      tokens: Math.ceil(ownJson.length / CHARS_PER_TOKEN) + extraTokens,
      ttl: cache_control ? ((cache_control as { ttl?: '5m' | '1h' }).ttl ?? '5m') : undefined,
    });
  };
  (body.tools ?? []).forEach((tool, i) => {
    const builtIn = Object.entries(BUILT_IN_TOOL_TOKENS).find(([prefix]) => tool.type?.startsWith(prefix))?.[1] ?? 0;
    push(tool as unknown as Record<string, unknown>, builtIn + (i === 0 ? TOOL_USE_SYSTEM_PROMPT_TOKENS : 0), (s) => ({ tool: s }));
  });
  const system = typeof body.system === 'string' ? [{ type: 'text', text: body.system }] : ((body.system as Record<string, unknown>[] | undefined) ?? []);
  for (const block of system) push(block, 0, (s) => ({ system: s }));
  for (const message of body.messages) {
    const content = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : (message.content as Record<string, unknown>[]);
    content.forEach((block, i) => push(block, 0, (s) => ({ role: message.role, opens: i === 0, block: s })));
  }
  // Top-level cache_control (automatic caching) marks the last block.
  const last = blocks[blocks.length - 1];
  if (body.cache_control && last && !last.ttl) last.ttl = (body.cache_control as { ttl?: '5m' | '1h' }).ttl ?? '5m';
  return blocks;
}

type Block = { type?: string; text?: unknown; id?: unknown; tool_use_id?: unknown; signature?: unknown };

const withoutCacheControl = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(withoutCacheControl)
    : value && typeof value === 'object'
      ? Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'cache_control').map(([k, v]) => [k, withoutCacheControl(v)]))
      : value;

/** The signature of a thinking block answering messages `[0, upTo)`: a hash of its prefix. */
function bindingSignature(body: RecordedRequest['body'], upTo: number): string {
  const messages = body.messages.slice(0, upTo).map((m) => ({
    role: m.role,
    content: typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : (m.content as Block[]).filter((b) => b.type !== 'thinking' && b.type !== 'redacted_thinking'),
  }));
  const prefix = JSON.stringify(withoutCacheControl({ system: body.system ?? null, tools: body.tools ?? null, messages }));
  return `sig_${createHash('sha256').update(prefix).digest('base64url')}`;
}

/** A thinking block sent back whose prefix is no longer the one it was produced after (400 unless drop_block is asked). */
function thinkingBindingError(body: RecordedRequest['body']): string | undefined {
  const behavior = (body as { thinking?: { block_binding?: { prefix_mismatch_behavior?: string } } }).thinking?.block_binding?.prefix_mismatch_behavior;
  if (behavior === 'drop_block') return undefined;
  for (const [i, message] of body.messages.entries()) {
    if (message.role !== 'assistant' || typeof message.content === 'string') continue;
    for (const [j, block] of (message.content as Block[]).entries()) {
      if (block.type !== 'thinking') continue;
      if (block.signature !== bindingSignature(body, i)) {
        return `messages.${i}.content.${j}: The thinking block is bound to a different conversation: the system prompt, tools or messages before it changed since it was produced. Send them unchanged, or set thinking.block_binding.prefix_mismatch_behavior to "drop_block".`;
      }
    }
  }
  return undefined;
}

/**
 * Why the Messages API would refuse this conversation (its 400 messages), or undefined. The API
 * merges consecutive messages of one role into one turn, so the pairing rules hold between turns.
 */
export function conversationError(messages: RecordedRequest['body']['messages']): string | undefined {
  if (!Array.isArray(messages) || messages.length === 0) return 'messages: at least one message is required';
  const turns: { role: string; first: number; blocks: { block: Block; at: string }[] }[] = [];
  for (const [i, message] of messages.entries()) {
    const content: Block[] = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : (message.content as Block[]);
    const isFinalAssistant = i === messages.length - 1 && message.role === 'assistant';
    if (content.length === 0 && !isFinalAssistant) return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    const lastType = content[content.length - 1]?.type;
    if (message.role === 'assistant' && !isFinalAssistant && (lastType === 'thinking' || lastType === 'redacted_thinking')) return `messages.${i}: The final block in an assistant message cannot be \`thinking\`.`;
    for (const [j, block] of content.entries()) {
      if ((block.type === 'thinking' || block.type === 'redacted_thinking') && 'cache_control' in block) return `messages.${i}.content.${j}.${block.type}.cache_control: Extra inputs are not permitted`;
      if (block.type !== 'text') continue;
      if (typeof block.text !== 'string' || block.text === '') return `messages.${i}.content.${j}: text content blocks must be non-empty`;
      if (!block.text.trim() && !isFinalAssistant) return `messages.${i}.content.${j}: text content blocks must contain non-whitespace text`;
    }
    const previous = turns[turns.length - 1];
    const blocks = content.map((block, j) => ({ block, at: `messages.${i}.content.${j}` }));
    if (previous?.role === message.role) previous.blocks.push(...blocks);
    else turns.push({ role: message.role, first: i, blocks });
  }
  const seen = new Set<unknown>();
  for (const [t, turn] of turns.entries()) {
    const uses = turn.blocks.filter((b) => b.block.type === 'tool_use');
    for (const use of uses) {
      if (seen.has(use.block.id)) return `${use.at}: \`tool_use\` ids must be unique`;
      seen.add(use.block.id);
    }
    const next = turns[t + 1];
    const answered = next?.role === 'user' ? next.blocks.filter((b) => b.block.type === 'tool_result').map((b) => b.block.tool_use_id) : [];
    const unanswered = turn.role === 'assistant' ? uses.filter((u) => !answered.includes(u.block.id)).map((u) => String(u.block.id)) : [];
    if (unanswered.length > 0) {
      return `messages.${turn.first}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${unanswered.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
    }
    if (turn.role !== 'user') continue;
    const asked = t > 0 ? turns[t - 1]!.blocks.filter((b) => b.block.type === 'tool_use').map((b) => b.block.id) : [];
    const answeredHere = new Set<unknown>();
    for (const result of turn.blocks.filter((b) => b.block.type === 'tool_result')) {
      const id = result.block.tool_use_id;
      if (!asked.includes(id)) {
        return `${result.at}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
      }
      if (answeredHere.has(id)) return `${result.at}: each \`tool_use\` block must have a single \`tool_result\` block: ${String(id)} has more than one`;
      answeredHere.add(id);
    }
  }
  return undefined;
}

function invalidRequest(res: http.ServerResponse, message: string): void {
  res.writeHead(400, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message } }));
}
