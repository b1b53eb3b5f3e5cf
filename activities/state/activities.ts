/** State activities: the Valkey projection of a run (agent and task keys, lifecycle events), and a fork's start. */
import type { AgentContext, AgentStatusView, ForkSource } from '../../domain/agent';
import { isTerminal } from '../../domain/lifecycle';
import type { AgentStateStore } from '../../state/agent-state-store';
import type { CheckpointStore } from '../../state/checkpoint-store';
import type { SpendLedger } from '../../state/spend-ledger';
import { copyForkSource, type ForkStart } from '../../state/fork-source';
import type { TranscriptStore } from '../../state/transcript-store';

export interface StateActivityDeps {
  states: AgentStateStore;
  transcripts: TranscriptStore;
  checkpoints: CheckpointStore;
  ledger: SpendLedger;
  /** How long state and the transcript stay after the run ends. */
  stateTtlSeconds: number;
}

export interface RecordStateInput {
  /** Increases with every write of a run, so a retried or late write never moves state backwards. */
  seq: number;
  view: AgentStatusView;
  context?: AgentContext;
  reason?: string;
  at: string;
}

export interface CopyForkSourceInput {
  /** The new agent. */
  agentId: string;
  from: ForkSource;
}

export function createStateActivities(deps: StateActivityDeps) {
  return {
    /** Writes the projection; returns false when a newer write was already applied. */
    async recordState(args: RecordStateInput): Promise<boolean> {
      const { applied } = await deps.states.write(args);
      if (isTerminal(args.view.status)) {
        // The run is over: its conversation and workspace checkpoints go when its state does.
        await deps.transcripts.expire(args.view.agentId, deps.stateTtlSeconds);
        await deps.checkpoints.expire(args.view.agentId, deps.stateTtlSeconds);
        await deps.ledger.expire(args.view.agentId, deps.stateTtlSeconds);
      }
      return applied;
    },

    /** A fork's start: the forked agent's conversation up to the fork turn and its checkpoint, copied to the new agent. */
    async copyForkSource(args: CopyForkSourceInput): Promise<ForkStart> {
      return copyForkSource(deps, args.from, args.agentId);
    },
  };
}

export type StateActivities = ReturnType<typeof createStateActivities>;
