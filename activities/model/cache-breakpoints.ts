/**
 * Where the prompt-cache breakpoints go, so that every turn reads the previous turn's prefix.
 *
 * The API renders a request as tools -> system -> messages and caches the prefix ending at each
 * block marked `cache_control` (at most 4 per request). A later request reads the longest cached
 * prefix it repeats byte for byte, looking back at most 20 blocks from each of its breakpoints;
 * the markers themselves are not part of what is matched, so a breakpoint can move forward each
 * turn. Prefixes below the model's minimum (1,024-4,096 tokens) are simply not cached. Entries
 * live 5 minutes (refreshed on every read) or 1 hour at twice the write price.
 *
 * Our breakpoints, all on blocks whose bytes never change between compaction steps:
 *  1. the first block of the first message: the task (with tools and system prompt), read back
 *     after a step that left turns out rewrote everything later in the conversation;
 *  2. once the view is compacted, the last block of its shortened part (context-view.ts): written
 *     at the step that shortened it, and read back at the next step, which rewrites only what
 *     comes after it (without it a step rewrote the whole conversation after the task);
 *  3. the last block of the message that ended the previous request: what the previous turn
 *     wrote, found exactly even when this turn added more than 20 blocks (many tool calls); at a
 *     step, the end of the part the previous request sent unchanged (the previous step's 2);
 *  4. the last block of the last message: the rolling breakpoint the next turn reads;
 * and, while fewer than four, the last system block: tools and system prompt, the same for every
 * agent of the type. Duplicates collapse (on turn 1, 1 and 4 are the same block; on turn 2, 1 and 3).
 */
import type Anthropic from '@anthropic-ai/sdk';

export type PromptCacheMode = 'off' | '5m' | '1h';

export const MAX_BREAKPOINTS = 4;

export interface CacheablePrompt {
  system: Anthropic.TextBlockParam[];
  /** The view sent to the model; every content is a block array. */
  messages: { role: 'user' | 'assistant'; content: Anthropic.ContentBlockParam[] }[];
}

/** Where the view's compaction steps put the stable parts (context-view.ts), as indices of `messages`. */
export interface CompactedParts {
  compactedEnd?: number;
  unchangedEnd?: number;
}

/** Returns copies with `cache_control` on the breakpoint blocks; the input is not changed. */
export function withCacheBreakpoints(prompt: CacheablePrompt, mode: PromptCacheMode, parts: CompactedParts = {}): CacheablePrompt {
  const system = prompt.system.map((b) => ({ ...b }));
  const messages = prompt.messages.map((m) => ({ role: m.role, content: m.content.map((b) => ({ ...b })) }));
  if (mode === 'off') return { system, messages };
  const marker: Anthropic.CacheControlEphemeral = mode === '1h' ? { type: 'ephemeral', ttl: '1h' } : { type: 'ephemeral' };

  const last = messages.length - 1;
  const ends = new Set<number>();
  if (parts.compactedEnd !== undefined && parts.compactedEnd > 0 && parts.compactedEnd < last) ends.add(parts.compactedEnd);
  if (parts.unchangedEnd !== undefined && parts.unchangedEnd > 0 && parts.unchangedEnd < last) ends.add(parts.unchangedEnd);
  else if (last >= 2) ends.add(last - 2);
  if (last >= 0) ends.add(last);
  const targets: [message: number, block: number][] = [];
  if (messages[0]?.content.length) targets.push([0, 0]);
  for (const m of [...ends].sort((a, b) => a - b)) if (m > 0 || messages[0]!.content.length > 1) targets.push([m, lastBlock(messages[m]!)]);

  const lastSystem = system[system.length - 1];
  if (lastSystem && targets.length < MAX_BREAKPOINTS) lastSystem.cache_control = marker;
  for (const [m, b] of targets) {
    const block = messages[m]?.content[b];
    // Text, tool_result or tool_use blocks: a shortened answer has no thinking left (context-view.ts).
    if (block) (block as { cache_control?: Anthropic.CacheControlEphemeral }).cache_control = marker;
  }
  return { system, messages };
}

function lastBlock(message: { content: unknown[] }): number {
  return message.content.length - 1;
}

/** Number of blocks marked in a request (for tests and assertions). */
export function countBreakpoints(prompt: CacheablePrompt): number {
  const marked = (b: object) => 'cache_control' in b && b.cache_control != null;
  return prompt.system.filter(marked).length + prompt.messages.reduce((n, m) => n + m.content.filter(marked).length, 0);
}
