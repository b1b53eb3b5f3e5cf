/**
 * What the model is sent: a view of the transcript, computed deterministically from it.
 *
 * The transcript in Valkey keeps every message whole, for audit. The view keeps a long run under a
 * context bound: when a request would pass `compactAtTokens`, older turns are compacted until it
 * is down to `compactToTokens`:
 *  1. tool results (and long tool inputs, such as a file written) older than the newest
 *     `keepRecentTurns` turns are cut to their head and tail with a note. Every tool_use keeps its
 *     id and every tool_result its tool_use_id, so each pair stays valid;
 *  2. when that is not enough, the oldest whole turns (an assistant message and the user message
 *     answering it, so pairs leave together) are left out, and a note in the first message says
 *     how many.
 *  3. when a request would pass `limitTokens` (what the model's context window takes) even so, the
 *     window comes before keeping the newest turns whole: everything before the newest answer is
 *     shortened and, if need be, left out; and if the tool results answering that answer are still
 *     too long, each is cut in its middle, around a note, to fit (down to `compactAtTokens`, so the
 *     next turns fit as well, or to half of what the window leaves them if that is more). The cut is decided once, at the
 *     request that first sends those results, and every later request repeats it (the cache and
 *     the answer's thinking stay bound to the same bytes). If no view fits, `overLimit` says so.
 * The first message (the task) is never changed. Thinking blocks go back only in answers given
 * since the last step: the API binds each to the conversation before it, and refuses one sent
 * back after that changed.
 *
 * Compaction moves in steps, with hysteresis: the boundaries only advance when a request would
 * pass the high mark, and then far enough to reach the low mark. Between two steps every request
 * repeats the previous one byte for byte and appends to it, so the prompt cache holds; a step
 * rewrites the cache once from the first changed message on.
 *
 * The boundaries are not stored: they are recomputed by replaying the rule over every earlier
 * request point of the transcript, so the same transcript always gives the same bytes (a retried
 * turn sends exactly what the first attempt sent).
 */
import type Anthropic from '@anthropic-ai/sdk';
import { estimateMessageTokens } from './token-estimate';

export interface ConversationMessage {
  role: 'user' | 'assistant';
  content: string | Anthropic.ContentBlockParam[];
}

export interface ViewMessage {
  role: 'user' | 'assistant';
  content: Anthropic.ContentBlockParam[];
}

export interface CompactionPolicy {
  /** Compact when a request would carry more than this many estimated tokens (Infinity: never). */
  compactAtTokens: number;
  /** A compaction step brings the request down to this many estimated tokens. */
  compactToTokens: number;
  /** Estimated tokens of tools and system prompt, sent with every request. */
  fixedTokens: number;
  /** The newest turns (an assistant message and the results answering it) go whole while the request stays within `limitTokens`. */
  keepRecentTurns: number;
  /** No request may pass this many estimated tokens: the model refuses it (400). @default Infinity */
  limitTokens?: number;
}

export interface ContextView {
  messages: ViewMessage[];
  /** Messages `[1 + dropped, clearedBefore)` are sent shortened. */
  clearedBefore: number;
  /** Messages `[1, 1 + dropped)` are left out. */
  dropped: number;
  /** Estimated tokens of the whole request (fixed part included). */
  estimatedTokens: number;
  /** Even the most compact view the rule allows is above `compactAtTokens`. */
  overBound: boolean;
  /** Even the most compact view, the newest results cut to their least, is above `limitTokens`: the model would refuse it. */
  overLimit: boolean;
  /** Tool results of the newest turns cut in their middle to fit `limitTokens` (this request and earlier ones). */
  cutResults: number;
  /** Index in `messages` of the last shortened message: every request until the next step repeats the view up to it. */
  compactedEnd?: number;
  /**
   * Set when this request is a compaction step that shortened more: index in `messages` of the
   * last message the previous request sent as this one does (the previous step's shortened part).
   */
  unchangedEnd?: number;
}

export const NO_COMPACTION: CompactionPolicy = { compactAtTokens: Infinity, compactToTokens: Infinity, fixedTokens: 0, keepRecentTurns: 0 };

const EMPTY_ANSWER = '[This answer was empty.]';

/** Text longer than this is shortened in compacted messages. */
const SHORTEN_ABOVE = 800;
const KEEP_HEAD = 400;
const KEEP_TAIL = 200;

