/**
 * The most a turn can cost, estimated before it is sent, so a run can stop before the turn that
 * would pass its dollar budget. The rule, each part erring high:
 *  - input tokens are estimated (token-estimate.ts: one token per 3 characters);
 *  - the part repeating the previous request is priced as a cache read, but only when caching is
 *    on, the previous answer came within the cache TTL, and that part is long enough to be cached
 *    at all (4,096 tokens, the largest minimum of any model), and no more than the previous
 *    request's usage shows it cached (the estimate errs high, so an estimated 4,096 may be fewer
 *    tokens to the API, below a model's minimum); after a compaction only the tools, system prompt
 *    and task are counted as read;
 *  - everything else is priced as a cache write (above the input price), or at the input price
 *    with caching off;
 *  - output is priced at the turn's full `max_tokens`.
 */
import type { ModelPrice } from '../../domain/pricing';
import { roundUsd } from '../../domain/pricing';
import type { PromptCacheMode } from './cache-breakpoints';
import type { ViewMessage } from './context-view';
import { estimateJsonTokens, estimateMessageTokens } from './token-estimate';

/** No model caches a shorter prefix (Anthropic's minimums are 1,024 to 4,096 tokens). */
export const SURELY_CACHEABLE_TOKENS = 4096;

export interface TurnEstimateInput {
  /** The view the previous request sent; absent on the first turn. */
  previous?: readonly ViewMessage[];
  current: readonly ViewMessage[];
  /** Estimated tokens of tools and system prompt. */
  fixedTokens: number;
  maxTokens: number;
  price: ModelPrice;
  cache: PromptCacheMode;
  /** The previous answer came within the cache TTL, so what it wrote is still there. */
  cacheWarm: boolean;
  /** Tokens the previous request's usage shows in the cache (written or read); absent when unknown. */
  cachedBefore?: number;
}

export interface TurnEstimate {
  /** Estimated input tokens read from the cache. */
  cachedTokens: number;
  /** Estimated input tokens billed as written (or as plain input with caching off). */
  uncachedTokens: number;
  costUsd: number;
}

export function estimateTurn(input: TurnEstimateInput): TurnEstimate {
  const total = input.fixedTokens + input.current.reduce((sum, m) => sum + estimateMessageTokens(m), 0);
  let cachedTokens = input.cache !== 'off' && input.cacheWarm && input.previous ? repeatedPrefixTokens(input.previous, input.current, input.fixedTokens) : 0;
  if (input.cachedBefore !== undefined) cachedTokens = Math.min(cachedTokens, input.cachedBefore);
  if (cachedTokens < SURELY_CACHEABLE_TOKENS) cachedTokens = 0;
  const uncachedTokens = total - cachedTokens;
  const uncachedPrice = input.cache === 'off' ? input.price.input : input.cache === '1h' ? input.price.cacheWrite1h : input.price.cacheWrite5m;
  const perMillion = cachedTokens * input.price.cacheRead + uncachedTokens * uncachedPrice + input.maxTokens * input.price.output;
  return { cachedTokens, uncachedTokens, costUsd: roundUsd(perMillion / 1_000_000) };
}

/** Tokens of the previous request that this one repeats at a breakpoint: all of it, or (after a compaction) up to the task. */
function repeatedPrefixTokens(previous: readonly ViewMessage[], current: readonly ViewMessage[], fixedTokens: number): number {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (previous.length <= current.length && previous.every((m, i) => same(m, current[i]))) {
    return fixedTokens + previous.reduce((sum, m) => sum + estimateMessageTokens(m), 0);
  }
  const task = previous[0]?.content[0];
  return task && same(task, current[0]?.content[0]) ? fixedTokens + estimateJsonTokens(task) : fixedTokens;
}
