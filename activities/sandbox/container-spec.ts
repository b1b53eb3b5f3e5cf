/**
 * What an agent container looks like: a pure function from configuration to Docker's create
 * options, so the hardening can be read (and tested) in one place.
 */
import type Docker from 'dockerode';
import { SANDBOX_HOME } from '../host/agent-homes';
import { DEFAULT_KEEP_ALIVE_COMMAND, type SandboxConfig } from './config';
import { SandboxInvalidInputError } from './errors';

/** Where the worktree appears inside the container. */
export const CONTAINER_WORKSPACE = '/workspace';

export const LABELS = {
  agentId: 'orchestrator.agentId',
  taskId: 'orchestrator.taskId',
  managed: 'orchestrator.managed',
  /** `<namespace>/<task queue>`: reapers and killswitches touch only their own deployment's containers. */
  deployment: 'orchestrator.deployment',
  /** `agent` (the agent's own container) or `gate` (a short-lived one over a clean checkout). */
  role: 'orchestrator.role',
  /** The worker host that made it (a live run's containers are its host's to remove). */
  host: 'orchestrator.host',
} as const;

export type ContainerRole = 'agent' | 'gate';

/**
 * The only variables a container sees: no host variable (and so no key) is passed through. HOME
 * is the agent's home when it has one, else the workspace (a gate's throwaway checkout).
 */
export function containerEnv(home: string = CONTAINER_WORKSPACE): string[] {
  return ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `HOME=${home}`, 'LANG=C.UTF-8'];
}

// Docker's own rule for container names, bounded so the name stays readable.
const CONTAINER_NAME_PART = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * `orchestrator-agent-<agentId>` (or `orchestrator-gate-...`), with `.<hostId>` when the host is
 * known (an agent that moved hosts gets a new container, even on a shared engine); throws for ids
 * Docker could not use in a name.
 */
export function containerNameFor(agentId: string, role: ContainerRole = 'agent', hostId?: string): string {
  if (!CONTAINER_NAME_PART.test(agentId)) {
    throw new SandboxInvalidInputError(`agent id ${JSON.stringify(agentId)} cannot name a container`);
  }
  if (hostId !== undefined && !CONTAINER_NAME_PART.test(hostId)) {
    throw new SandboxInvalidInputError(`host id ${JSON.stringify(hostId)} cannot name a container`);
  }
  return `orchestrator-${role}-${agentId}${hostId ? `.${hostId}` : ''}`;
}

export interface ContainerSpecInput {
  agentId: string;
  taskId: string;
  /** Absolute host path of the worktree. */
  workspacePath: string;
  /** Owner of the worktree; the container runs as this user so the files stay editable. */
  user: { uid: number; gid: number };
  /** Mount the workspace read-only (reviewers). */
  readOnly?: boolean;
  role?: ContainerRole;
  /** Absolute host path of the agent's home, mounted at /home/agent and made HOME. */
  homePath?: string;
}

/** Create options for an agent's container: locked down, with the worktree as the only writable mount. */
export function buildContainerSpec(cfg: SandboxConfig, input: ContainerSpecInput): Docker.ContainerCreateOptions {
  const memoryBytes = cfg.memoryMb * 1024 * 1024;
  return {
    name: containerNameFor(input.agentId, input.role, cfg.hostId),
    Image: cfg.image,
    Cmd: [...(cfg.keepAliveCommand ?? DEFAULT_KEEP_ALIVE_COMMAND)],
    User: `${input.user.uid}:${input.user.gid}`,
    WorkingDir: CONTAINER_WORKSPACE,
    Env: containerEnv(input.homePath ? SANDBOX_HOME : undefined),
    Labels: {
      [LABELS.agentId]: input.agentId,
      [LABELS.taskId]: input.taskId,
      [LABELS.managed]: 'true',
      [LABELS.deployment]: cfg.deployment,
      [LABELS.role]: input.role ?? 'agent',
      ...(cfg.hostId ? { [LABELS.host]: cfg.hostId } : {}),
    },
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    NetworkDisabled: cfg.network === 'none',
    StopSignal: 'SIGTERM',
    StopTimeout: cfg.gracefulStopTimeoutSeconds,
    HostConfig: {
      // docker-init as PID 1 forwards SIGTERM to the main process and reaps exec'd orphans.
      Init: true,
      Mounts: [
        { Type: 'bind', Source: input.workspacePath, Target: CONTAINER_WORKSPACE, ReadOnly: input.readOnly ?? false },
        ...(input.homePath ? [{ Type: 'bind' as const, Source: input.homePath, Target: SANDBOX_HOME, ReadOnly: false }] : []),
      ],
      Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${cfg.tmpfsMb}m,mode=1777` },
      ReadonlyRootfs: true,
      Memory: memoryBytes,
      MemorySwap: memoryBytes,
      NanoCpus: Math.round(cfg.cpus * 1e9),
      PidsLimit: cfg.pidsLimit,
      // One file cannot fill the disk between two checks of WORKSPACE_MAX_MB (setrlimit takes bytes).
      ...(cfg.maxFileBytes ? { Ulimits: [{ Name: 'fsize', Soft: cfg.maxFileBytes, Hard: cfg.maxFileBytes }] } : {}),
      NetworkMode: cfg.network,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      RestartPolicy: { Name: 'no' },
      AutoRemove: false,
      // Nothing reads the container's log, and a command can write to PID 1's stdout
      // (/proc/1/fd/1): with a log driver, that would fill the host's disk past every budget.
      LogConfig: { Type: 'none', Config: {} },
    },
  };
}