/**
 * The view of `transcript` (messages `[0, n)`, the last one a user message) for the request at `n`;
 * `fixed` keys its tools and system prompt (answers record the key of theirs).
 */
export function contextView(transcript: readonly ConversationMessage[], policy: CompactionPolicy, fixed?: string): ContextView {
  const n = transcript.length;
  const limit = policy.limitTokens ?? Infinity;
  const full = transcript.map((m, i) => normalise(m, transcript[i + 1]));
  const compact = full.map((m, i) => (i === 0 ? m : compactMessage(m)));
  let F = prefixSums(full.map(estimateMessageTokens));
  let C = prefixSums(compact.map(estimateMessageTokens));
  const first = F[1] ?? 0;
  let cutResults = 0;

  const size = (r: number, w: number, d: number): number => {
    const start = 1 + d;
    const cleared = Math.max(w, start);
    return policy.fixedTokens + first + noteTokens(d) + (C[cleared]! - C[start]!) + (F[r]! - F[cleared]!);
  };

  let w = 1;
  let d = 0;
  /** Per answer: the step (boundaries) of the request it answered. */
  const stepOf = new Map<number, string>();
  let before = { w, d };
  /** The previous request point: messages `[newest, r)` are new at request point `r` (the newest answer and what answers it). */
  let newest = 1;
  // Replay the rule at every request point: each assistant message answered one, and `n` is this one.
  for (let r = 1; r <= n; r++) {
    if (r < n && transcript[r]!.role !== 'assistant') continue;
    if (r === n) before = { w, d };
    if (size(r, w, d) > policy.compactAtTokens) {
      const wMax = Math.max(w, r - 2 * policy.keepRecentTurns);
      while (w < wMax && size(r, w, d) > policy.compactToTokens) w += 1;
      if (size(r, w, d) > policy.compactAtTokens) {
        const dMax = evenFloor(w - 1);
        while (d < dMax && size(r, w, d) > policy.compactToTokens) d += 2;
      }
    }
    if (size(r, w, d) > limit) {
      // The model refuses a request over its window: the newest turns go shortened rather than the run failing.
      while (w < newest && size(r, w, d) > policy.compactToTokens) w += 1;
      const dMax = evenFloor(w - 1);
      while (d < dMax && size(r, w, d) > limit) d += 2;
      if (size(r, w, d) > limit) {
        // Down to the compaction mark, so the next turns fit too without a step, but to no less than
        // half of what the window leaves them.
        const fixedPart = size(r, w, d) - (F[r]! - F[newest]!);
        const target = Math.min(limit, Math.max(policy.compactAtTokens, Math.floor((fixedPart + limit) / 2)));
        const cut = cutToFit(full.slice(newest, r), target - fixedPart);
        for (const [k, m] of cut.messages.entries()) {
          full[newest + k] = m;
          compact[newest + k] = compactMessage(m);
        }
        cutResults += cut.count;
        F = prefixSums(full.map(estimateMessageTokens));
        C = prefixSums(compact.map(estimateMessageTokens));
      }
    }
    newest = r;
    // An answer produced with other tools or another system prompt (a release changed them, a move
    // to a host with another workspace path) is bound to those as well.
    const recorded = r < n ? (transcript[r] as { request?: { fixed?: string } }).request?.fixed : undefined;
    if (r < n) stepOf.set(r, `${w}:${d}:${recorded !== undefined && fixed !== undefined && recorded !== fixed ? recorded : ''}`);
  }

  // Thinking is bound to what preceded it when it was produced: an answer to a request of an
  // earlier step, or of other tools or system prompt, goes without its thinking, which the API
  // refuses (400) once that part changed.
  const step = `${w}:${d}:`;
  const sent = (i: number, m: ViewMessage) => (m.role === 'assistant' && stepOf.get(i) !== step ? withoutThinking(m) : m);
  const messages: ViewMessage[] = [];
  if (n > 0) messages.push(d > 0 ? withNote(full[0]!, d) : full[0]!);
  for (let i = 1 + d; i < n; i++) messages.push(sent(i, i < w ? compact[i]! : full[i]!));
  const estimatedTokens = n > 0 ? size(n, w, d) : policy.fixedTokens;
  const clearedBefore = Math.max(w, 1 + d);
  // In `messages`, transcript message i (past the dropped ones) is at i - d.
  const compactedEnd = clearedBefore - 1 >= 1 + d ? clearedBefore - 1 - d : undefined;
  // A step that only shortened more leaves the previous step's shortened part as it was (its
  // answers lost their thinking at that step already); the ones after it change.
  const shortenedMore = before.d === d && before.w < w && before.w - 1 >= 1 + d;
  return {
    messages,
    clearedBefore,
    dropped: d,
    estimatedTokens,
    overBound: estimatedTokens > policy.compactAtTokens,
    overLimit: estimatedTokens > limit,
    cutResults,
    ...(compactedEnd !== undefined ? { compactedEnd } : {}),
    ...(shortenedMore ? { unchangedEnd: before.w - 1 - d } : {}),
  };
}

