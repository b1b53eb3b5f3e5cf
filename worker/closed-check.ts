/** How an agent's workflow closed, or whether it has: what the reapers ask before removing anything. */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { workflowIdFor } from '../domain/agent';
import type { CloseStatus } from '../state/closed-run-states';

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
