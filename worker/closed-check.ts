/** Whether an agent's workflow is closed (or unknown): what the reapers ask before removing anything. */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { workflowIdFor } from '../domain/agent';

export function workflowClosedCheck(client: Client): (agentId: string) => Promise<boolean> {
  return async (agentId) => {
    try {
      const desc = await client.workflow.getHandle(workflowIdFor(agentId)).describe();
      return desc.status.name !== 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return true;
      throw err; // Temporal unreachable: remove nothing.
    }
  };
}
