/**
 * All activities of the agentRun workflow: one factory per area, composed here and wrapped
 * once so every activity's errors are classified from the failure table. Only worker/ wires
 * real clients; tests build activities from their own.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { ModelPrice } from '../domain/pricing';
import { redactSecrets } from '../scanner';
import type { AgentEventLog } from '../state/agent-events';
import type { AgentStateStore } from '../state/agent-state-store';
import type { CheckpointStore } from '../state/checkpoint-store';
import type { ReviewVerdicts } from '../state/review-verdicts';
import type { SpendLedger } from '../state/spend-ledger';
import { createWorkspaceCheckpoints } from './checkpoints';
import type { TranscriptStore } from '../state/transcript-store';
import { isHostBound, isHostTurn } from '../domain/placement';
import { classifyFailures } from './failures';
import { holdFirstHeartbeats } from './first-heartbeat';
import { createGateActivities } from './gates/activities';
import { createGitActivities } from './git/activities';
import type { GitWorkspaces } from './git';
import type { AgentHomes } from './host/agent-homes';
import { createHostLivenessActivities, type TaskQueuePolls } from './host/liveness';
import { createModelActivities } from './model/activities';
import type { PromptCacheMode } from './model/cache-breakpoints';
import type { ContextSettings } from './model/model-turn';
import { reviewDiff } from './model/review';
import type { CoordinatorPort, SandboxRuntime } from './ports';
import { createSandboxActivities, createToolBatchRunner } from './sandbox/activities';
import type { DiskBudget } from './sandbox/disk-budget';
import { createSetupActivities } from './setup/activities';
import { createAcceptActivities } from './accept/activities';
import { createStateActivities } from './state/activities';
import { runnerChoice } from './tools/runner-for';
import { createTurnActivities } from './turn/activities';
import type { TurnsInFlight } from './turn/in-flight';
import type { ToolSlots } from './turn/tool-slots';

export type * from './gates/activities';
export type * from './git/activities';
export type * from './host/liveness';
export type * from './model/activities';
export type * from './sandbox/activities';
export type * from './setup/activities';
export type * from './accept/activities';
export type * from './state/activities';
export type * from './turn/activities';

export interface ActivityDeps {
  states: AgentStateStore;
  transcripts: TranscriptStore;
  /** What each model call cost (state/spend-ledger.ts). */
  ledger: SpendLedger;
  /** The AI review's verdicts, kept so a retried gate activity does not pay again. */
  reviewVerdicts: ReviewVerdicts;
  /** Turn, tool batch and gate events (lifecycle events come with the state writes). */
  events: AgentEventLog;
  checkpointStore: CheckpointStore;
  anthropic: Anthropic;
  workspaces: GitWorkspaces;
  /** HOME directories of agents whose commands run without a sandbox. */
  homes: AgentHomes;
  /** Where commands and gates run: bubblewrap, docker, or none (SANDBOX_RUNTIME). */
  runtime: SandboxRuntime;
  /** Absent when COORDINATOR_URL is not set. */
  coordinator?: CoordinatorPort;
  /** What the Temporal server knows about who polls a task queue (a host's liveness). */
  taskQueuePolls: TaskQueuePolls;
  /** The tool batches of turn activities running here, which cleanup stops and waits for. */
  turnsInFlight: TurnsInFlight;
  /** How many tool batches of turn activities run at once (WORKER_ACTIVITY_SLOTS). */
  toolSlots: ToolSlots;
  settings: {
    model: string;
    maxTokensPerTurn: number;
    /** The price of `model`, from the price table. */
    price: ModelPrice;
    promptCache: PromptCacheMode;
    context: ContextSettings;
    modelRequestTimeoutMs: number;
    toolTimeoutMs: number;
    toolOutputMaxBytes: number;
    stateTtlSeconds: number;
    gateTimeoutMs: number;
    coverageThreshold: number;
    /** WORKSPACE_MAX_MB (in bytes) and WORKSPACE_MAX_FILES. */
    diskBudget: DiskBudget;
    /** Gates run in a sandbox without network (SANDBOX_NETWORK=none). @default false */
    gateNetworkOff?: boolean;
  };
  /** Applied to gate output, digests and events before they leave the worker (secrets out). @default redactSecrets */
  redact?: (text: string) => string;
}

