/**
 * The Idempotency-Keys of one agent's retries and forks (api/agent-reruns.ts): one Valkey hash
 * per agent, a field per request (`retry:<key>`, `fork:<turn>:<key>`) holding `pending` while its
 * run starts, then the new agent's id. At most `max` fields: a key per Valkey string, as before,
 * let a client that sent a new key with every retry of one agent make Valkey keep any number of
 * them (each answered with the live agent the first retry started). The hash is kept `ttlSeconds`
 * after its last claim, so every key lives at least as long as it did.
 */
import type Redis from 'ioredis';

export type KeyClaim =
  /** The key is new and now this request's: start the run, then settle or release it. */
  | { kind: 'claimed' }
  /** The key was claimed before: `pending`, or the agent its run started. */
  | { kind: 'earlier'; value: string }
  /** The key is new and the agent holds `max` keys already. */
  | { kind: 'full' };

export const PENDING = 'pending';

// KEYS: the hash, the request's key as one Valkey string (how keys were kept before the hash;
// read until they expire). ARGV: field, max fields, TTL seconds, the pending value.
const CLAIM = `
local earlier = redis.call('HGET', KEYS[1], ARGV[1])
if earlier then return {'earlier', earlier} end
local legacy = redis.call('GET', KEYS[2])
if legacy then return {'earlier', legacy} end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[2]) then return {'full', ''} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {'claimed', ''}`;

export class RerunKeys {
  constructor(
    private readonly redis: Redis,
    private readonly options: { max: number; ttlSeconds: number },
  ) {}

  async claim(hashKey: string, field: string, legacyKey: string): Promise<KeyClaim> {
    const [kind, value] = (await this.redis.eval(CLAIM, 2, hashKey, legacyKey, field, String(this.options.max), String(this.options.ttlSeconds), PENDING)) as [string, string];
    if (kind === 'earlier') return { kind, value };
    return kind === 'full' ? { kind } : { kind: 'claimed' };
  }

  /** Records the agent the claimed request started. */
  async settle(hashKey: string, field: string, agentId: string): Promise<void> {
    await this.redis.multi().hset(hashKey, field, agentId).expire(hashKey, this.options.ttlSeconds).exec();
  }

  /** Frees a claim whose run did not start: the key may be used again. */
  async release(hashKey: string, field: string): Promise<void> {
    await this.redis.hdel(hashKey, field);
  }
}
