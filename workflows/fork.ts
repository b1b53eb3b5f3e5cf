/**
 * A fork's start (`POST /agents/:id/fork`): the new agent begins where a finished agent was after
 * one of its turns. Its conversation is that agent's first turns, copied to its own transcript
 * together with the checkpoint of that turn (state/fork-source.ts); the worktree is then rebuilt
 * from that checkpoint exactly as a failover rebuilds one, and the run goes on at the next turn.
 */
import type { ForkSource, WorkspaceInfo } from '../domain/agent';
import type { Run } from './phases';
import { copyForkSource, rebuildWorkspace } from './proxies';
import { RunFailure } from './run-state';

export async function prepareForkedWorkspace(run: Run, from: ForkSource): Promise<WorkspaceInfo> {
  const { state } = run;
  const { input } = state;
  const start = await copyForkSource({ agentId: input.agentId, from });
  const rebuilt = await rebuildWorkspace({
    agentId: input.agentId,
    taskId: input.taskId,
    repository: input.context.repository,
    baseBranch: input.context.branch,
    baseSha: start.baseSha,
    upToTurn: from.turn,
  });
  // Owned by the run from here, so cleanup removes it whatever happens next.
  state.workspace = rebuilt.workspace;
  if (rebuilt.restoredTurn !== start.checkpointTurn) {
    throw new RunFailure(`cannot fork agent ${from.agentId} at turn ${from.turn}: the workspace checkpoint of turn ${start.checkpointTurn ?? 'none'} did not restore`, 'ForkSourceMissing');
  }
  state.forkedAt(from.turn, start.messageCount);
  return rebuilt.workspace;
}
