/**
 * `GET /agents/:agentId/transcript`: the stored conversation, a page at a time, with every string
 * in it (text, tool inputs, tool results) passed through the secret scanner's redaction first: an
 * agent that printed a key in a tool result must not hand it to whoever reads the transcript.
 */
import type Redis from 'ioredis';
import { keys } from '../state/keys';

export interface TranscriptPage {
  agentId: string;
  from: number;
  limit: number;
  /** Messages stored for this agent. */
  total: number;
  messages: { index: number; role: 'user' | 'assistant'; content: unknown }[];
  /** `from` of the next page, when there is one. */
  nextFrom?: number;
}

/**
 * Redaction time a page may take before it ends early (`nextFrom` says where to go on). The agent
 * writes the transcript, and text built to be slow to redact (a keyword repeated through 30 KB
 * costs the scanner's rules about 0.4 s) made one page of 500 such messages hold the API for
 * minutes: status, kills and every other request waited behind it.
 */
export const PAGE_REDACTION_BUDGET_MS = 1000;

/**
 * Messages `[from, from + limit)` of the agent's transcript, redacted; `null` when none is stored.
 * Fewer when redacting them took more than `budgetMs` (at least one is always returned), and the
 * event loop is let go between messages, so other requests are served meanwhile.
 */
export async function readTranscriptPage(
  redis: Redis,
  agentId: string,
  page: { from: number; limit: number },
  redact: (text: string) => string,
  budget: { ms: number; now: () => number } = { ms: PAGE_REDACTION_BUDGET_MS, now: () => performance.now() },
): Promise<TranscriptPage | null> {
  const key = keys.transcript(agentId);
  const total = await redis.hlen(key);
  if (total === 0) return null;
  let end = Math.min(page.from + page.limit, total);
  const indexes = Array.from({ length: Math.max(0, end - page.from) }, (_, i) => page.from + i);
  const raws = indexes.length ? await redis.hmget(key, ...indexes.map(String)) : [];
  const messages: TranscriptPage['messages'] = [];
  const started = budget.now();
  for (const [i, raw] of raws.entries()) {
    if (raw !== null) {
      const message = JSON.parse(raw) as { role: 'user' | 'assistant'; content: unknown };
      messages.push({ index: indexes[i]!, role: message.role, content: redactDeep(message.content, redact) });
    }
    if (i + 1 < raws.length && messages.length > 0 && budget.now() - started > budget.ms) {
      end = indexes[i]! + 1;
      break;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { agentId, from: page.from, limit: page.limit, total, messages, ...(end < total ? { nextFrom: end } : {}) };
}

/** A copy of `value` with `redact` applied to every string in it, keys too (a tool input's keys are the model's). */
export function redactDeep(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactDeep(v, redact)]));
  }
  return value;
}
