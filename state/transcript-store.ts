/**
 * The agent's conversation, kept outside workflow history: one Valkey hash per agent, one field
 * per message index. Writes are idempotent (the same index always holds the same message), so a
 * retried activity overwrites rather than appends, and the workflow passes only a count around.
 */
import type Redis from 'ioredis';
import type Anthropic from '@anthropic-ai/sdk';
import { TypedError } from '../domain/typed-error';
import { keys } from './keys';

/** A message the conversation needs is gone (evicted or deleted): continuing would send a shortened conversation. */
export class TranscriptMissingError extends TypedError {
  readonly type = 'TranscriptMissing';
  constructor(
    readonly agentId: string,
    readonly index: number,
  ) {
    super(`the transcript of agent ${agentId} has lost message ${index}; the run cannot continue without it`);
  }
}

export interface TranscriptMessage {
  role: 'user' | 'assistant';
  content: string | Anthropic.ContentBlockParam[];
  /** Usage of the model call that produced an assistant message, as the API reported it, so a replayed turn reports the same. */
  usage?: StoredUsage;
  stop_reason?: string | null;
  /** What the call that produced an assistant message cost, at the price of its time. */
  costUsd?: number;
  /** The spend ledger's entry of the call that produced an assistant message (absent before calls had their own). */
  callId?: string;
  /** When the request that produced an assistant message was sent (epoch ms): the prompt cache it wrote or read lives from then. */
  sentAt?: number;
  /** When an assistant message was answered (epoch ms); the cache's age for answers stored before `sentAt`. */
  answeredAt?: number;
  /** How the request that produced an assistant message was built. */
  request?: {
    estimatedTokens: number;
    maxTokens: number;
    clearedBefore: number;
    dropped: number;
    /** Key of the request's tools and system prompt (absent before it was kept): its thinking is bound to them. */
    fixed?: string;
  };
}

export interface StoredUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation?: { ephemeral_5m_input_tokens?: number | null; ephemeral_1h_input_tokens?: number | null } | null;
}

export class TranscriptStore {
  constructor(private readonly redis: Redis) {}

  async put(agentId: string, index: number, message: TranscriptMessage): Promise<void> {
    await this.redis.hset(keys.transcript(agentId), String(index), JSON.stringify(message));
  }

  async get(agentId: string, index: number): Promise<TranscriptMessage | null> {
    const raw = await this.redis.hget(keys.transcript(agentId), String(index));
    return raw ? (JSON.parse(raw) as TranscriptMessage) : null;
  }

  /** Messages `[0, count)` in order; throws when one is missing, since a gap means a lost write. */
  async range(agentId: string, count: number): Promise<TranscriptMessage[]> {
    if (count === 0) return [];
    const fields = Array.from({ length: count }, (_, i) => String(i));
    const raws = await this.redis.hmget(keys.transcript(agentId), ...fields);
    return raws.map((raw, i) => {
      if (raw === null) throw new TranscriptMissingError(agentId, i);
      return JSON.parse(raw) as TranscriptMessage;
    });
  }

  /** How many messages are stored (they are written without gaps from index 0). */
  async count(agentId: string): Promise<number> {
    return this.redis.hlen(keys.transcript(agentId));
  }

  async expire(agentId: string, ttlSeconds: number): Promise<void> {
    await this.redis.expire(keys.transcript(agentId), ttlSeconds);
  }
}
