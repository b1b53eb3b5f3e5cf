/**
 * What a model turn costs, in US dollars: a price table per model (USD per million tokens for
 * input, output, cache writes and cache reads) and the arithmetic over the API's usage fields.
 * Pure, so the workflow, the activities, the API and the configuration share it.
 */

/** USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  /** Writing a 5-minute cache entry (`cache_control: { type: 'ephemeral' }`). */
  cacheWrite5m: number;
  /** Writing a 1-hour cache entry (`ttl: '1h'`). */
  cacheWrite1h: number;
  /** Reading (and refreshing) a cache entry. */
  cacheRead: number;
}

export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** Cache writes at 1.25x (5 minutes) and 2x (1 hour) the input price, as Anthropic bills them. */
function price(input: number, output: number, cacheRead: number): ModelPrice {
  return { input, output, cacheWrite5m: input * 1.25, cacheWrite1h: input * 2, cacheRead };
}

/**
 * Anthropic's list prices, as published on platform.claude.com (model overview and pricing pages,
 * read 2026-11). Prices change: `MODEL_PRICES` overrides or extends this table per deployment.
 * A model id matches its own entry or the longest entry it starts with
 * (`claude-sonnet-4-5-20250929` is priced as `claude-sonnet-4-5`).
 */
export const DEFAULT_PRICES: PriceTable = {
  'claude-fable-5-1': price(10, 50, 0.25),
  'claude-opus-5-5': price(4, 20, 0.2),
  'claude-opus-5': price(5, 25, 0.5),
  'claude-opus-4-8': price(5, 25, 0.5),
  'claude-opus-4-7': price(5, 25, 0.5),
  'claude-opus-4-6': price(5, 25, 0.5),
  'claude-opus-4-5': price(5, 25, 0.5),
  'claude-sonnet-5-5': price(2, 10, 0.2),
  'claude-sonnet-5': price(2, 10, 0.2),
  'claude-sonnet-4-6': price(3, 15, 0.3),
  'claude-sonnet-4-5': price(3, 15, 0.3),
  'claude-sonnet-4': price(3, 15, 0.3),
  'claude-haiku-4-5': price(1, 5, 0.1),
};

/** The price of `model` in `table`: its own entry, else the longest entry that prefixes it. */
export function priceFor(table: PriceTable, model: string): ModelPrice | undefined {
  const exact = table[model];
  if (exact) return exact;
  const prefix = Object.keys(table)
    .filter((name) => model.startsWith(`${name}-`))
    .sort((a, b) => b.length - a.length)[0];
  return prefix ? table[prefix] : undefined;
}

/** Token counts of one model call, as the Messages API reports them. */
export interface TokenUsage {
  /** Input tokens after the last cache breakpoint (billed at the input price). */
  inputTokens: number;
  outputTokens: number;
  /** Input tokens written to the cache (all TTLs). */
  cacheCreationInputTokens: number;
  /** Of `cacheCreationInputTokens`, those written with the 1-hour TTL. */
  cacheCreation1hInputTokens?: number;
  cacheReadInputTokens: number;
}

export const ZERO_USAGE: TokenUsage = Object.freeze({ inputTokens: 0, outputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 });

/** The usage object of an API response, with the nullable cache fields made numbers. */
export function usageFromApi(usage: {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation?: { ephemeral_1h_input_tokens?: number | null } | null;
}): TokenUsage {
  const oneHour = usage.cache_creation?.ephemeral_1h_input_tokens ?? 0;
  return {
    inputTokens: usage.input_tokens,
    outputTokens: usage.output_tokens,
    cacheCreationInputTokens: usage.cache_creation_input_tokens ?? 0,
    ...(oneHour > 0 ? { cacheCreation1hInputTokens: oneHour } : {}),
    cacheReadInputTokens: usage.cache_read_input_tokens ?? 0,
  };
}

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  const oneHour = (a.cacheCreation1hInputTokens ?? 0) + (b.cacheCreation1hInputTokens ?? 0);
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheCreationInputTokens: a.cacheCreationInputTokens + b.cacheCreationInputTokens,
    ...(oneHour > 0 ? { cacheCreation1hInputTokens: oneHour } : {}),
    cacheReadInputTokens: a.cacheReadInputTokens + b.cacheReadInputTokens,
  };
}

/** All input tokens the request carried: uncached, written and read. */
export function requestTokens(usage: TokenUsage): number {
  return usage.inputTokens + usage.cacheCreationInputTokens + usage.cacheReadInputTokens;
}

/** USD of one call's usage, rounded to a millionth of a dollar. */
export function costUsd(usage: TokenUsage, p: ModelPrice): number {
  const oneHour = Math.min(usage.cacheCreation1hInputTokens ?? 0, usage.cacheCreationInputTokens);
  const perMillion =
    usage.inputTokens * p.input +
    usage.outputTokens * p.output +
    (usage.cacheCreationInputTokens - oneHour) * p.cacheWrite5m +
    oneHour * p.cacheWrite1h +
    usage.cacheReadInputTokens * p.cacheRead;
  return roundUsd(perMillion / 1_000_000);
}

/** Sums of dollar amounts stay exact to the micro-dollar (no float drift in long runs). */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1_000_000) / 1_000_000;
}

export function addUsd(a: number, b: number): number {
  return roundUsd(a + b);
}

/** `$0.0123` style, for details and messages. */
export function formatUsd(usd: number): string {
  return `$${usd < 1 ? usd.toFixed(4) : usd.toFixed(2)}`;
}
