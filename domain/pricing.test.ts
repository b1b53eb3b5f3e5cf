import { addUsage, addUsd, costUsd, DEFAULT_PRICES, formatUsd, priceFor, requestTokens, usageFromApi, type ModelPrice } from './pricing';

const sonnet: ModelPrice = { input: 3, output: 15, cacheWrite5m: 3.75, cacheWrite1h: 6, cacheRead: 0.3 };

describe('price table', () => {
  it('finds a model by its id or by the longest entry its dated id starts with', () => {
    expect(priceFor(DEFAULT_PRICES, 'claude-sonnet-4-5')).toEqual(DEFAULT_PRICES['claude-sonnet-4-5']);
    expect(priceFor(DEFAULT_PRICES, 'claude-sonnet-4-5-20250929')).toEqual(DEFAULT_PRICES['claude-sonnet-4-5']);
    // claude-sonnet-4 also prefixes it; the longer entry wins.
    expect(priceFor({ 'claude-sonnet-4': sonnet, 'claude-sonnet-4-5': { ...sonnet, input: 9 } }, 'claude-sonnet-4-5-20250929')?.input).toBe(9);
    expect(priceFor(DEFAULT_PRICES, 'gpt-4o')).toBeUndefined();
    // A prefix must end at a dash: claude-sonnet-5 does not price claude-sonnet-50.
    expect(priceFor({ 'claude-sonnet-5': sonnet }, 'claude-sonnet-50')).toBeUndefined();
  });

  it('prices the default model and bills cache writes above and reads below the input price', () => {
    const p = priceFor(DEFAULT_PRICES, 'claude-sonnet-5-5')!;
    expect(p).toEqual({ input: 2, output: 10, cacheWrite5m: 2.5, cacheWrite1h: 4, cacheRead: 0.2 });
    for (const [model, price] of Object.entries(DEFAULT_PRICES)) {
      expect([model, price.cacheWrite5m > price.input, price.cacheRead < price.input]).toEqual([model, true, true]);
    }
  });
});

describe('cost of a turn', () => {
  it('bills each kind of token at its own price', () => {
    const usage = { inputTokens: 1_000_000, outputTokens: 100_000, cacheCreationInputTokens: 200_000, cacheReadInputTokens: 2_000_000 };
    // 3 + 1.5 + 0.75 + 0.6
    expect(costUsd(usage, sonnet)).toBe(5.85);
  });

  it('bills 1-hour cache writes at their own price', () => {
    const usage = { inputTokens: 0, outputTokens: 0, cacheCreationInputTokens: 1_000_000, cacheCreation1hInputTokens: 400_000, cacheReadInputTokens: 0 };
    expect(costUsd(usage, sonnet)).toBe(0.6 * 3.75 + 0.4 * 6);
  });

  it('reads the API usage object, whose cache fields may be null', () => {
    expect(usageFromApi({ input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: null, cache_read_input_tokens: null })).toEqual({
      inputTokens: 10,
      outputTokens: 5,
      cacheCreationInputTokens: 0,
      cacheReadInputTokens: 0,
    });
    const u = usageFromApi({ input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 30, cache_read_input_tokens: 40, cache_creation: { ephemeral_1h_input_tokens: 30 } });
    expect(u).toEqual({ inputTokens: 10, outputTokens: 5, cacheCreationInputTokens: 30, cacheCreation1hInputTokens: 30, cacheReadInputTokens: 40 });
    expect(requestTokens(u)).toBe(80);
  });

  it('sums usage and dollars without float drift', () => {
    const a = { inputTokens: 1, outputTokens: 2, cacheCreationInputTokens: 3, cacheReadInputTokens: 4 };
    expect(addUsage(a, a)).toEqual({ inputTokens: 2, outputTokens: 4, cacheCreationInputTokens: 6, cacheReadInputTokens: 8 });
    let total = 0;
    for (let i = 0; i < 1000; i++) total = addUsd(total, 0.000123);
    expect(total).toBe(0.123);
    expect(formatUsd(0.0123)).toBe('$0.0123');
    expect(formatUsd(12.3)).toBe('$12.30');
  });
});
