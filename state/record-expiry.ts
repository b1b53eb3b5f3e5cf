/**
 * An agent's records in Valkey (state, transcript, checkpoints, event stream) live until its run
 * ends, and the run's final state write gives them the state TTL. A run that closed without that
 * write (terminated from the Temporal Web UI or CLI, timed out, or force-killed while Valkey was
 * unreachable) would keep them forever, checkpoints of up to CHECKPOINT_MAX_BYTES among them.
 * This reaper target finds records with no TTL whose workflow is closed and sets the TTL. Every
 * worker runs it; setting a TTL twice is harmless.
 */
import type Redis from 'ioredis';
import { keys } from './keys';

// The review verdicts too: a gate attempt on a host taken for lost may keep one after the final
// write gave the run's other records their TTL.
const PREFIXES = [keys.transcript(''), keys.checkpoints(''), keys.agent(''), keys.spend(''), keys.reviews('')];

/** Sets `ttlSeconds` on every record of an agent whose run is closed but whose records never expire; returns how many agents. */
export async function expireClosedRunRecords(redis: Redis, isClosed: (agentId: string) => Promise<boolean>, ttlSeconds: number): Promise<number> {
  const candidates = new Set<string>();
  for (const prefix of PREFIXES) {
    for (const key of await scanKeys(redis, `${prefix}*`)) {
      if ((await redis.ttl(key)) === -1) candidates.add(key.slice(prefix.length));
    }
  }
  let expired = 0;
  for (const agentId of candidates) {
    if (!agentId || !(await isClosed(agentId))) continue;
    await expireRecords(redis, agentId, ttlSeconds);
    expired++;
  }
  return expired;
}

/** Lets every record of an ended run expire, in one transaction. */
export async function expireRecords(redis: Redis, agentId: string, ttlSeconds: number): Promise<void> {
  const multi = redis.multi();
  for (const key of recordKeys(agentId)) multi.expire(key, ttlSeconds);
  await multi.exec();
}

/** Every key that holds one agent's records. */
export function recordKeys(agentId: string): string[] {
  return [
    keys.agent(agentId),
    keys.transcript(agentId),
    keys.checkpoints(agentId),
    keys.checkpointPacks(agentId),
    keys.agentEvents(agentId),
    keys.agentEventsSeen(agentId),
    keys.spend(agentId),
    keys.reviews(agentId),
  ];
}

async function scanKeys(redis: Redis, match: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  return found;
}
