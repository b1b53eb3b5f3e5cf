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
 * Our four breakpoints, all on blocks whose bytes never change between compactions:
 *  1. the last system block: tools and system prompt, stable for the whole run;
 *  2. the first block of the first message: the task, read back after a compaction rewrote
 *     everything later in the conversation;
 *  3. the last block of the message that ended the previous request: what the previous turn
 *     wrote, found exactly even when this turn added more than 20 blocks (many tool calls);
 *  4. the last block of the last message: the rolling breakpoint the next turn reads.
 * Duplicates collapse (on turn 1, 2 and 4 are the same block; on turn 2, 2 and 3).
 */
import type Anthropic from '@anthropic-ai/sdk';

export type PromptCacheMode = 'off' | '5m' | '1h';

export const MAX_BREAKPOINTS = 4;

export interface CacheablePrompt {
  system: Anthropic.TextBlockParam[];
  /** The view sent to the model; every content is a block array. */
  messages: { role: 'user' | 'assistant'; content: Anthropic.ContentBlockParam[] }[];
}

/** Returns copies with `cache_control` on the breakpoint blocks; the input is not changed. */
export function withCacheBreakpoints(prompt: CacheablePrompt, mode: PromptCacheMode): CacheablePrompt {
  const system = prompt.system.map((b) => ({ ...b }));
  const messages = prompt.messages.map((m) => ({ role: m.role, content: m.content.map((b) => ({ ...b })) }));
  if (mode === 'off') return { system, messages };
  const marker: Anthropic.CacheControlEphemeral = mode === '1h' ? { type: 'ephemeral', ttl: '1h' } : { type: 'ephemeral' };

  const targets: [message: number, block: number][] = [];
  const last = messages.length - 1;
  if (messages[0]?.content.length) targets.push([0, 0]);
  if (last >= 2) targets.push([last - 2, lastBlock(messages[last - 2]!)]);
  if (last >= 0) targets.push([last, lastBlock(messages[last]!)]);

  const lastSystem = system[system.length - 1];
  if (lastSystem) lastSystem.cache_control = marker;
  for (const [m, b] of targets) {
    const block = messages[m]?.content[b];
    // Targets are user messages (the last message of a request is always one): text or tool_result blocks.
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
