/**
 * Every failure type the service raises, in one table with whether a retry can help.
 *
 * Activities throw `TypedError`s naming a type from this table; one wrapper
 * (activities/failures.ts) turns them into `ApplicationFailure`s whose `nonRetryable` comes from
 * here, so a retry policy never needs its own list. The workflow ends runs with the run-level
 * types below; the coordinator branches on them. Pure data: workflow code imports it.
 */
export const FAILURES = {
  // Bad input and policy refusals: the same input fails the same way.
  InvalidInput: { retryable: false, means: 'the request or an input reaching git/Docker is invalid' },
  PathOutsideWorkspace: { retryable: false, means: 'a path resolved outside the agent workspace' },
  InvalidGateConfig: { retryable: false, means: "the repository's gate configuration cannot be read" },
  GatesUnavailable: { retryable: false, means: "the profile's gates are not all defined at the base commit (found before the first model call)" },
  TranscriptMissing: { retryable: false, means: 'a stored conversation message is gone; the run cannot continue without it' },
  CheckpointTooLarge: { retryable: false, means: "the agent's saved workspace changes grew past CHECKPOINT_MAX_BYTES" },
  ForkSourceMissing: { retryable: false, means: "the forked agent's conversation or workspace checkpoint at the fork turn is gone (they expire with its state)" },
  CheckpointHostMoved: { retryable: false, means: "a host the agent was moved off tried to save its checkpoint: the agent's workspace is on another host now" },
  CheckpointMissing: { retryable: false, means: 'a saved workspace checkpoint is gone; the workspace cannot be rebuilt on another host' },

  // Hosts: an agent's files live on one worker host.
  HostLost: { retryable: false, means: "the agent's hosts kept stopping: it moved more often than a run allows" },
  WorkspaceLost: { retryable: false, means: "the agent's worktree is gone from its host (the host's disk was lost); the run moves to another host" },
  TaskQueueUnreadable: { retryable: true, means: "the Temporal server did not describe a host's task queue (asked before moving an agent off a host that was late)" },

  // The model API.
  ModelUnavailable: { retryable: true, means: 'rate limit, overload, 5xx or a connection fault' },
  ModelRequestRejected: { retryable: false, means: 'the model API refused the request (4xx)' },
  ContextOverflow: { retryable: false, means: "no request the conversation allows fits the model's context window (the task alone, or tool results that stay too long even cut), so none is sent" },

  // Git.
  GitCommandFailed: { retryable: true, means: 'a git process failed (network, a lock left by a crash)' },
  GitAborted: { retryable: false, means: 'git was stopped because the activity was cancelled' },
  RepositoryNotFound: { retryable: false, means: 'the remote does not exist or is not a git repository' },
  BranchNotFound: { retryable: false, means: 'the base branch does not exist in the repository' },
  GitAuthFailed: { retryable: false, means: 'the remote refused our credentials, or needs some and none are configured' },
  WorktreeUnstageable: { retryable: false, means: 'git refuses to stage something in the worktree (a path it may not store, a tracked file turned into a FIFO, an unreadable file, a working-tree-encoding it cannot convert)' },

  // The Docker sandbox.
  SandboxUnavailable: { retryable: true, means: 'the Docker engine did not answer' },
  SandboxImageMissing: { retryable: false, means: 'the sandbox image is not built on this host' },
  SandboxStartFailed: { retryable: true, means: 'the engine could not start the container' },
  SandboxWorkspaceUnusable: { retryable: false, means: 'the workspace cannot be mounted into a container' },
  SandboxCommandFailed: { retryable: true, means: 'the engine refused to run a command' },
  SandboxGone: { retryable: false, means: 'the container stopped or was removed while in use' },
  SandboxCleanupFailed: { retryable: true, means: 'some containers could not be removed' },
  WorkspaceTooLarge: { retryable: false, means: 'the worktree and home grew past WORKSPACE_MAX_MB or WORKSPACE_MAX_FILES' },
  TurnStopped: { retryable: false, means: "the agent's cleanup stopped the tool calls of a turn it no longer waited for (the run was killed)" },

  // The coordinator.
  CoordinatorUnavailable: { retryable: true, means: 'network error, timeout, 408, 429 or 5xx from the coordinator' },
  CoordinatorRejected: { retryable: false, means: 'the coordinator refused the report (4xx) or answered nonsense' },

  // How a run ends: raised by the workflow itself, never retried.
  BudgetExceeded: { retryable: false, means: 'a turn, token or wall-time budget was used up' },
  GateFailed: { retryable: false, means: 'quality gates still failed after the feedback rounds' },
  SecretDetected: { retryable: false, means: 'the agent kept a secret (or content the scanner cannot read) in its changes after the feedback rounds' },
  CommitRefused: { retryable: false, means: 'the changes could not be staged as they are (a nested repository, entries git refuses) after the feedback rounds' },
  MergeConflict: { retryable: false, means: 'the agent branch no longer merges into its target' },
  CoordinatorVeto: { retryable: false, means: 'the coordinator vetoed the push' },
  NothingToCommit: { retryable: false, means: 'the agent finished without changing anything' },
  AnswerCutOff: { retryable: false, means: "the agent's answers were cut off at max_tokens (AGENT_MAX_TOKENS_PER_TURN, its thinking included) several turns in a row, each before it finished" },
  AgentFailed: { retryable: false, means: 'the run failed for a reason without a type of its own' },
} as const satisfies Record<string, { retryable: boolean; means: string }>;

export type FailureType = keyof typeof FAILURES;

/** Whether a retry can help; unknown types (bugs, library errors) are retried, as Temporal does by default. */
export function isRetryable(type: string): boolean {
  return type in FAILURES ? FAILURES[type as FailureType].retryable : true;
}

export function isFailureType(type: string): type is FailureType {
  return type in FAILURES;
}
