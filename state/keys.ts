/** Valkey key names, kept from the system we replace. */
export const keys = {
  agent: (agentId: string) => `orchestrator:agent:${agentId}`,
  task: (taskId: string) => `orchestrator:task:${taskId}`,
  events: 'orchestrator:events',
  transcript: (agentId: string) => `orchestrator:transcript:${agentId}`,
  checkpoints: (agentId: string) => `orchestrator:checkpoint:${agentId}`,
  checkpointPacks: (agentId: string) => `orchestrator:checkpoint-pack:${agentId}`,
  /** The host whose saves the agent's checkpoints take: the last one its workspace was rebuilt on (state/checkpoint-store.ts). */
  checkpointHost: (agentId: string) => `orchestrator:checkpoint-host:${agentId}`,
  audit: 'orchestrator:audit',
  /** What each model call of an agent cost, and their total (state/spend-ledger.ts). */
  spend: (agentId: string) => `orchestrator:spend:${agentId}`,
  /** The AI review's verdict per gate phase and round, so a retried gate activity does not pay for it again. */
  reviews: (agentId: string) => `orchestrator:review:${agentId}`,
  spawnClaim: (taskId: string, agentType: string) => `orchestrator:spawn:${taskId}:${agentType}`,
  /** Set by a kill while it is under way: a spawn for the agent's task is refused meanwhile (api/killswitch.ts). */
  killRequested: (agentId: string) => `orchestrator:kill-requested:${agentId}`,
  /** Event stream of one agent (state/agent-events.ts), and of all agents. */
  agentEvents: (agentId: string) => `orchestrator:agent-events:${agentId}`,
  allEvents: 'orchestrator:agent-events',
  /** Which events an agent's stream already holds, by dedup key. */
  agentEventsSeen: (agentId: string) => `orchestrator:agent-events-seen:${agentId}`,
  /** The agent a retry with this Idempotency-Key started. */
  retryIdempotency: (agentId: string, idempotencyKey: string) => `orchestrator:retry:${agentId}:${idempotencyKey}`,
  /** The agent a fork at this turn with this Idempotency-Key started. */
  forkIdempotency: (agentId: string, turn: number, idempotencyKey: string) => `orchestrator:fork:${agentId}:${turn}:${idempotencyKey}`,
} as const;
