/**
 * The one place that turns configuration and live clients into activity dependencies.
 * worker/main.ts and the tests both build activities through here.
 */
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import type Docker from 'dockerode';
import type Redis from 'ioredis';
import type { Connection } from '@temporalio/client';
import type { Config } from '../config';
import { modelApiKey, sandboxRuntime } from '../config';
import { priceFor } from '../domain/pricing';
import { createActivities, type ActivityDeps } from '../activities';
import { createGitWorkspaces, type GitWorkspaces } from '../activities/git';
import { agentHomes, type AgentHomes } from '../activities/host/agent-homes';
import { processScratch, type Scratch } from '../activities/host/scratch';
import { workspaceLayout } from '../activities/git/paths';
import { createCoordinatorClient } from '../activities/gates';
import { describeTaskQueuePolls } from '../activities/host/liveness';
import {
  createBubblewrapRuntime,
  createDockerRuntime,
  createDockerSandbox,
  createUnsandboxedRuntime,
  deploymentOf,
  findExecutable,
  visibleSearchPath,
  type DockerSandbox,
} from '../activities/sandbox';
import type { SandboxRuntime } from '../activities/ports';
import { AgentEventLog } from '../state/agent-events';
import { AgentStateStore } from '../state/agent-state-store';
import { ReviewVerdicts } from '../state/review-verdicts';
import { SpendLedger } from '../state/spend-ledger';
import { TranscriptStore } from '../state/transcript-store';
import { CheckpointStore } from '../state/checkpoint-store';
import type { WorkerHost } from '../domain/agent';
import { resolveWorkerHost } from './host-identity';
import { redactSecrets } from '../scanner';
import { TurnsInFlight } from '../activities/turn/in-flight';
import { ToolSlots } from '../activities/turn/tool-slots';

export interface WiredServices {
  host: WorkerHost;
  deps: ActivityDeps;
  workspaces: GitWorkspaces;
  homes: AgentHomes;
  runtime: SandboxRuntime;
  /** This process's scratch directories under WORKSPACE_ROOT/tmp: the reaper removes what dead processes left. */
  scratch: Scratch;
  /** Set with SANDBOX_RUNTIME=docker: the reaper removes this deployment's containers. */
  sandbox?: DockerSandbox;
}

export interface WorkerClients {
  redis: Redis;
  /** The worker's client connection to Temporal (not the worker's NativeConnection): activities ask the server about task queues through it. */
  temporal: Pick<Connection, 'workflowService'>;
  docker?: Docker;
  log?: (msg: string, meta?: Record<string, unknown>) => void;
}

export function buildActivityDeps(config: Config, clients: WorkerClients): WiredServices {
  const host = resolveWorkerHost(config);
  // One per process, shared by git and the runtime, so one lock says this process's scratch is in use.
  const scratch = processScratch(workspaceLayout(config.WORKSPACE_ROOT).scratchDir, { log: clients.log });
  const workspaces = createGitWorkspaces({
    workspaceRoot: config.WORKSPACE_ROOT,
    host,
    allowedSchemes: config.GIT_ALLOWED_SCHEMES,
    author: { name: config.GIT_AUTHOR_NAME, email: config.GIT_AUTHOR_EMAIL },
    credentials: {
      httpsToken: config.GIT_HTTPS_TOKEN,
      httpsUsername: config.GIT_HTTPS_USERNAME,
      httpsTokenHosts: config.GIT_HTTPS_TOKEN_HOSTS,
      sshKeyPath: config.GIT_SSH_KEY_PATH,
    },
    pushEnabled: config.GIT_PUSH_ENABLED,
    log: clients.log,
    scratch,
    salvageBudget: { maxBytes: config.WORKSPACE_MAX_MB * 1024 * 1024, maxEntries: config.WORKSPACE_MAX_FILES },
  });
  // Agents' HOMEs live beside their worktrees, so the deployment that made them is the one that reaps them.
  const homes = agentHomes(path.join(config.WORKSPACE_ROOT, 'homes'));
  const sandboxUser = { uid: config.SANDBOX_UID, gid: config.SANDBOX_GID };
  const sandbox = clients.docker && sandboxRuntime(config) === 'docker' ? createDockerSandbox(clients.docker, dockerSandboxConfig(config, host.id)) : undefined;
  const runtime = buildRuntime(config, sandbox, sandboxUser, homes, scratch);
  const deps: ActivityDeps = {
    states: new AgentStateStore(clients.redis, { terminalTtlSeconds: config.STATE_TTL_SECONDS, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE }),
    transcripts: new TranscriptStore(clients.redis),
    ledger: new SpendLedger(clients.redis),
    reviewVerdicts: new ReviewVerdicts(clients.redis),
    events: new AgentEventLog(clients.redis, { namespace: config.TEMPORAL_NAMESPACE }),
    checkpointStore: new CheckpointStore(clients.redis, { maxTotalBytes: config.CHECKPOINT_MAX_BYTES }),
    // The key stays in the worker: it is read here and nowhere else, never passed to a workflow or sandbox.
    anthropic: new Anthropic({ apiKey: modelApiKey(config) ?? 'missing-key', baseURL: config.ANTHROPIC_BASE_URL, maxRetries: 0 }),
    workspaces,
    homes,
    runtime,
    coordinator: config.COORDINATOR_URL
      ? createCoordinatorClient({ baseUrl: config.COORDINATOR_URL, timeoutMs: config.COORDINATOR_TIMEOUT_SECONDS * 1000 })
      : undefined,
    taskQueuePolls: describeTaskQueuePolls(clients.temporal.workflowService, config.TEMPORAL_NAMESPACE),
    turnsInFlight: new TurnsInFlight(path.join(config.WORKSPACE_ROOT, 'turn-locks'), clients.log),
    toolSlots: new ToolSlots(config.WORKER_ACTIVITY_SLOTS),
    settings: {
      model: config.AGENT_MODEL,
      maxTokensPerTurn: config.AGENT_MAX_TOKENS_PER_TURN,
      // The configuration refuses a model without a price, so this is always found.
      price: priceFor(config.MODEL_PRICES, config.AGENT_MODEL)!,
      promptCache: config.PROMPT_CACHE,
      context: {
        windowTokens: config.CONTEXT_WINDOW_TOKENS,
        compactAt: config.CONTEXT_COMPACT_AT,
        compactTo: config.CONTEXT_COMPACT_TO,
        keepRecentTurns: config.CONTEXT_KEEP_RECENT_TURNS,
      },
      modelRequestTimeoutMs: config.MODEL_REQUEST_TIMEOUT_SECONDS * 1000,
      toolTimeoutMs: config.TOOL_TIMEOUT_SECONDS * 1000,
      toolOutputMaxBytes: config.TOOL_OUTPUT_MAX_BYTES,
      stateTtlSeconds: config.STATE_TTL_SECONDS,
      gateTimeoutMs: config.GATE_TIMEOUT_SECONDS * 1000,
      coverageThreshold: config.GATE_COVERAGE_THRESHOLD,
      diskBudget: { maxBytes: config.WORKSPACE_MAX_MB * 1024 * 1024, maxEntries: config.WORKSPACE_MAX_FILES },
      gateNetworkOff: sandboxRuntime(config) !== 'none' && config.SANDBOX_NETWORK === 'none',
    },
    redact: redactSecrets,
  };
  return { host, deps, workspaces, homes, runtime, scratch, sandbox };
}

