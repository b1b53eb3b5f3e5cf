/**
 * Start-to-close timeouts of the activities whose work a setting bounds (workflows/activity-options.ts):
 * a setting longer than its activity could never apply (config/index.ts refuses it).
 */
export const ACTIVITY_TIMEOUT_SECONDS = {
  /** One model call on the model queue (MODEL_REQUEST_TIMEOUT_SECONDS). */
  modelCall: 15 * 60,
  /** One batch of tool calls (TOOL_TIMEOUT_SECONDS per command). */
  toolBatch: 60 * 60,
  /** The gates of a phase, one after the other (GATE_TIMEOUT_SECONDS per gate). */
  gates: 3 * 60 * 60,
} as const;

/** What a setting leaves the rest of its activity: reading the transcript, a checkpoint, the report. */
export const ACTIVITY_MARGIN_SECONDS = 60;
