import type Anthropic from '@anthropic-ai/sdk';
import { conversationError } from '../../test/support/fake-model';
import { contextView, NO_COMPACTION, shorten, type CompactionPolicy, type ContextView, type ConversationMessage, type ViewMessage } from './context-view';

const OUTPUT = (turn: number) => Array.from({ length: 400 }, (_, i) => `turn ${turn} line ${i} of the build log`).join('\n'); // ~12 KB

/** A transcript of `turns` tool turns (each printing ~12 KB), ending with the user message of the last turn. */
function transcript(turns: number, output = OUTPUT): ConversationMessage[] {
  const messages: ConversationMessage[] = [{ role: 'user', content: 'Task: T-1\n\nDo the thing.' }];
  for (let t = 1; t <= turns; t++) {
    messages.push({ role: 'assistant', content: [{ type: 'text', text: `step ${t}` }, { type: 'tool_use', id: `toolu_${t}`, name: 'bash', input: { command: `make step${t}` } }] });
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_${t}`, content: output(t) }] });
  }
  return messages;
}

const policy: CompactionPolicy = { compactAtTokens: 40_000, compactToTokens: 25_000, fixedTokens: 1_500, keepRecentTurns: 2 };

/** Every tool_use is answered by a tool_result with its id in the next message, and every tool_result answers one. */
function assertPairsValid(messages: ViewMessage[]): void {
  expect(messages[0]?.role).toBe('user');
  messages.forEach((m, i) => {
    expect(m.role).toBe(i % 2 === 0 ? 'user' : 'assistant');
    const uses = m.content.filter((b): b is Anthropic.ToolUseBlockParam => b.type === 'tool_use').map((b) => b.id);
    const answered = (messages[i + 1]?.content ?? []).filter((b): b is Anthropic.ToolResultBlockParam => b.type === 'tool_result').map((b) => b.tool_use_id);
    if (m.role === 'assistant') expect(answered).toEqual(uses);
    if (m.role === 'user' && i > 0) {
      const results = m.content.filter((b): b is Anthropic.ToolResultBlockParam => b.type === 'tool_result').map((b) => b.tool_use_id);
      const asked = messages[i - 1]!.content.filter((b): b is Anthropic.ToolUseBlockParam => b.type === 'tool_use').map((b) => b.id);
      expect(results).toEqual(asked);
    }
  });
}

const json = (v: unknown) => JSON.stringify(v);

describe('context view', () => {
  it('sends the transcript as it is while it fits, with every content as blocks and nothing but role and content', () => {
    const t = transcript(2);
    (t[1] as ConversationMessage & { usage?: unknown }).usage = { input_tokens: 1 };
    const view = contextView(t, policy);
    expect(view.messages).toHaveLength(5);
    expect(view.messages[0]).toEqual({ role: 'user', content: [{ type: 'text', text: 'Task: T-1\n\nDo the thing.' }] });
    expect(json(view.messages.slice(1))).toBe(json(t.slice(1).map(({ role, content }) => ({ role, content }))));
    expect(view).toMatchObject({ clearedBefore: 1, dropped: 0, overBound: false });
  });

  it('sends answers the API would refuse back as ones it takes: no empty answer, no blank text, no tool call no result answers', () => {
    const t: ConversationMessage[] = [
      { role: 'user', content: 'Task: T-1' },
      { role: 'assistant', content: [] }, // end_turn with no content
      { role: 'user', content: 'Gates failed.' },
      { role: 'assistant', content: [{ type: 'text', text: 'Removing it.' }, { type: 'tool_use', id: 'toolu_cut', name: 'bash', input: {} }] }, // cut at max_tokens
      { role: 'user', content: 'Gates failed again.' },
      { role: 'assistant', content: [{ type: 'text', text: '\n\n' }, { type: 'tool_use', id: 'toolu_1', name: 'bash', input: { command: 'ls' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'a.txt' }] },
    ];
    const view = contextView(t, policy);
    expect(view.messages.map((m) => m.content)).toEqual([
      [{ type: 'text', text: 'Task: T-1' }],
      [{ type: 'text', text: '[This answer was empty.]' }],
      [{ type: 'text', text: 'Gates failed.' }],
      [{ type: 'text', text: 'Removing it.' }, { type: 'text', text: '[1 unfinished tool call(s) of this answer were cut off at the output limit and not run.]' }],
      [{ type: 'text', text: 'Gates failed again.' }],
      [{ type: 'tool_use', id: 'toolu_1', name: 'bash', input: { command: 'ls' } }],
      [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'a.txt' }],
    ]);
    assertPairsValid(view.messages);
    // The same bytes for every later request: the prompt cache still holds.
    const later = [...t, { role: 'assistant' as const, content: [{ type: 'text' as const, text: 'Done.' }] }, { role: 'user' as const, content: 'More.' }];
    expect(json(contextView(later, policy).messages.slice(0, 7))).toBe(json(view.messages));
  });

  it('sends an answer cut off at max_tokens while it was still thinking back with text after its thinking: the API refuses an answer ending in thinking', () => {
    const t: ConversationMessage[] = [
      { role: 'user', content: 'Task: T-1' },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'Planning the whole change...', signature: 's1' }] }, // max_tokens, only thinking
      { role: 'user', content: 'Gates failed.' },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'Still planning.', signature: 's3' }, { type: 'text', text: ' ' }] }, // blank text after it
      { role: 'user', content: 'Gates failed again.' },
    ];
    const view = contextView(t, policy);
    expect(conversationError(view.messages)).toBeUndefined();
    // Its thinking still goes back first, as produced.
    expect(view.messages[1]!.content[0]).toEqual({ type: 'thinking', thinking: 'Planning the whole change...', signature: 's1' });
  });

  it('sends thinking back only with the conversation before it as it was when it was produced, and keeps it between steps', () => {
    // Every answer opens with a thinking block (as Sonnet 5.5's do); the API refuses one whose prefix changed.
    const thinking = (turns: number): ConversationMessage[] =>
      transcript(turns).map((m, i) => (m.role === 'assistant' ? { ...m, content: [{ type: 'thinking', thinking: `t${i}`, signature: `s${i}` }, ...(m.content as Anthropic.ContentBlockParam[])] } : m));
    let kept = 0;
    let steps = 0;
    let previous: ViewMessage[] | undefined;
    for (let turns = 1; turns <= 40; turns++) {
      const t = thinking(turns);
      const view = contextView(t, policy);
      assertPairsValid(view.messages);
      view.messages.forEach((m, at) => {
        if (!m.content.some((b) => b.type === 'thinking')) return;
        kept += 1;
        // The message's transcript index, and the request that produced it: the same messages before it.
        const index = at + view.dropped;
        expect([turns, index, json(view.messages.slice(0, at))]).toEqual([turns, index, json(contextView(t.slice(0, index), policy).messages)]);
      });
      if (previous && json(view.messages.slice(0, previous.length)) !== json(previous)) steps += 1;
      previous = view.messages;
    }
    expect(steps).toBeGreaterThanOrEqual(3);
    // Between steps the answers keep their thinking (not all of it dropped for good).
    expect(kept).toBeGreaterThan(40);
  });

  it('never compacts with compaction off', () => {
    const view = contextView(transcript(60), NO_COMPACTION);
    expect(view.messages).toHaveLength(121);
    expect(view.clearedBefore).toBe(1);
  });

  it('keeps every request of a 60-turn run under the bound, with valid tool pairs and the newest turns whole', () => {
    for (let turns = 1; turns <= 60; turns++) {
      const t = transcript(turns);
      const view = contextView(t, policy);
      expect(view.overBound).toBe(false);
      expect(view.estimatedTokens).toBeLessThanOrEqual(policy.compactAtTokens);
      assertPairsValid(view.messages);
      // The last two turns (four messages) are sent exactly as stored.
      const recent = Math.min(4, 2 * turns);
      expect(json(view.messages.slice(-recent)) === json(t.slice(-recent))).toBe(true);
      expect(view.messages[0]!.content[0]).toEqual({ type: 'text', text: 'Task: T-1\n\nDo the thing.' });
    }
  });

  it('does not touch the transcript it is given', () => {
    const t = transcript(40);
    const before = json(t);
    contextView(t, policy);
    expect(json(t)).toBe(before);
  });

  it('gives the same bytes for the same transcript (a retried turn sends what the first attempt sent)', () => {
    expect(json(contextView(transcript(33), policy))).toBe(json(contextView(transcript(33), policy)));
  });

  it('compacts in steps: between steps each request repeats the previous one and appends to it', () => {
    let previous: ViewMessage[] | undefined;
    let steps = 0;
    for (let turns = 1; turns <= 60; turns++) {
      const view = contextView(transcript(turns), policy).messages;
      if (previous) {
        const extends_ = json(view.slice(0, previous.length)) === json(previous);
        if (!extends_) steps += 1;
      }
      previous = view;
    }
    // ~4 K tokens per turn, 15 K of headroom between the marks: a step every few turns, not every turn.
    expect(steps).toBeGreaterThan(3);
    expect(steps).toBeLessThan(20);
  });

  it('tells where the shortened part ends, and at a step where the previous request stands unchanged up to', () => {
    let previous: ContextView | undefined;
    let steps = 0;
    for (let turns = 1; turns <= 40; turns++) {
      const view = contextView(transcript(turns), policy);
      if (view.compactedEnd !== undefined) {
        // The shortened part ends at the last message sent shortened.
        expect(json(view.messages[view.compactedEnd])).toContain('were cleared from the context');
        expect(json(view.messages[view.compactedEnd + 1])).not.toContain('were cleared from the context');
      }
      const step = previous !== undefined && json(view.messages.slice(0, previous.messages.length)) !== json(previous.messages);
      if (step) steps += 1;
      // Every step after the first that left no turn out says where the previous request stands unchanged up to.
      expect([turns, view.unchangedEnd !== undefined]).toEqual([turns, step && steps > 1 && view.dropped === previous!.dropped]);
      if (view.unchangedEnd !== undefined) {
        expect(view.unchangedEnd).toBe(previous!.compactedEnd);
        expect(json(view.messages.slice(0, view.unchangedEnd + 1))).toBe(json(previous!.messages.slice(0, view.unchangedEnd + 1)));
      }
      previous = view;
    }
    expect(steps).toBeGreaterThanOrEqual(3);
  });

  it('shortens old tool results to head and tail with a note, keeping ids and error flags', () => {
    const t = transcript(30);
    (t[2]!.content as Anthropic.ToolResultBlockParam[])[0]!.is_error = true;
    const view = contextView(t, policy);
    expect(view.clearedBefore).toBeGreaterThan(2);
    const first = view.messages[2]!.content[0] as Anthropic.ToolResultBlockParam;
    expect(first).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_1', is_error: true });
    expect(first.content).toContain('turn 1 line 0 of the build log');
    expect(first.content).toContain('turn 1 line 399 of the build log');
    expect(first.content).toMatch(/\[\.\.\. \d+ characters of this tool output were cleared from the context/);
    expect((first.content as string).length).toBeLessThan(1000);
  });

  it('shortens long tool inputs (a file written) in old turns', () => {
    const t = transcript(30);
    const use = (t[1]!.content as Anthropic.ContentBlockParam[])[1] as Anthropic.ToolUseBlockParam;
    use.name = 'str_replace_based_edit_tool';
    use.input = { command: 'create', path: 'big.txt', file_text: 'x'.repeat(50_000) };
    const sent = contextView(t, policy).messages[1]!.content[1] as Anthropic.ToolUseBlockParam;
    expect(sent).toMatchObject({ id: 'toolu_1', name: 'str_replace_based_edit_tool', input: { command: 'create', path: 'big.txt' } });
    expect((sent.input as { file_text: string }).file_text.length).toBeLessThan(1000);
  });

  it('leaves the oldest whole turns out, with a note after the task, when shortened turns alone pass the bound', () => {
    // Many turns with small outputs: shortening cannot help, only leaving turns out can.
    const t = transcript(400, (turn) => `ok ${turn} `.repeat(40));
    const view = contextView(t, { ...policy, compactAtTokens: 20_000, compactToTokens: 12_000 });
    expect(view.dropped).toBeGreaterThan(0);
    expect(view.dropped % 2).toBe(0);
    expect(view.overBound).toBe(false);
    assertPairsValid(view.messages);
    expect(view.messages[0]!.content[0]).toEqual({ type: 'text', text: 'Task: T-1\n\nDo the thing.' });
    expect(view.messages[0]!.content[1]).toEqual({ type: 'text', text: expect.stringContaining(`the ${view.dropped / 2} oldest turn(s)`) });
    expect(view.messages[1]).toEqual(t[1 + view.dropped]);
  });

  it('reports a view it cannot bring under the bound (the newest turns alone are too big)', () => {
    const view = contextView(transcript(3, () => 'y'.repeat(200_000)), policy);
    expect(view.overBound).toBe(true);
    assertPairsValid(view.messages);
  });

  describe('with a limit the model refuses requests over', () => {
    const limited: CompactionPolicy = { ...policy, limitTokens: 90_000 };
    /** One turn of 12 parallel calls printing 30 KB each: about 120,000 estimated tokens. */
    function wideTurn(): ConversationMessage[] {
      const t = transcript(1);
      const ids = Array.from({ length: 12 }, (_, i) => `toolu_w${i}`);
      t.push({ role: 'assistant', content: ids.map((id) => ({ type: 'tool_use' as const, id, name: 'bash', input: { command: `make ${id}` } })) });
      t.push({ role: 'user', content: ids.map((id) => ({ type: 'tool_result' as const, tool_use_id: id, content: `${id} start\n${'x'.repeat(30_000)}\n${id} end` })) });
      return t;
    }

    it('cuts the newest results in their middle when the newest turn alone passes it, pairs valid, and repeats those bytes in the next request', () => {
      const t = wideTurn();
      const view = contextView(t, limited);
      expect(view.overLimit).toBe(false);
      // Down to the compaction mark, or to half of what the limit leaves after the rest (about 48,000 here) if that is more.
      expect(view.estimatedTokens).toBeLessThan(50_000);
      expect(view.cutResults).toBe(12);
      assertPairsValid(view.messages);
      for (const b of view.messages.at(-1)!.content as Anthropic.ToolResultBlockParam[]) {
        expect(b.content).toMatch(/^toolu_w\d+ start\n/);
        expect(b.content).toMatch(/\n\[\.\.\. \d+ characters of this tool output were cut to fit the context window[^\n]*\]\n/);
        expect(b.content).toMatch(/toolu_w\d+ end$/);
      }
      // The next turn: the same bytes for everything the previous request sent.
      const next = [...t, t[1]!, t[2]!].map((m, i) => (i >= t.length ? { ...m, content: json(m.content).replaceAll('toolu_1', 'toolu_9') } : m));
      next[t.length] = { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_9', name: 'bash', input: { command: 'ls' } }] };
      next[t.length + 1] = { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: 'a.ts' }] };
      const later = contextView(next, limited);
      expect(json(later.messages.slice(0, view.messages.length))).toBe(json(view.messages));
      expect(later.overLimit).toBe(false);
    });

    it('reports a conversation no view of which fits: a task longer than the limit', () => {
      const t = transcript(1);
      t[0] = { role: 'user', content: `Task: T-1\n\n${'z'.repeat(300_000)}` };
      const view = contextView(t, limited);
      expect(view.overLimit).toBe(true);
    });
  });

  it('never cuts a surrogate pair in half', () => {
    const text = `${'a'.repeat(399)}😀${'b'.repeat(1000)}😀${'c'.repeat(199)}`;
    const short = shorten(text, 'tool output');
    expect(short).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    expect(short).not.toMatch(/(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });
});
