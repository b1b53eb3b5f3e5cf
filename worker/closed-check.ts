/** How an agent's workflow closed, or whether it has: what the reapers ask before removing anything. */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type Redis from 'ioredis';
import { workflowIdFor } from '../domain/agent';
import { isOwnRecord, type AgentStateStore } from '../state/agent-state-store';
import { settleClosedRunStates, type CloseStatus } from '../state/closed-run-states';
import { agentsWithoutExpiry, expireClosedRunRecords } from '../state/record-expiry';
import type { ReapTarget } from './reaper';

/** How the agent's workflow closed (`NOT_FOUND`: Temporal has none); null while it runs. Throws when Temporal is unreachable. */
export function workflowCloseStatus(client: Client): (agentId: string) => Promise<CloseStatus | null> {
  return async (agentId) => {
    try {
      const desc = await client.workflow.getHandle(workflowIdFor(agentId)).describe();
      return desc.status.name === 'RUNNING' ? null : desc.status.name;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'NOT_FOUND';
      throw err; // Temporal unreachable: remove nothing.
    }
  };
}

/** Whether an agent's workflow is closed (or unknown). */
export function workflowClosedCheck(client: Client): (agentId: string) => Promise<boolean> {
  const closeStatus = workflowCloseStatus(client);
  return async (agentId) => (await closeStatus(agentId)) !== null;
}

/**
 * The reaper targets for Valkey records: first the final status of runs closed from outside (Web
 * UI, CLI, timeout), then their records' TTL. Only runs of `namespace` are judged: deployments of
 * other Temporal namespaces may share the Valkey, and asked here their live runs are NOT_FOUND,
 * which reads as closed (they were settled `failed`, their transcripts set to expire under them,
 * and their kills answered "already finished"). Nor the runs of a deployment on another task queue
 * of the same namespace: it settles its own, and a record this worker wrote would name this
 * deployment's queue (its API would no longer know its agent). A record that names no namespace
 * or queue (written before records named them) is judged as before.
 */
export function valkeyRecordTargets(opts: { states: AgentStateStore; redis: Redis; namespace: string; taskQueue: string; ttlSeconds: number }): ReapTarget[] {
  const { states, redis } = opts;
  const ours = async (agentId: string) => {
    const stored = await states.getAgent(agentId);
    return !stored || isOwnRecord(stored, opts);
  };
  return [
    { name: 'closed run states', reap: async ({ closeStatus }) => settleClosedRunStates(states, await agentsWithoutExpiry(redis), async (id) => ((await ours(id)) ? closeStatus(id) : null)) },
    { name: 'valkey records', reap: ({ isClosed }) => expireClosedRunRecords(redis, async (id) => (await ours(id)) && (await isClosed(id)), opts.ttlSeconds) },
  ];
}
