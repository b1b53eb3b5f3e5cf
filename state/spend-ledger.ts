/**
 * What an agent's model calls cost, as they are paid: one entry per call (a turn by its message
 * index, a review by gate phase, round and diff, each with an id of the call's own, since two
 * attempts of one activity may both pay), written by the activity that made the call right after
 * the answer, with a running total in micro-dollars.
 *
 * The workflow's own sum can miss a paid call: one made by an activity attempt that failed after
 * it, or a turn the workflow abandoned on a kill whose answer still came (a model call hears of its
 * cancellation at its next heartbeat, up to 30 s later). The ledger has every one. Budget checks
 * take the larger of the two, the workflow takes the ledger's total from each activity that pays,
 * and a status read adds what was paid after the run's final write (agent-state-store.ts).
 *
 * A call under a dollar budget is held first (`hold`): the most it can cost goes on the ledger as
 * held before the request leaves, and its price replaces the hold when it is recorded. Budget
 * checks count what is held (`committed`), so a second attempt started while the first still
 * waits (a missed heartbeat, a host taken for lost) sees the first one's call. A hold whose call
 * never answered stays: the request may have been billed, so the budget keeps counting it; the
 * bill (`total`) shows only prices the API gave.
 */
import type Redis from 'ioredis';
import type { AgentStatusView } from '../domain/agent';
import { roundUsd } from '../domain/pricing';
import { keys } from './keys';

/** The total's field; entries are named `turn:<index>` or `review:<...>`, never this. */
export const TOTAL_FIELD = 'total';
/** What calls not yet priced may cost; each hold is an entry `hold:<callId>`. */
const HELD_FIELD = 'held';
const HOLD_PREFIX = 'hold:';

// An entry is written once: a retry that records the same call again adds nothing. Its hold goes.
const RECORD_SCRIPT = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'total', ARGV[2])
end
local held = redis.call('HGET', KEYS[1], 'hold:' .. ARGV[1])
if held then
  redis.call('HDEL', KEYS[1], 'hold:' .. ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'held', -tonumber(held))
end
return redis.call('HGET', KEYS[1], 'total')
`;

// Holds only if nothing was paid or held since the caller read ARGV[3] (its budget check used it).
const HOLD_SCRIPT = `
local v = redis.call('HMGET', KEYS[1], 'total', 'held')
local committed = tonumber(v[1] or '0') + tonumber(v[2] or '0')
if committed ~= tonumber(ARGV[3]) then return 0 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HSETNX', KEYS[1], 'hold:' .. ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'held', ARGV[2])
end
return 1
`;

const RELEASE_SCRIPT = `
local held = redis.call('HGET', KEYS[1], 'hold:' .. ARGV[1])
if held then
  redis.call('HDEL', KEYS[1], 'hold:' .. ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'held', -tonumber(held))
end
return 1
`;

/** What the ledger counts against a budget: prices paid plus holds, in micro-dollars (to hold against) and USD. */
export interface Committed {
  micros: number;
  usd: number;
  /** The part of `usd` held for calls not priced yet. */
  heldUsd: number;
}

const toMicros = (usd: number) => Math.max(0, Math.round(usd * 1_000_000));
/** USD of a stored total (`null`: nothing recorded). */
export const usdFromMicros = (micros: string | null | undefined) => (micros ? roundUsd(Number(micros) / 1_000_000) : 0);

export class SpendLedger {
  constructor(private readonly redis: Redis) {}

  /** Records what call `callId` of the agent cost (once); returns the agent's total in USD. */
  async record(agentId: string, callId: string, usd: number): Promise<number> {
    assertCallId(callId);
    const total = (await this.redis.eval(RECORD_SCRIPT, 1, keys.spend(agentId), callId, String(toMicros(usd)))) as string | null;
    return usdFromMicros(total);
  }

  /** USD the agent's model calls have cost so far (0 when none is recorded). */
  async total(agentId: string): Promise<number> {
    return usdFromMicros(await this.redis.hget(keys.spend(agentId), TOTAL_FIELD));
  }

  /** Paid plus held: what a budget check must count. */
  async committed(agentId: string): Promise<Committed> {
    const [total, held] = await this.redis.hmget(keys.spend(agentId), TOTAL_FIELD, HELD_FIELD);
    const micros = Number(total ?? 0) + Number(held ?? 0);
    return { micros, usd: usdFromMicros(String(micros)), heldUsd: usdFromMicros(held) };
  }

  /**
   * Holds `usd` for call `callId` unless the ledger moved since `seen` was read (then false: check
   * the budget again). Holding a call already held or recorded adds nothing.
   */
  async hold(agentId: string, callId: string, usd: number, seen: Committed): Promise<boolean> {
    assertCallId(callId);
    return (await this.redis.eval(HOLD_SCRIPT, 1, keys.spend(agentId), callId, String(toMicros(usd)), String(seen.micros))) === 1;
  }

  /** Drops the hold of a call the API never billed (it answered with an error, or the request never left). */
  async release(agentId: string, callId: string): Promise<void> {
    await this.redis.eval(RELEASE_SCRIPT, 1, keys.spend(agentId), callId);
  }

  /** Lets the ledger and the stored review verdicts go with the agent's other records. */
  async expire(agentId: string, ttlSeconds: number): Promise<void> {
    await this.redis.multi().expire(keys.spend(agentId), ttlSeconds).expire(keys.reviews(agentId), ttlSeconds).exec();
  }
}

function assertCallId(callId: string): void {
  if (callId === TOTAL_FIELD || callId === HELD_FIELD || callId.startsWith(HOLD_PREFIX)) throw new Error(`"${callId}" is not a call id`);
}

/** The view with its cost raised to what the ledger says was paid (the same view when that is not more). */
export function withSpent<T extends AgentStatusView>(view: T, spentUsd: number): T {
  const raise = (usd: number | undefined) => (usd !== undefined && usd < spentUsd ? spentUsd : usd);
  const progressCost = raise(view.progress?.costUsd);
  const resultCost = raise(view.result?.costUsd);
  if (progressCost === view.progress?.costUsd && resultCost === view.result?.costUsd) return view;
  return {
    ...view,
    ...(view.progress ? { progress: { ...view.progress, costUsd: progressCost } } : {}),
    ...(view.result ? { result: { ...view.result, costUsd: resultCost } } : {}),
  };
}
