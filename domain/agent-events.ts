/**
 * What an agent run reports as it goes: one event per lifecycle transition, phase, model turn,
 * tool batch and gate phase. Events are appended to a Valkey stream per agent and to one global
 * stream (state/agent-events.ts) and served as Server-Sent Events by the API. Pure types and
 * formatting only, so workflow code can import it.
 *
 * Nothing here carries a tool's output or the model's text: only short, redacted one-liners
 * (`bash: npm test → exit 1`), so an event never holds more of the conversation than a command line.
 */
import type { AgentPhase, AgentType } from './agent';
import type { GateName, GateOutcome, GatePhase } from './gates';
import type { AgentStatus } from './lifecycle';
import { plainText } from './plain-text';

export const AGENT_EVENT_TYPES = ['lifecycle', 'phase', 'turn', 'tools', 'gates', 'retried', 'forked'] as const;
export type AgentEventType = (typeof AGENT_EVENT_TYPES)[number];

interface EventBase {
  agentId: string;
  /** ISO time the event happened (the workflow's clock for lifecycle and phase events). */
  at: string;
}

/** A status change; `from`, `to`, `reason` as on `orchestrator:events`. */
export interface LifecycleAgentEvent extends EventBase {
  type: 'lifecycle';
  taskId: string;
  agentType?: AgentType;
  from: AgentStatus | null;
  to: AgentStatus;
  /** The phase the run entered with this change. */
  phase?: AgentPhase;
  reason?: string;
  /** Set on the first event of a run started by `POST /agents/:id/retry`. */
  retryOf?: string;
  /** Set on the events of a run started by `POST /agents/:id/fork`: the agent and turn it starts from. */
  forkOf?: string;
  forkedAtTurn?: number;
}

export interface PhaseAgentEvent extends EventBase {
  type: 'phase';
  taskId: string;
  phase: AgentPhase;
}

/** The model answered: turn number (1-based), tokens, cost when known, the tool calls it asked for. */
export interface TurnAgentEvent extends EventBase {
  type: 'turn';
  agentType?: AgentType;
  turn: number;
  stopReason: string | null;
  /** Input tokens at the full price; the cached ones are counted apart. */
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens?: number;
  cacheCreationInputTokens?: number;
  costUsd?: number;
  /** One redacted line per requested tool call, e.g. `bash: npm test`. */
  tools: string[];
}

/** A tool batch finished: one redacted line per call with its outcome, e.g. `bash: npm test → exit 1`. */
export interface ToolsAgentEvent extends EventBase {
  type: 'tools';
  agentType?: AgentType;
  turn: number;
  tools: string[];
  failed: number;
}

export interface GatesAgentEvent extends EventBase {
  type: 'gates';
  phase: GatePhase;
  round: number;
  passed: boolean;
  gates: { name: GateName; outcome: GateOutcome; durationMs: number }[];
}

/** The run was retried as a new agent (`POST /agents/:id/retry`); appended to the old agent's stream. */
export interface RetriedAgentEvent extends EventBase {
  type: 'retried';
  retriedAs: string;
}

/** A new agent was forked from this one at `turn` (`POST /agents/:id/fork`); appended to this agent's stream. */
export interface ForkedAgentEvent extends EventBase {
  type: 'forked';
  forkedAs: string;
  turn: number;
}

export type AgentEvent = LifecycleAgentEvent | PhaseAgentEvent | TurnAgentEvent | ToolsAgentEvent | GatesAgentEvent | RetriedAgentEvent | ForkedAgentEvent;

/** An event as read back from a stream: its stream entry id is the SSE event id. */
export interface StoredAgentEvent {
  id: string;
  event: AgentEvent;
}

export const MAX_SUMMARY_LINE = 120;
const TOOL_LABELS: Readonly<Record<string, string>> = { str_replace_based_edit_tool: 'edit', bash: 'bash' };

/**
 * One line naming a tool call: `bash: npm test`, `edit: create src/a.ts`. `redact` is applied
 * before anything is cut, so a secret is never left half-shown by truncation, and to the text
 * made plain: an escape the model put inside a secret hides it from redaction, not from a
 * terminal that prints the line (an event, the run's status).
 */
export function describeToolCall(name: string, input: unknown, redact: (text: string) => string): string {
  const args = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  // The name is the model's to choose, like its input: a tool it does not have is named redacted.
  const label = TOOL_LABELS[name] ?? redact(plainText(name));
  let detail = '';
  if (name === 'bash') detail = typeof args.command === 'string' ? args.command : args.restart ? 'restart' : '';
  else if (name === 'str_replace_based_edit_tool') detail = [args.command, args.path].filter((v) => typeof v === 'string').join(' ');
  return oneLine(`${label}: ${redact(plainText(detail))}`);
}

/** A tool call line with its outcome: `bash: npm test → exit 1`, `edit: create a.ts → ok`. */
export function describeToolOutcome(call: string, outcome: string): string {
  const suffix = ` → ${outcome}`;
  return `${oneLine(call, MAX_SUMMARY_LINE - suffix.length)}${suffix}`;
}

/** Whitespace collapsed to single spaces, cut to `max` characters with `…`. */
export function oneLine(text: string, max = MAX_SUMMARY_LINE): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(0, max - 1))}…`;
}

/** A path for a message: one that an agent made very long (thousands of levels) keeps its start and its end. */
export function shortPath(rel: string, max = 160): string {
  if (rel.length <= max) return rel;
  const end = Math.floor(max / 3);
  return `${rel.slice(0, max - end - 1)}…${rel.slice(rel.length - end)}`;
}

/** Several lines joined with `; ` into one bounded line (`…and 3 more` when cut). */
export function joinBounded(lines: readonly string[], max = 2 * MAX_SUMMARY_LINE): string {
  let out = '';
  for (const [i, line] of lines.entries()) {
    const rest = lines.length - i;
    const next = out ? `${out}; ${line}` : line;
    const tail = rest > 1 ? `; …and ${rest - 1} more` : '';
    if (next.length + tail.length > max && out) return `${out}; …and ${rest} more`;
    out = next;
  }
  return oneLine(out, max);
}