/**
 * Content as a block array, and nothing but role and content (stored metadata stays out), made a
 * message the API takes back. It sends answers it refuses in a request: an empty one (end_turn
 * with no content), a blank text block, and a tool call cut off at max_tokens, which no tool
 * result answers (its tools never ran). Those go, with a note in their place.
 */
function normalise(message: ConversationMessage, next: ConversationMessage | undefined): ViewMessage {
  const content = typeof message.content === 'string' ? [{ type: 'text' as const, text: message.content }] : message.content;
  if (message.role !== 'assistant') return { role: message.role, content };
  const answered = new Set(typeof next?.content === 'object' ? next.content.flatMap((b) => (b.type === 'tool_result' ? [b.tool_use_id] : [])) : []);
  const kept = content.filter((b) => (b.type === 'text' ? b.text.trim() !== '' : b.type !== 'tool_use' || answered.has(b.id)));
  // The API refuses an answer whose last block is thinking: one cut off at max_tokens while it
  // still thought holds nothing else, and goes back with the next feedback round.
  const lastType = kept[kept.length - 1]?.type;
  const onlyThought = lastType === 'thinking' || lastType === 'redacted_thinking';
  if (kept.length === content.length && kept.length > 0 && !onlyThought) return { role: message.role, content };
  const unrun = content.filter((b) => b.type === 'tool_use' && !answered.has(b.id)).length;
  const note = unrun > 0 ? `[${unrun} unfinished tool call(s) of this answer were cut off at the output limit and not run.]` : kept.length === 0 || onlyThought ? EMPTY_ANSWER : undefined;
  return { role: message.role, content: note ? [...kept, { type: 'text', text: note }] : kept };
}

/** The answer without its thinking blocks (an answer that was only thinking says so). */
function withoutThinking(message: ViewMessage): ViewMessage {
  const content = message.content.filter((b) => b.type !== 'thinking' && b.type !== 'redacted_thinking');
  if (content.length === message.content.length) return message;
  return { role: message.role, content: content.length > 0 ? content : [{ type: 'text', text: EMPTY_ANSWER }] };
}

function compactMessage(message: ViewMessage): ViewMessage {
  let changed = false;
  const content = message.content.map((block) => {
    const next = compactBlock(block);
    if (next !== block) changed = true;
    return next;
  });
  return changed ? { role: message.role, content } : message;
}

function compactBlock(block: Anthropic.ContentBlockParam): Anthropic.ContentBlockParam {
  if (block.type === 'tool_result') {
    if (typeof block.content === 'string') {
      const text = shorten(block.content, 'tool output');
      return text === block.content ? block : { ...block, content: text };
    }
    if (!block.content) return block;
    const compacted = block.content.map((part) =>
      part.type === 'text' ? { ...part, text: shorten(part.text, 'tool output') } : { type: 'text' as const, text: `[${part.type} output cleared from the context]` },
    );
    return { ...block, content: compacted };
  }
  if (block.type === 'tool_use' && block.input && typeof block.input === 'object') {
    const input = block.input as Record<string, unknown>;
    const long = Object.entries(input).filter(([, v]) => typeof v === 'string' && v.length > SHORTEN_ABOVE);
    if (long.length === 0) return block;
    return { ...block, input: { ...input, ...Object.fromEntries(long.map(([k, v]) => [k, shorten(v as string, 'tool input')])) } };
  }
  return block;
}

