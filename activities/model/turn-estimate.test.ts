import type { ModelPrice } from '../../domain/pricing';
import type { ViewMessage } from './context-view';
import { estimateMessageTokens } from './token-estimate';
import { estimateTurn, SURELY_CACHEABLE_TOKENS } from './turn-estimate';

const price: ModelPrice = { input: 2, output: 10, cacheWrite5m: 2.5, cacheWrite1h: 4, cacheRead: 0.2 };
const task: ViewMessage = { role: 'user', content: [{ type: 'text', text: `Task: T-1 ${'t'.repeat(30_000)}` }] };
const turn = (i: number): ViewMessage[] => [
  { role: 'assistant', content: [{ type: 'tool_use', id: `toolu_${i}`, name: 'bash', input: { command: 'ls' } }] },
  { role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_${i}`, content: 'x'.repeat(6000) }] },
];
const previous = [task, ...turn(1)];
const current = [...previous, ...turn(2)];
const tokens = (ms: ViewMessage[]) => ms.reduce((s, m) => s + estimateMessageTokens(m), 0);
const base = { fixedTokens: 1500, maxTokens: 1000, price, cache: '5m' as const, cacheWarm: true };

describe('turn cost estimate', () => {
  it('prices the repeated prefix as a cache read and the rest as a write, output at max_tokens', () => {
    const e = estimateTurn({ ...base, previous, current });
    expect(e.cachedTokens).toBe(1500 + tokens(previous));
    expect(e.uncachedTokens).toBe(tokens(turn(2)));
    expect(e.costUsd).toBeCloseTo((e.cachedTokens * 0.2 + e.uncachedTokens * 2.5 + 1000 * 10) / 1e6, 6);
  });

  it('prices everything as a write when the cache may have expired, and at the input price with caching off', () => {
    const cold = estimateTurn({ ...base, previous, current, cacheWarm: false });
    expect(cold.cachedTokens).toBe(0);
    expect(cold.costUsd).toBeCloseTo((cold.uncachedTokens * 2.5 + 10_000) / 1e6, 6);
    const off = estimateTurn({ ...base, previous, current, cache: 'off' });
    expect(off.costUsd).toBeCloseTo((off.uncachedTokens * 2 + 10_000) / 1e6, 6);
    expect(estimateTurn({ ...base, previous, current, cache: '1h' }).costUsd).toBeGreaterThan(estimateTurn({ ...base, previous, current }).costUsd);
  });

  it('after a compaction counts only tools, system and task as read', () => {
    const compacted = [task, turn(1)[0]!, { role: 'user' as const, content: [{ type: 'tool_result' as const, tool_use_id: 'toolu_1', content: 'short' }] }, ...turn(2)];
    expect(estimateTurn({ ...base, previous, current: compacted }).cachedTokens).toBe(1500 + tokens([task]));
  });

  it('counts nothing as read below the length every model caches', () => {
    const small: ViewMessage[] = [{ role: 'user', content: [{ type: 'text', text: 'Task: T-2' }] }];
    const e = estimateTurn({ ...base, fixedTokens: 100, previous: small, current: [...small, ...turn(1)] });
    expect(100 + tokens(small)).toBeLessThan(SURELY_CACHEABLE_TOKENS);
    expect(e.cachedTokens).toBe(0);
  });

  it('reads nothing on the first turn', () => {
    expect(estimateTurn({ ...base, current: [task] }).cachedTokens).toBe(0);
  });
});
