/**
 * Start-to-close timeouts of the activities whose work a setting bounds (workflows/activity-options.ts),
 * and what each leaves the rest of its activity: a setting longer than that could never apply
 * (config/index.ts refuses it); Temporal would time the activity out first and retry it.
 */
export const ACTIVITY_LIMITS = {
  /** One model call on the model queue (MODEL_REQUEST_TIMEOUT_SECONDS); the margin reads the transcript and stores the answer. */
  modelCall: { seconds: 15 * 60, margin: 60 },
  /** One batch of tool calls (TOOL_TIMEOUT_SECONDS per command); the margin stores results and a checkpoint. */
  toolBatch: { seconds: 60 * 60, margin: 60 },
  /** The gates of a phase, one after the other (GATE_TIMEOUT_SECONDS per gate). */
  gates: { seconds: 3 * 60 * 60, margin: 60 },
  /** One report to the coordinator per attempt (COORDINATOR_TIMEOUT_SECONDS). */
  coordinator: { seconds: 60, margin: 5 },
  /** Cleanup: the container's graceful stop (SANDBOX_GRACEFUL_STOP_TIMEOUT_SECONDS), then salvage and worktree removal. */
  cleanup: { seconds: 10 * 60, margin: 60 },
} as const;