function dockerSandboxConfig(config: Config, hostId: string) {
  return {
    image: config.SANDBOX_IMAGE,
    memoryMb: config.SANDBOX_MEMORY_MB,
    cpus: config.SANDBOX_CPUS,
    pidsLimit: config.SANDBOX_PIDS_LIMIT,
    tmpfsMb: config.SANDBOX_TMPFS_MB,
    network: config.SANDBOX_NETWORK,
    gracefulStopTimeoutSeconds: config.SANDBOX_GRACEFUL_STOP_TIMEOUT_SECONDS,
    deployment: deploymentOf(config),
    hostId,
    maxFileBytes: config.WORKSPACE_MAX_MB * 1024 * 1024,
  };
}

/** The configured runtime; a missing bwrap or Docker client is reported by the worker's start-up probe. */
function buildRuntime(config: Config, sandbox: DockerSandbox | undefined, sandboxUser: { uid: number; gid: number }, homes: AgentHomes, scratch: Scratch): SandboxRuntime {
  switch (sandboxRuntime(config)) {
    case 'docker':
      if (!sandbox) throw new Error('SANDBOX_RUNTIME=docker needs a Docker client');
      return createDockerRuntime(sandbox, sandboxUser, homes);
    case 'none':
      return createUnsandboxedRuntime(homes, scratch);
    case 'bubblewrap':
      return createBubblewrapRuntime({
        bwrapPath: findExecutable('bwrap') ?? 'bwrap',
        prlimitPath: findExecutable('prlimit') ?? 'prlimit',
        tmpfsMb: config.SANDBOX_TMPFS_MB,
        network: config.SANDBOX_NETWORK === 'host' ? 'host' : 'none',
        readOnlyPaths: config.SANDBOX_READONLY_PATHS,
        extraPath: visibleSearchPath(process.env.PATH, config.SANDBOX_READONLY_PATHS),
        hostUser: sandboxUser,
        // Per sandbox, in its pids cgroup; the fallback without cgroups is per host uid, shared by all sandboxes.
        maxProcesses: config.SANDBOX_PIDS_LIMIT,
        maxUserProcesses: config.SANDBOX_PIDS_LIMIT * 16,
        ...(config.SANDBOX_CGROUP_PARENT ? { cgroupParent: config.SANDBOX_CGROUP_PARENT } : {}),
        maxFileBytes: config.WORKSPACE_MAX_MB * 1024 * 1024,
      }, path.join(path.resolve(config.WORKSPACE_ROOT), 'worktrees'), homes);
  }
}

export function buildActivities(config: Config, clients: WorkerClients) {
  const wired = buildActivityDeps(config, clients);
  return { ...wired, activities: createActivities(wired.deps) };
}
