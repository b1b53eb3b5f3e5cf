/** Valkey key names, kept from the system we replace. */
export const keys = {
  agent: (agentId: string) => `orchestrator:agent:${agentId}`,
  task: (taskId: string) => `orchestrator:task:${taskId}`,
  events: 'orchestrator:events',
  transcript: (agentId: string) => `orchestrator:transcript:${agentId}`,
  audit: 'orchestrator:audit',
  spawnClaim: (taskId: string, agentType: string) => `orchestrator:spawn:${taskId}:${agentType}`,
} as const;
