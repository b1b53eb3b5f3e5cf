import type Anthropic from '@anthropic-ai/sdk';
import { countBreakpoints, MAX_BREAKPOINTS, withCacheBreakpoints, type CacheablePrompt } from './cache-breakpoints';

const text = (t: string): Anthropic.TextBlockParam => ({ type: 'text', text: t });
const toolUse = (id: string): Anthropic.ToolUseBlockParam => ({ type: 'tool_use', id, name: 'bash', input: { command: 'ls' } });
const toolResult = (id: string): Anthropic.ToolResultBlockParam => ({ type: 'tool_result', tool_use_id: id, content: 'out' });

/** A conversation of `turns` tool turns: task, then (assistant tool_use, user tool_result) pairs. */
function prompt(turns: number, callsPerTurn = 1): CacheablePrompt {
  const messages: CacheablePrompt['messages'] = [{ role: 'user', content: [text('the task')] }];
  for (let t = 0; t < turns; t++) {
    const ids = Array.from({ length: callsPerTurn }, (_, i) => `t${t}_${i}`);
    messages.push({ role: 'assistant', content: ids.map(toolUse) });
    messages.push({ role: 'user', content: ids.map(toolResult) });
  }
  return { system: [text('system prompt')], messages };
}

const marked = (b: object) => 'cache_control' in b && b.cache_control != null;
/** [message, block] of every marked message block. */
function positions(p: CacheablePrompt): [number, number][] {
  return p.messages.flatMap((m, i) => m.content.flatMap((b, j) => (marked(b) ? [[i, j] as [number, number]] : [])));
}

describe('cache breakpoints', () => {
  it('marks nothing when caching is off', () => {
    expect(countBreakpoints(withCacheBreakpoints(prompt(3), 'off'))).toBe(0);
  });

  it('turn 1: the system prompt and the task', () => {
    const p = withCacheBreakpoints(prompt(0), '5m');
    expect(p.system[0]!.cache_control).toEqual({ type: 'ephemeral' });
    expect(positions(p)).toEqual([[0, 0]]);
  });

  it('turn 2: the task is also where the previous request ended', () => {
    expect(positions(withCacheBreakpoints(prompt(1), '5m'))).toEqual([
      [0, 0],
      [2, 0],
    ]);
  });

  it('later turns: system, task, the end of the previous request and the end of this one, never more than 4', () => {
    for (const turns of [2, 5, 30]) {
      const p = withCacheBreakpoints(prompt(turns, 3), '5m');
      const last = p.messages.length - 1;
      expect(positions(p)).toEqual([
        [0, 0],
        [last - 2, 2],
        [last, 2],
      ]);
      expect(countBreakpoints(p)).toBe(MAX_BREAKPOINTS);
    }
  });

  it('the previous request ended where this one has its third breakpoint, even after a turn of 12 tool calls (more than the 20-block lookback)', () => {
    const before = prompt(4);
    const after = prompt(5, 1);
    after.messages.splice(-2, 2, { role: 'assistant', content: Array.from({ length: 12 }, (_, i) => toolUse(`x${i}`)) }, {
      role: 'user',
      content: Array.from({ length: 12 }, (_, i) => toolResult(`x${i}`)),
    });
    const prev = withCacheBreakpoints(before, '5m');
    const next = withCacheBreakpoints(after, '5m');
    const prevEnd = positions(prev).at(-1)!;
    expect(positions(next)).toContainEqual(prevEnd);
  });

  it('once compacted: the task, the end of the shortened part, the end of the previous request and of this one (the system prompt gives way)', () => {
    const p = withCacheBreakpoints(prompt(10), '5m', { compactedEnd: 8 });
    const last = p.messages.length - 1;
    expect(positions(p)).toEqual([
      [0, 0],
      [8, 0],
      [last - 2, 0],
      [last, 0],
    ]);
    expect(p.system[0]!.cache_control).toBeUndefined();
  });

  it('at a step: the end of the part the previous request sent unchanged instead of its end, which the step changed', () => {
    const p = withCacheBreakpoints(prompt(10), '5m', { compactedEnd: 12, unchangedEnd: 8 });
    expect(positions(p)).toEqual([
      [0, 0],
      [8, 0],
      [12, 0],
      [20, 0],
    ]);
    expect(countBreakpoints(p)).toBe(MAX_BREAKPOINTS);
  });

  it('uses the 1-hour TTL when asked, on every breakpoint', () => {
    const p = withCacheBreakpoints(prompt(3), '1h');
    const markers = [p.system[0]!, ...p.messages.flatMap((m) => m.content)].filter(marked).map((b) => (b as { cache_control: unknown }).cache_control);
    expect(markers).toHaveLength(4);
    for (const m of markers) expect(m).toEqual({ type: 'ephemeral', ttl: '1h' });
  });

  it('does not change its input (the transcript stays free of markers)', () => {
    const p = prompt(3);
    const before = JSON.stringify(p);
    withCacheBreakpoints(p, '5m');
    expect(JSON.stringify(p)).toBe(before);
  });
});
