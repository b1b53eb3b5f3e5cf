/**
 * The event log of agent runs in Valkey: one capped stream per agent and one global stream per
 * Temporal namespace (deployments of other namespaces may share the Valkey; each one's "all agents"
 * is its own), so a client can follow one agent or all of them and resume from the last stream id it saw
 * (`Last-Event-ID`). Each append carries a key naming what it reports (`turn:5`, `gates:pre-commit:1`);
 * a second append with the same key returns the first one's id and writes nothing, so an activity
 * that is retried after its event was written never reports the same thing twice.
 */
import type Redis from 'ioredis';
import type { AgentEvent, StoredAgentEvent } from '../domain/agent-events';
import { keys } from './keys';

/** Entries kept (approximately: `MAXLEN ~`) per agent and in the global stream. */
export const EVENT_STREAM_LIMITS = { perAgent: 10_000, global: 100_000 } as const;

export interface AgentEventLogOptions {
  /**
   * Entries kept per agent (approximately: `MAXLEN ~`).
   * @default 10000
   */
  maxPerAgent?: number;
  /**
   * Entries kept in the global stream (approximately).
   * @default 100000
   */
  maxGlobal?: number;
  /**
   * The Temporal namespace whose global stream this log appends to and reads (keys.ts).
   * @default the default namespace (the seed's key name)
   */
  namespace?: string;
}

// Returns {appended, id}. The seen-hash makes a repeated append a no-op that answers the first id.
// An append after the run's final write (the answer of a model call a kill abandoned) finds the
// stream or the seen hash already expiring, and may create the other one: that one gets the same
// TTL, read before XADD and HSET create a missing key without one. Nothing else would expire it:
// the final write's EXPIRE found no key, and the reaper does not look at event keys.
const APPEND_SCRIPT = `
local seen = redis.call('HGET', KEYS[3], ARGV[1])
if seen then return {0, seen} end
local inherited = math.max(redis.call('PTTL', KEYS[1]), redis.call('PTTL', KEYS[3]))
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'type', ARGV[2], 'data', ARGV[3])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'type', ARGV[2], 'data', ARGV[3])
redis.call('HSET', KEYS[3], ARGV[1], id)
local ttl = tonumber(ARGV[6])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
elseif inherited > 0 then
  redis.call('PEXPIRE', KEYS[1], inherited)
  redis.call('PEXPIRE', KEYS[3], inherited)
end
return {1, id}
`;

export interface AppendOptions {
  /** Names what the event reports; appending the same key again for this agent is a no-op. */
  dedupKey: string;
  /** Set once the run is over: the agent's stream then expires with its state. */
  expireAfterSeconds?: number;
}

export class AgentEventLog {
  private readonly maxPerAgent: number;
  private readonly maxGlobal: number;
  private readonly globalKey: string;

  constructor(
    private readonly redis: Redis,
    options: AgentEventLogOptions = {},
  ) {
    this.maxPerAgent = options.maxPerAgent ?? EVENT_STREAM_LIMITS.perAgent;
    this.maxGlobal = options.maxGlobal ?? EVENT_STREAM_LIMITS.global;
    this.globalKey = keys.allEvents(options.namespace);
  }

  /** Appends to the agent's stream and the namespace's global one; `appended` is false for a repeated key. */
  async append(event: AgentEvent, options: AppendOptions): Promise<{ id: string; appended: boolean }> {
    const [appended, id] = (await this.redis.eval(
      APPEND_SCRIPT,
      3,
      keys.agentEvents(event.agentId),
      this.globalKey,
      keys.agentEventsSeen(event.agentId),
      options.dedupKey,
      event.type,
      JSON.stringify(event),
      String(this.maxPerAgent),
      String(this.maxGlobal),
      String(options.expireAfterSeconds ?? 0),
    )) as [number, string];
    return { id, appended: appended === 1 };
  }

  /**
   * Up to `count` events after `afterId` (exclusive; `'0'` for the start; `'<ms>'` means
   * `'<ms>-0'`), oldest first, from one agent's stream or, with `agentId` undefined, the namespace's global one.
   */
  async readAfter(agentId: string | undefined, afterId: string, count: number): Promise<StoredAgentEvent[]> {
    const key = agentId === undefined ? this.globalKey : keys.agentEvents(agentId);
    const after = afterId.includes('-') ? afterId : `${afterId}-0`;
    const entries = await this.redis.xrange(key, `(${after}`, '+', 'COUNT', count);
    return entries.flatMap(([id, fields]) => {
      const event = decodeEntry(fields);
      return event ? [{ id, event }] : [];
    });
  }

  /** Id of the newest entry of the namespace's global stream, or `'0'` when it is empty. */
  async lastGlobalId(): Promise<string> {
    const [newest] = await this.redis.xrevrange(this.globalKey, '+', '-', 'COUNT', 1);
    return newest?.[0] ?? '0';
  }

  /** Starts the expiry of an agent's events (the run ended without a final event of its own). */
  async expire(agentId: string, ttlSeconds: number): Promise<void> {
    await this.redis.multi().expire(keys.agentEvents(agentId), ttlSeconds).expire(keys.agentEventsSeen(agentId), ttlSeconds).exec();
  }
}

/** The event of a stream entry's fields (`type`, `data`), or undefined for an entry we did not write. */
export function decodeEntry(fields: readonly string[]): AgentEvent | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] !== 'data') continue;
    try {
      return JSON.parse(fields[i + 1]!) as AgentEvent;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
