/** Finding the containers this service manages (by label) and removing the ones nobody needs. */
import type Docker from 'dockerode';
import { LABELS } from './container-spec';
import { stopContainer } from './container-lifecycle';
import { mapEngineError } from './docker-errors';
import { SandboxCleanupFailedError } from './errors';

export interface ManagedContainer {
  containerId: string;
  name: string;
  /** Empty when the label is missing (such a container belongs to no workflow). */
  agentId: string;
  taskId: string;
  /** The worker host that made it; empty for containers from before hosts were labelled. */
  host: string;
  /** Docker's state: created, running, exited, dead, ... */
  state: string;
}

/**
 * Every container of this deployment (labelled `orchestrator.managed=true` and with our
 * `orchestrator.deployment`), running or not. Another deployment on the same engine is never listed.
 */
export async function listManagedContainers(docker: Docker, deployment: string, extraLabels: string[] = []): Promise<ManagedContainer[]> {
  try {
    const found = await docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.managed}=true`, `${LABELS.deployment}=${deployment}`, ...extraLabels] },
    });
    return found.map((c) => ({
      containerId: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      agentId: c.Labels[LABELS.agentId] ?? '',
      taskId: c.Labels[LABELS.taskId] ?? '',
      host: c.Labels[LABELS.host] ?? '',
      state: c.State,
    }));
  } catch (err) {
    throw mapEngineError(err);
  }
}

/**
 * Stops and removes every container labelled with `agentId`; returns how many were removed.
 * Throws `SandboxCleanupFailedError` (after trying all of them) if any could not be.
 */
export async function removeAgentContainers(docker: Docker, agentId: string, gracefulStopTimeoutSeconds: number, deployment: string): Promise<number> {
  const containers = await listManagedContainers(docker, deployment, [`${LABELS.agentId}=${agentId}`]);
  const results = await Promise.allSettled(
    containers.map((c) => stopContainer(docker, c.containerId, gracefulStopTimeoutSeconds)),
  );
  const removed = results.filter((r) => r.status === 'fulfilled' && r.value.stopped).length;
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) throw new SandboxCleanupFailedError(removed, failures);
  return removed;
}

/** Decides whether an agent's workflow is over; true for a workflow that is closed or unknown. */
export type IsAgentClosed = (agentId: string) => Promise<boolean>;

/**
 * Stops and removes managed containers whose workflow is closed or unknown (a container with
 * no agent label belongs to none). A container whose status cannot be determined is kept.
 * Whichever host labelled it: a closed run needs none of its containers, and a host whose id
 * changed (a wiped WORKSPACE_ROOT) or that was retired leaves them on an engine others share.
 * A live run's containers are never touched here (its own host's cleanup removes them).
 * Returns how many were removed; failures for single containers go to `onError`.
 */
export async function reapContainers(
  docker: Docker,
  isClosed: IsAgentClosed,
  gracefulStopTimeoutSeconds: number,
  deployment: string,
  onError: (err: unknown, container: ManagedContainer) => void = () => undefined,
): Promise<number> {
  let removed = 0;
  for (const container of await listManagedContainers(docker, deployment)) {
    try {
      const closed = container.agentId === '' || (await isClosed(container.agentId));
      if (!closed) continue;
      const result = await stopContainer(docker, container.containerId, gracefulStopTimeoutSeconds);
      if (result.stopped) removed++;
    } catch (err) {
      onError(err, container);
    }
  }
  return removed;
}
