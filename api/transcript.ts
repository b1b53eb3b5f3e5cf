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

/** Messages `[from, from + limit)` of the agent's transcript, redacted; `null` when none is stored. */
export async function readTranscriptPage(
  redis: Redis,
  agentId: string,
  page: { from: number; limit: number },
  redact: (text: string) => string,
): Promise<TranscriptPage | null> {
  const key = keys.transcript(agentId);
  const total = await redis.hlen(key);
  if (total === 0) return null;
  const end = Math.min(page.from + page.limit, total);
  const indexes = Array.from({ length: Math.max(0, end - page.from) }, (_, i) => page.from + i);
  const raws = indexes.length ? await redis.hmget(key, ...indexes.map(String)) : [];
  const messages = raws.flatMap((raw, i) => {
    if (raw === null) return [];
    const message = JSON.parse(raw) as { role: 'user' | 'assistant'; content: unknown };
    return [{ index: indexes[i]!, role: message.role, content: redactDeep(message.content, redact) }];
  });
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
