/**
 * The Docker sandbox: one locked-down container per agent, commands run through exec.
 * The Docker client is passed in, so the worker and the API each bring their own.
 */
import type Docker from 'dockerode';
import type { SandboxInfo } from '../../domain/agent';
import type { CommandRunner } from '../tools/runner';
import type { SandboxConfig } from './config';
import { startContainer, stopContainer, type StartSandboxInput, type StopSandboxResult } from './container-lifecycle';
import { containerNameFor } from './container-spec';
import { isEngineUnreachable } from './docker-errors';
import { DockerRunner, type DockerRunnerOptions } from './docker-runner';
import { SandboxUnavailableError } from './errors';
import {
  listManagedContainers,
  reapContainers,
  removeAgentContainers,
  type IsAgentClosed,
  type ManagedContainer,
} from './managed-containers';

export interface DockerSandbox {
  /** Creates (or finds, on a retry) and starts the agent's container (or, with role `gate`, a gate container). */
  start(input: StartSandboxInput): Promise<SandboxInfo>;
  /** Runs commands inside the container; `workspaceDir` is `/workspace`. */
  runner(info: SandboxInfo, options?: DockerRunnerOptions): CommandRunner;
  /** SIGTERM, Docker's SIGKILL after the graceful timeout, remove; force only as a fallback. Idempotent. */
  stop(info: SandboxInfo): Promise<StopSandboxResult>;
  /** Removes the agent's gate container, if one is left. */
  removeGateContainer(agentId: string): Promise<StopSandboxResult>;
  /** Removes the agent's own container on this host, if there is one (found by name: a start that failed returned no id). */
  removeAgentContainer(agentId: string): Promise<StopSandboxResult>;
  /** Stops and removes every container labelled with the agent id; for the killswitch. Returns the count. */
  removeAgentContainers(agentId: string): Promise<number>;
  /** This deployment's containers (labelled `orchestrator.managed=true` and with its `orchestrator.deployment`). */
  listManaged(): Promise<ManagedContainer[]>;
  /** Removes this host's managed containers whose workflow is closed or unknown; returns the count. */
  reap(isClosed: IsAgentClosed, onError?: (err: unknown, container: ManagedContainer) => void): Promise<number>;
  /** Resolves when the engine answers; rejects with `SandboxUnavailableError` otherwise. */
  ping(timeoutMs?: number): Promise<void>;
}

/** Builds the sandbox over a Docker client and the SANDBOX_* settings. */
export function createDockerSandbox(docker: Docker, cfg: SandboxConfig): DockerSandbox {
  const graceSeconds = cfg.gracefulStopTimeoutSeconds;
  return {
    start: (input) => startContainer(docker, cfg, input),
    runner: (info, options) => new DockerRunner(docker, info, options),
    stop: (info) => stopContainer(docker, info.containerId, graceSeconds),
    removeGateContainer: (agentId) => stopContainer(docker, containerNameFor(agentId, 'gate', cfg.hostId), graceSeconds),
    removeAgentContainer: (agentId) => stopContainer(docker, containerNameFor(agentId, 'agent', cfg.hostId), graceSeconds),
    removeAgentContainers: (agentId) => removeAgentContainers(docker, agentId, graceSeconds, cfg.deployment),
    listManaged: () => listManagedContainers(docker, cfg.deployment),
    reap: (isClosed, onError) => reapContainers(docker, isClosed, graceSeconds, cfg.deployment, onError),
    ping: (timeoutMs = 5000) => pingEngine(docker, timeoutMs),
  };
}

async function pingEngine(docker: Docker, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([docker.ping(), timeout]);
  } catch (err) {
    const reason = isEngineUnreachable(err) ? `cannot connect (${(err as Error).message})` : (err as Error).message;
    throw new SandboxUnavailableError(`Docker engine unavailable: ${reason}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
