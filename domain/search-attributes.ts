/**
 * Typed search attributes of an agent run, so the Web UI and kill-all can filter on them.
 * The dev server registers them at start (scripts/lib.sh start_temporal); compose registers them
 * in deploy/scripts/setup-namespace.sh.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA = {
  taskId: defineSearchAttributeKey('TaskId', SearchAttributeType.KEYWORD),
  agentType: defineSearchAttributeKey('AgentType', SearchAttributeType.KEYWORD),
  agentStatus: defineSearchAttributeKey('AgentStatus', SearchAttributeType.KEYWORD),
  repository: defineSearchAttributeKey('Repository', SearchAttributeType.KEYWORD),
  gateProfile: defineSearchAttributeKey('GateProfile', SearchAttributeType.KEYWORD),
  /** The agent a run retries (`POST /agents/:id/retry`); absent on first runs. */
  retryOf: defineSearchAttributeKey('RetryOf', SearchAttributeType.KEYWORD),
  /** The agent a run was forked from (`POST /agents/:id/fork`); absent otherwise. */
  forkOf: defineSearchAttributeKey('ForkOf', SearchAttributeType.KEYWORD),
} as const;

export const SEARCH_ATTRIBUTE_NAMES = Object.values(SA).map((k) => k.name);