export function createActivities(deps: ActivityDeps) {
  const { settings, transcripts, events } = deps;
  const redact = deps.redact ?? redactSecrets;
  const checkpoints = createWorkspaceCheckpoints({ workspaces: deps.workspaces, store: deps.checkpointStore });
  const runnerFor = runnerChoice(deps.runtime);
  const model = { anthropic: deps.anthropic, requestTimeoutMs: settings.modelRequestTimeoutMs, model: settings.model, price: settings.price };
  const sandboxDeps = {
    runtime: deps.runtime,
    checkpoints,
    runnerFor,
    transcripts,
    events,
    redact,
    toolTimeoutMs: settings.toolTimeoutMs,
    toolOutputMaxBytes: settings.toolOutputMaxBytes,
    diskBudget: settings.diskBudget,
    homeOf: (agentId: string) => deps.homes.pathFor(agentId),
  };
  const sandbox = createSandboxActivities(sandboxDeps);
  const git = createGitActivities({ workspaces: deps.workspaces, checkpoints, runtime: deps.runtime, homes: deps.homes, turnsInFlight: deps.turnsInFlight });
  const gates = createGateActivities({
    workspaces: deps.workspaces,
    runtime: deps.runtime,
    review: (args, ctx) => reviewDiff(model, args, ctx),
    paidReviews: { verdicts: deps.reviewVerdicts, ledger: deps.ledger },
    coordinator: deps.coordinator,
    gateTimeoutMs: settings.gateTimeoutMs,
    coverageThreshold: settings.coverageThreshold,
    diskBudget: settings.diskBudget,
    events,
    redact,
    networkOff: settings.gateNetworkOff ?? false,
  });
  const modelActivities = createModelActivities({
    ...model,
    transcripts,
    ledger: deps.ledger,
    maxTokensPerTurn: settings.maxTokensPerTurn,
    price: settings.price,
    promptCache: settings.promptCache,
    context: settings.context,
    events,
    redact,
    diffFrom: (workspace, base) => deps.workspaces.diffFrom(workspace, base),
    sandboxWorkspaceDir: deps.runtime.kind === 'none' ? undefined : '/workspace',
  });
  const stateActivities = createStateActivities({ states: deps.states, transcripts, checkpoints: deps.checkpointStore, ledger: deps.ledger, stateTtlSeconds: settings.stateTtlSeconds });
  return holdFirstHeartbeats(classifyFailures({
    ...stateActivities,
    ...modelActivities,
    ...sandbox,
    ...git,
    ...gates,
    ...createSetupActivities({
      prepareWorkspace: git.prepareWorkspace,
      resolveGates: gates.resolveGates,
      startSandbox: sandbox.startSandbox,
      discardWorkspace: (workspace) => deps.workspaces.remove(workspace),
      // The home only once no container of the agent can use it (as cleanupAgent does).
      discardSandbox: async (agentId) => {
        await deps.runtime.discard(agentId);
        await deps.homes.remove(agentId);
      },
    }),
    ...createAcceptActivities({ runGates: gates.runGates, scanAndCommit: git.scanAndCommit, pushIfMergeable: git.pushIfMergeable }),
    ...createHostLivenessActivities({ polls: deps.taskQueuePolls }),
    ...createTurnActivities({
      runToolBatch: createToolBatchRunner(sandboxDeps),
      modelTurn: modelActivities.modelTurn,
      recordState: stateActivities.recordState,
      inFlight: deps.turnsInFlight,
      toolSlots: deps.toolSlots,
    }),
  }));
}

export type Activities = ReturnType<typeof createActivities>;

/**
 * The activities a worker registers on the shared queue, on its host's own queue, and on its
 * host's turn queue (domain/placement.ts).
 */
export function splitByPlacement(activities: Activities): { shared: Partial<Activities>; host: Partial<Activities>; turns: Partial<Activities> } {
  const split = { shared: {} as Record<string, unknown>, host: {} as Record<string, unknown>, turns: {} as Record<string, unknown> };
  for (const [name, fn] of Object.entries(activities)) split[isHostTurn(name) ? 'turns' : isHostBound(name) ? 'host' : 'shared'][name] = fn;
  return split as { shared: Partial<Activities>; host: Partial<Activities>; turns: Partial<Activities> };
}
