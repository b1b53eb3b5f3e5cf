/** The Anthropic client tools an agent gets, by agent type. */
import type Anthropic from '@anthropic-ai/sdk';
import type { AgentType } from '../../domain/agent';

export const BASH_TOOL: Anthropic.ToolBash20250124 = { type: 'bash_20250124', name: 'bash' };
export const EDITOR_TOOL: Anthropic.ToolTextEditor20250728 = { type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' };

export function toolsFor(_agentType: AgentType): Anthropic.ToolUnion[] {
  // Reviewers get the same tools; the executor refuses their edits (read-only).
  return [BASH_TOOL, EDITOR_TOOL];
}
