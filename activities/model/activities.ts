/**
 * Model activities: the conversation with the model. The transcript lives in Valkey; these
 * activities take and return message indexes and counts, never the conversation itself.
 */
import type { AgentRunInput } from '../../domain/agent';
import type { TranscriptStore } from '../../state/transcript-store';
import { currentOperation } from '../operation';
import type { ModelClient } from './call-model';
import { runModelTurn, type ModelTurnInput, type ModelTurnResult } from './model-turn';
import { initialUserMessage } from './prompts';

export type { ModelTurnInput, ModelTurnResult } from './model-turn';

export interface ModelActivityDeps extends ModelClient {
  transcripts: TranscriptStore;
  model: string;
  maxTokensPerTurn: number;
}

export interface InitialPromptInput {
  agentId: string;
  input: Pick<AgentRunInput, 'taskId' | 'agentType' | 'context'>;
}

export interface FeedbackInput {
  agentId: string;
  /** Where the user turn goes: the message count before it. */
  index: number;
  text: string;
}

export function createModelActivities(deps: ModelActivityDeps) {
  return {
    /** Stores the first user message (index 0) and returns the message count. */
    async writeInitialPrompt(args: InitialPromptInput): Promise<number> {
      await deps.transcripts.put(args.agentId, 0, { role: 'user', content: initialUserMessage(args.input) });
      return 1;
    },

    /** One model call; an answer already stored at this index is returned without a new call. */
    async modelTurn(args: ModelTurnInput): Promise<ModelTurnResult> {
      const op = currentOperation();
      return runModelTurn(deps, args, { signal: op.signal, heartbeat: op.onProgress });
    },

    /** Gives the agent a user turn (gate failures, blocked commits). Idempotent per index. */
    async appendFeedback(args: FeedbackInput): Promise<void> {
      await deps.transcripts.put(args.agentId, args.index, { role: 'user', content: args.text });
    },
  };
}

export type ModelActivities = ReturnType<typeof createModelActivities>;
