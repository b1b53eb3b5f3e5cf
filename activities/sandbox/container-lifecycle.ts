/** Starting an agent's container idempotently and stopping it gracefully. */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import type { SandboxInfo } from '../../domain/agent';
import type { SandboxConfig } from './config';
import { buildContainerSpec, containerNameFor, type ContainerRole } from './container-spec';
import { isConflict, isNotFound, isNotModified, mapEngineError } from './docker-errors';
import { SandboxError, SandboxImageMissingError, SandboxInvalidInputError, SandboxStartFailedError, SandboxWorkspaceUnusableError } from './errors';

export interface StartSandboxInput {
  agentId: string;
  taskId: string;
  /** Absolute host path of the agent's worktree (or, for a gate container, of the clean checkout). */
  workspacePath: string;
  /** Mount it read-only (reviewers). */
  readOnly?: boolean;
  role?: ContainerRole;
  /** The agent's home on the host, mounted at /home/agent (an agent's container; never a gate's). */
  homePath?: string;
  signal?: AbortSignal;
}

/** What stopping found, so the agent's error can say the container was OOM-killed or crashed. */
export interface StopSandboxResult {
  /** A container existed and is gone now (false: there was nothing to stop). */
  stopped: boolean;
  /** Graceful stop or plain remove failed and the container was force-removed. */
  forced: boolean;
  /** The kernel OOM-killed the container's main process. */
  oomKilled: boolean;
  /** Exit code of the main process, when the engine reported one. */
  exitCode?: number;
  /** The container had already exited before the stop: it crashed or was OOM-killed. */
  alreadyExited: boolean;
}

/**
 * Returns the agent's container, creating and starting it if needed. An activity retry finds
 * the container by name and reuses it, so one agent never gets two.
 *
 * The container runs as the worktree's owner, so whoever creates worktrees decides the user:
 * a root-owned worktree means root inside the container (still without capabilities).
 */
export async function startContainer(docker: Docker, cfg: SandboxConfig, input: StartSandboxInput): Promise<SandboxInfo> {
  const name = containerNameFor(input.agentId, input.role, cfg.hostId);
  const abortSignal = input.signal;
  abortSignal?.throwIfAborted();
  try {
    const existing = await inspectOrUndefined(docker.getContainer(name), abortSignal);
    // A dead container cannot be started again; replace it.
    if (existing?.State.Dead) await removeIfPresent(docker.getContainer(existing.Id), true);
    else if (existing) return await ensureRunning(docker, existing, name, abortSignal);

    const user = await worktreeOwner(input.workspacePath);
    await requireImage(docker, cfg.image, abortSignal);
    const spec = buildContainerSpec(cfg, { ...input, user });
    let container: Docker.Container;
    try {
      container = await docker.createContainer({ ...spec, ...signalOption(abortSignal) });
    } catch (err) {
      // A concurrent attempt created it first: use that one.
      if (!isConflict(err)) throw err;
      const raced = await inspectOrUndefined(docker.getContainer(name), abortSignal);
      if (!raced) throw err;
      return await ensureRunning(docker, raced, name, abortSignal);
    }
    await startIfNeeded(container, abortSignal);
    return { containerId: container.id, containerName: name };
  } catch (err) {
    throw startError(err);
  }
}

async function ensureRunning(
  docker: Docker,
  info: Docker.ContainerInspectInfo,
  name: string,
  abortSignal: AbortSignal | undefined,
): Promise<SandboxInfo> {
  const container = docker.getContainer(info.Id);
  if (info.State.Paused) await container.unpause(signalOption(abortSignal));
  else if (!info.State.Running) await startIfNeeded(container, abortSignal);
  return { containerId: info.Id, containerName: name };
}

async function startIfNeeded(container: Docker.Container, abortSignal: AbortSignal | undefined): Promise<void> {
  try {
    await container.start(signalOption(abortSignal));
  } catch (err) {
    if (!isNotModified(err)) throw err;
  }
}

async function worktreeOwner(workspacePath: string): Promise<{ uid: number; gid: number }> {
  if (!path.isAbsolute(workspacePath)) {
    throw new SandboxInvalidInputError(`workspace path ${JSON.stringify(workspacePath)} is not absolute`);
  }
  try {
    const st = await stat(workspacePath);
    if (!st.isDirectory()) throw new SandboxInvalidInputError(`workspace ${workspacePath} is not a directory`);
    return { uid: st.uid, gid: st.gid };
  } catch (err) {
    if (err instanceof SandboxInvalidInputError) throw err;
    throw new SandboxWorkspaceUnusableError(`workspace ${workspacePath} is not readable: ${(err as Error).message}`, { cause: err });
  }
}

async function requireImage(docker: Docker, image: string, abortSignal: AbortSignal | undefined): Promise<void> {
  try {
    abortSignal?.throwIfAborted();
    await docker.getImage(image).inspect();
  } catch (err) {
    if (isNotFound(err)) throw new SandboxImageMissingError(image);
    throw err;
  }
}

function startError(err: unknown): unknown {
  if (err instanceof SandboxError) return err;
  const mapped = mapEngineError(err);
  if (mapped !== err) return mapped;
  if ((err as Error | undefined)?.name === 'AbortError') return err;
  return new SandboxStartFailedError(`could not start the sandbox: ${(err as Error).message}`, { cause: err });
}

/**
 * Stops the container the way the system we replace did: SIGTERM with Docker's own SIGKILL
 * after `gracefulStopTimeoutSeconds`, then a plain remove; force-remove only when either
 * step fails. A missing container is not an error.
 */
export async function stopContainer(
  docker: Docker,
  idOrName: string,
  gracefulStopTimeoutSeconds: number,
): Promise<StopSandboxResult> {
  const container = docker.getContainer(idOrName);
  try {
    const before = await inspectOrUndefined(container);
    if (!before) return { stopped: false, forced: false, oomKilled: false, alreadyExited: false };
    const alreadyExited = !before.State.Running;
    let after: Docker.ContainerInspectInfo | undefined = before;
    let forced = false;
    try {
      if (before.State.Running) await stopGracefully(container, gracefulStopTimeoutSeconds);
      after = (await inspectOrUndefined(container)) ?? before;
      await removeIfPresent(container, false);
    } catch {
      forced = true;
      await removeIfPresent(container, true);
    }
    const state = after.State;
    return {
      stopped: true,
      forced,
      oomKilled: state.OOMKilled,
      exitCode: state.Running ? undefined : state.ExitCode,
      alreadyExited,
    };
  } catch (err) {
    throw mapEngineError(err);
  }
}

async function stopGracefully(container: Docker.Container, seconds: number): Promise<void> {
  try {
    await container.stop({ t: seconds });
  } catch (err) {
    if (!isNotModified(err) && !isNotFound(err)) throw err;
  }
}

async function removeIfPresent(container: Docker.Container, force: boolean): Promise<void> {
  try {
    await container.remove({ force });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

async function inspectOrUndefined(
  container: Docker.Container,
  abortSignal?: AbortSignal,
): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await container.inspect(signalOption(abortSignal));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

// Only pass the signal when there is one: dockerode copies option keys into the query string.
function signalOption(abortSignal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return abortSignal ? { abortSignal } : {};
}
