/**
 * Model activities: the conversation with the model. The transcript lives in Valkey; these
 * activities take and return message indexes and counts, never the conversation itself.
 */
import type { AgentRunInput, WorkspaceInfo } from '../../domain/agent';
import type { AgentEventLog } from '../../state/agent-events';
import { currentOperation } from '../operation';
import { runModelTurn, type ModelTurnDeps, type ModelTurnInput, type ModelTurnResult } from './model-turn';
import { initialUserMessage } from './prompts';
import { boundedDiff, type ReviewScope } from './task-message';

export type { ModelTurnInput, ModelTurnResult, TurnBudget } from './model-turn';

export interface ModelActivityDeps extends ModelTurnDeps {
  events: AgentEventLog;
  /** What the agent branch adds since it forked from `origin/<base>` (for reviewers). */
  diffFrom(workspace: WorkspaceInfo, base: string): Promise<string>;
}

export interface InitialPromptInput {
  agentId: string;
  input: Pick<AgentRunInput, 'taskId' | 'agentType' | 'context'>;
  /** The worktree (reviewers: its diff against the base goes into the message). */
  workspace?: WorkspaceInfo;
  /** Reviewers spawned without `context.baseBranch`: the base the set-up found (the remote's default branch). */
  reviewBase?: string;
}

export interface FeedbackInput {
  agentId: string;
  /** Where the user turn goes: the message count before it. */
  index: number;
  text: string;
}

export function createModelActivities(deps: ModelActivityDeps) {
  return {
    /** Stores the first user message (index 0) once and returns the message count. */
    async writeInitialPrompt(args: InitialPromptInput): Promise<number> {
      if (await deps.transcripts.get(args.agentId, 0)) return 1; // a retry: the stored task stands (the cache holds its bytes)
      const { context, agentType } = args.input;
      let review: ReviewScope | undefined;
      const base = context.baseBranch ?? args.reviewBase;
      if (agentType === 'reviewer' && base && args.workspace) {
        review = { branch: context.branch, base, ...boundedDiff(await deps.diffFrom(args.workspace, base)) };
      }
      await deps.transcripts.put(args.agentId, 0, { role: 'user', content: initialUserMessage(args.input, review) });
      return 1;
    },

    /**
     * One model call; an answer already stored at this index is returned without a new call.
     * The turn's event is appended once per message index, also when this is a retry.
     */
    async modelTurn(args: ModelTurnInput): Promise<ModelTurnResult> {
      const op = currentOperation();
      const workspaceDir = deps.sandboxWorkspaceDir ?? args.workspaceDir;
      const { toolCalls, ...result } = await runModelTurn(deps, { ...args, workspaceDir }, { signal: op.signal, heartbeat: op.onProgress });
      if (result.refused) return result; // nothing was sent: the run's failure event tells why
      await deps.events.append(
        {
          type: 'turn',
          agentId: args.agentId,
          agentType: args.agentType,
          turn: args.turn ?? 0,
          stopReason: result.stopReason,
          inputTokens: result.inputTokens,
          outputTokens: result.outputTokens,
          cacheReadInputTokens: result.cacheReadInputTokens,
          cacheCreationInputTokens: result.cacheCreationInputTokens,
          costUsd: result.costUsd,
          tools: toolCalls ?? [],
          at: new Date().toISOString(),
        },
        { dedupKey: `turn:${args.messageCount}` },
      );
      return result;
    },

    /** Gives the agent a user turn (gate failures, blocked commits). Idempotent per index. */
    async appendFeedback(args: FeedbackInput): Promise<void> {
      await deps.transcripts.put(args.agentId, args.index, { role: 'user', content: args.text });
    },
  };
}

export type ModelActivities = ReturnType<typeof createModelActivities>;
