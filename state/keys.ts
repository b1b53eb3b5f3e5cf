/**
 * Keys named by a task, not by an agent (agent ids are unique everywhere), and the streams of all
 * agents belong to one Temporal namespace: deployments of different namespaces may share one
 * Valkey, a task id is theirs to choose, and a deployment's "all agents" is its own agents. The
 * default namespace keeps the seed's names (coordinators read `orchestrator:task:*` and
 * `orchestrator:events`); another's are `orchestrator:ns:<namespace>:...` (a task id holds no `:`,
 * so nothing collides).
 */
const DEFAULT_NAMESPACE = 'default';
/** TEMPORAL_TASK_QUEUE's default (config/index.ts). */
const DEFAULT_TASK_QUEUE = 'agent-runs';
const byNamespace = (namespace: string | undefined) => (namespace === undefined || namespace === DEFAULT_NAMESPACE ? 'orchestrator:' : `orchestrator:ns:${namespace}:`);

/** Valkey key names, kept from the system we replace. */
export const keys = {
  agent: (agentId: string) => `orchestrator:agent:${agentId}`,
  /** The task's last agent, as that agent's namespace sees it (absent: the default namespace). */
  task: (taskId: string, namespace?: string) => `${byNamespace(namespace)}task:${taskId}`,
  /** The seed's lifecycle channel (pub/sub) of the namespace's agents (absent: the default namespace). */
  events: (namespace?: string) => `${byNamespace(namespace)}events`,
  transcript: (agentId: string) => `orchestrator:transcript:${agentId}`,
  checkpoints: (agentId: string) => `orchestrator:checkpoint:${agentId}`,
  checkpointPacks: (agentId: string) => `orchestrator:checkpoint-pack:${agentId}`,
  /** The host whose saves the agent's checkpoints take: the last one its workspace was rebuilt on (state/checkpoint-store.ts). */
  checkpointHost: (agentId: string) => `orchestrator:checkpoint-host:${agentId}`,
  /** The kill audit trail of the namespace's agents (absent: the default namespace, the seed's `orchestrator:audit`). */
  audit: (namespace?: string) => `${byNamespace(namespace)}audit`,
  /** What each model call of an agent cost, and their total (state/spend-ledger.ts). */
  spend: (agentId: string) => `orchestrator:spend:${agentId}`,
  /** The AI review's verdict per gate phase and round, so a retried gate activity does not pay for it again. */
  reviews: (agentId: string) => `orchestrator:review:${agentId}`,
  /**
   * Who owns a task and agent type: the deployment's own, by namespace and task queue (two
   * deployments of one namespace each start their own agent for a task id both use). The default
   * queue keeps the name from before queues were in it: an upgraded API still sees a claim made
   * just before the upgrade, and does not start a second agent for a spawn retried across it.
   */
  spawnClaim: (taskId: string, agentType: string, namespace: string | undefined, taskQueue: string) =>
    `${byNamespace(namespace)}spawn:${taskId}:${agentType}${taskQueue === DEFAULT_TASK_QUEUE ? '' : `@${taskQueue}`}`,
  /**
   * The claim's name from before queues were in it, which another queue's spawn still reads while
   * its own is absent (a claim made before the upgrade); `undefined` for the default queue, whose
   * claim still has that name.
   */
  spawnClaimBeforeQueues: (taskId: string, agentType: string, namespace: string | undefined, taskQueue: string) =>
    taskQueue === DEFAULT_TASK_QUEUE ? undefined : `${byNamespace(namespace)}spawn:${taskId}:${agentType}`,
  /**
   * Set by a kill while it is under way: a spawn for the agent's task is refused meanwhile
   * (api/killswitch.ts). The killing namespace's own: another deployment's kill of an id it does
   * not know marks and unmarks it, and must not touch ours (absent: the default namespace).
   */
  killRequested: (agentId: string, namespace?: string) => `${byNamespace(namespace)}kill-requested:${agentId}`,
  /** Event stream of one agent (state/agent-events.ts), and of all the namespace's agents (absent: the default namespace). */
  agentEvents: (agentId: string) => `orchestrator:agent-events:${agentId}`,
  allEvents: (namespace?: string) => `${byNamespace(namespace)}agent-events`,
  /** Which events an agent's stream already holds, by dedup key. */
  agentEventsSeen: (agentId: string) => `orchestrator:agent-events-seen:${agentId}`,
  /** The Idempotency-Keys of an agent's retries and forks, and the agents they started (state/rerun-keys.ts). */
  rerunIdempotency: (agentId: string) => `orchestrator:rerun-keys:${agentId}`,
  /** The agent a retry with this Idempotency-Key started: how keys were kept before rerunIdempotency, read until they expire. */
  retryIdempotency: (agentId: string, idempotencyKey: string) => `orchestrator:retry:${agentId}:${idempotencyKey}`,
  /** The agent a fork at this turn with this Idempotency-Key started (as retryIdempotency). */
  forkIdempotency: (agentId: string, turn: number, idempotencyKey: string) => `orchestrator:fork:${agentId}:${turn}:${idempotencyKey}`,
} as const;
