/**
 * Token counts estimated before a request is sent, for the context bound and the cost budget.
 *
 * The API's tokenizer is not available offline, so the estimate is deliberately high: one token
 * per 3 ASCII characters of the block's JSON (Claude's tokenizers average about 3.5-4 characters
 * per token on English and code, and JSON escaping only adds characters) and one per character
 * beyond ASCII (CJK text takes about one token a character, not one per three), plus the fixed
 * prompt the API adds for Anthropic-defined tools. An estimate above the truth compacts a little early and
 * refuses a turn a little early; one below would let a turn pass a budget.
 */
import type Anthropic from '@anthropic-ai/sdk';

export const CHARS_PER_TOKEN = 3;

/**
 * Tokens the API adds for tool use (its tool-use system prompt, 346 tokens) and for each
 * Anthropic-defined tool's own definition, per Anthropic's tool-use pricing table.
 */
const TOOL_USE_SYSTEM_PROMPT_TOKENS = 346;
const ANTHROPIC_TOOL_TOKENS: Readonly<Record<string, number>> = { bash: 245, text_editor: 700 };

export function estimateTextTokens(text: string): number {
  let ascii = 0;
  let beyond = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) ascii += 1;
    else if (unit < 0xdc00 || unit > 0xdfff) beyond += 1; // the low half of a surrogate pair was counted with its high half
  }
  return Math.ceil(ascii / CHARS_PER_TOKEN) + beyond;
}

/** One content block (or any JSON value) as sent. */
export function estimateJsonTokens(value: unknown): number {
  return estimateTextTokens(JSON.stringify(value));
}

export function estimateMessageTokens(message: Anthropic.MessageParam): number {
  const blocks = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
  return blocks.reduce((sum, block) => sum + estimateJsonTokens(block), 0);
}

/** Tools and system prompt: the part of every request that never changes during a run. */
export function estimateFixedTokens(tools: readonly Anthropic.ToolUnion[], system: string | readonly Anthropic.TextBlockParam[]): number {
  const toolTokens = tools.reduce((sum, tool) => {
    const type = 'type' in tool && typeof tool.type === 'string' ? tool.type : '';
    const builtIn = Object.entries(ANTHROPIC_TOOL_TOKENS).find(([prefix]) => type.startsWith(prefix))?.[1] ?? 0;
    return sum + builtIn + estimateJsonTokens(tool);
  }, 0);
  const systemTokens = typeof system === 'string' ? estimateTextTokens(system) : system.reduce((sum, b) => sum + estimateJsonTokens(b), 0);
  return (tools.length > 0 ? TOOL_USE_SYSTEM_PROMPT_TOKENS : 0) + toolTokens + systemTokens;
}