/** Head and tail of a long text around a note; short texts unchanged. */
export function shorten(text: string, what: string): string {
  if (text.length <= SHORTEN_ABOVE) return text;
  const head = text.slice(0, safeCut(text, KEEP_HEAD));
  const tail = text.slice(safeCut(text, text.length - KEEP_TAIL));
  const omitted = text.length - head.length - tail.length;
  return `${head}\n[... ${omitted} characters of this ${what} were cleared from the context to save space; the run's transcript keeps them. Run the command again if you need them.]\n${tail}`;
}

/** Moves a cut off the middle of a surrogate pair. */
function safeCut(text: string, at: number): number {
  const code = text.charCodeAt(at - 1);
  return code >= 0xd800 && code <= 0xdbff ? at - 1 : at;
}

/** Fewest characters a tool result is cut to: below this, what is left tells the model nothing. */
const MIN_CUT_CHARS = 1000;
/** About the length of the note a cut adds: a text only this much longer than what is kept stays whole. */
const CUT_NOTE_CHARS = 300;

/**
 * The messages with the text of each tool result cut in its middle to the same length, the
 * longest that brings them within `budget` estimated tokens (or to MIN_CUT_CHARS when none does).
 */
function cutToFit(messages: ViewMessage[], budget: number): { messages: ViewMessage[]; count: number } {
  const texts = messages.flatMap((m) => m.content.flatMap((b) => (b.type !== 'tool_result' ? [] : typeof b.content === 'string' ? [b.content] : (b.content ?? []).flatMap((p) => (p.type === 'text' ? [p.text] : [])))));
  const cutAll = (keep: number) => messages.map((m) => (m.role === 'user' ? cutResultsOf(m, keep) : m));
  const tokens = (keep: number) => cutAll(keep).reduce((sum, m) => sum + estimateMessageTokens(m), 0);
  let lo = MIN_CUT_CHARS;
  let hi = Math.max(lo, ...texts.map((t) => t.length));
  // The longest keep that fits: binary search, since fewer characters kept never take more tokens.
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (tokens(mid) <= budget) lo = mid;
    else hi = mid - 1;
  }
  const cut = cutAll(lo);
  return { messages: cut, count: texts.filter((t) => t.length > lo + CUT_NOTE_CHARS).length };
}

function cutResultsOf(message: ViewMessage, keep: number): ViewMessage {
  const content = message.content.map((b) => {
    if (b.type !== 'tool_result') return b;
    if (typeof b.content === 'string') return { ...b, content: cutMiddle(b.content, keep) };
    if (!b.content) return b;
    return { ...b, content: b.content.map((p) => (p.type === 'text' ? { ...p, text: cutMiddle(p.text, keep) } : p)) };
  });
  return { role: message.role, content };
}

/** The first two thirds and last third of `keep` characters around a note; shorter texts unchanged. */
function cutMiddle(text: string, keep: number): string {
  if (text.length <= keep + CUT_NOTE_CHARS) return text;
  const head = text.slice(0, safeCut(text, Math.ceil((keep * 2) / 3)));
  const tail = text.slice(safeCut(text, text.length - Math.floor(keep / 3)));
  const omitted = text.length - head.length - tail.length;
  return `${head}\n[... ${omitted} characters of this tool output were cut to fit the context window: this turn's results together were too long for it. The run's transcript keeps them. Ask for less at a time (head, tail, grep, fewer calls at once) if you need them.]\n${tail}`;
}

function dropNote(dropped: number): string {
  return `[Context note: the ${dropped / 2} oldest turn(s) of this conversation were left out to keep it within the context budget; the run's transcript keeps them.]`;
}

function noteTokens(dropped: number): number {
  return dropped > 0 ? estimateMessageTokens({ role: 'user', content: [{ type: 'text', text: dropNote(dropped) }] }) : 0;
}

/** The note goes after the task's blocks, so the task block keeps its bytes (and its cache entry). */
function withNote(first: ViewMessage, dropped: number): ViewMessage {
  return { role: first.role, content: [...first.content, { type: 'text', text: dropNote(dropped) }] };
}

function prefixSums(values: number[]): number[] {
  const sums = [0];
  for (const v of values) sums.push(sums[sums.length - 1]! + v);
  return sums;
}

function evenFloor(x: number): number {
  return x <= 0 ? 0 : x - (x % 2);
}
