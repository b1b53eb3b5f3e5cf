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
 */
import type Redis from 'ioredis';
import type { AgentStatusView } from '../domain/agent';
import { roundUsd } from '../domain/pricing';
import { keys } from './keys';

/** The total's field; entries are named `turn:<index>` or `review:<...>`, never this. */
export const TOTAL_FIELD = 'total';

// An entry is written once: a retry that records the same call again adds nothing.
const RECORD_SCRIPT = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[3], ARGV[2])
end
return redis.call('HGET', KEYS[1], ARGV[3])
`;

const toMicros = (usd: number) => Math.max(0, Math.round(usd * 1_000_000));
/** USD of a stored total (`null`: nothing recorded). */
export const usdFromMicros = (micros: string | null | undefined) => (micros ? roundUsd(Number(micros) / 1_000_000) : 0);

export class SpendLedger {
  constructor(private readonly redis: Redis) {}

  /** Records what call `callId` of the agent cost (once); returns the agent's total in USD. */
  async record(agentId: string, callId: string, usd: number): Promise<number> {
    if (callId === TOTAL_FIELD) throw new Error(`"${TOTAL_FIELD}" is not a call id`);
    const total = (await this.redis.eval(RECORD_SCRIPT, 1, keys.spend(agentId), callId, String(toMicros(usd)), TOTAL_FIELD)) as string | null;
    return usdFromMicros(total);
  }

  /** USD the agent's model calls have cost so far (0 when none is recorded). */
  async total(agentId: string): Promise<number> {
    return usdFromMicros(await this.redis.hget(keys.spend(agentId), TOTAL_FIELD));
  }

  /** Lets the ledger and the stored review verdicts go with the agent's other records. */
  async expire(agentId: string, ttlSeconds: number): Promise<void> {
    await this.redis.multi().expire(keys.spend(agentId), ttlSeconds).expire(keys.reviews(agentId), ttlSeconds).exec();
  }
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
