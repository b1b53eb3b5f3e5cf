/**
 * An agent's records in Valkey (state, transcript, checkpoints, event stream, and its task's
 * record while that names it) live until its run
 * ends, and the run's final state write gives them the state TTL. A run that closed without that
 * write (terminated from the Temporal Web UI or CLI, timed out, or force-killed while Valkey was
 * unreachable) would keep them forever, checkpoints of up to CHECKPOINT_MAX_BYTES among them.
 * This reaper target finds records with no TTL whose workflow is closed and sets the TTL. Every
 * worker runs it; setting a TTL twice is harmless.
 */
import type Redis from 'ioredis';
import { keys } from './keys';

// Every kind of an agent's records: an attempt on a host taken for lost, or one that hears of a
// termination only at its next heartbeat, may write one (a review verdict, a rebuild's host claim,
// whose plain SET clears a TTL) after the final write gave the run's other records theirs.
const PREFIXES = recordKeys('');
const COMMON_PREFIX = PREFIXES.reduce((common, p) => {
  let n = 0;
  while (n < common.length && common[n] === p[n]) n++;
  return common.slice(0, n);
});

/** Sets `ttlSeconds` on every record of an agent whose run is closed but whose records never expire; returns how many agents. */
export async function expireClosedRunRecords(redis: Redis, isClosed: (agentId: string) => Promise<boolean>, ttlSeconds: number): Promise<number> {
  // One walk of the keyspace for all kinds (SCAN MATCH walks every key whatever it matches).
  const candidates = new Set<string>();
  for (const key of await keysWithoutExpiry(redis, `${COMMON_PREFIX}*`)) {
    const prefix = PREFIXES.find((p) => key.startsWith(p));
    if (prefix) candidates.add(key.slice(prefix.length));
  }
  let expired = 0;
  for (const agentId of candidates) {
    if (!agentId || !(await isClosed(agentId))) continue;
    await expireRecords(redis, agentId, ttlSeconds);
    expired++;
  }
  return expired;
}

// The task's record is shared by its agents (the last writer's): it goes with this agent's
// records only while it still names this agent, so a later agent of the task keeps its own.
const EXPIRE_TASK_IF_OWN = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, task = pcall(cjson.decode, raw)
if ok and type(task) == 'table' and task['agentId'] == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/** Agents whose state record never expires: only a final state write gives it a TTL. */
export async function agentsWithoutExpiry(redis: Redis): Promise<string[]> {
  const prefix = keys.agent('');
  return (await keysWithoutExpiry(redis, `${prefix}*`)).map((key) => key.slice(prefix.length)).filter(Boolean);
}

/**
 * Lets every record of an ended run expire, in one transaction; its task's record too (a run
 * terminated without its final write left it with none, and it is keyed by task, not agent).
 */
export async function expireRecords(redis: Redis, agentId: string, ttlSeconds: number): Promise<void> {
  const task = await taskOf(redis, agentId);
  const multi = redis.multi();
  for (const key of recordKeys(agentId)) multi.expire(key, ttlSeconds);
  if (task) multi.eval(EXPIRE_TASK_IF_OWN, 1, keys.task(task.taskId, task.namespace), agentId, String(ttlSeconds));
  await multi.exec();
}

/** The task id the agent's stored state names, if any, and the namespace whose task record it is. */
async function taskOf(redis: Redis, agentId: string): Promise<{ taskId: string; namespace?: string } | undefined> {
  const raw = await redis.get(keys.agent(agentId));
  try {
    const { taskId, namespace } = raw ? (JSON.parse(raw) as { taskId?: unknown; namespace?: unknown }) : {};
    if (typeof taskId !== 'string' || !taskId) return undefined;
    return typeof namespace === 'string' ? { taskId, namespace } : { taskId };
  } catch {
    return undefined;
  }
}

/** Every key that holds one agent's records. */
export function recordKeys(agentId: string): string[] {
  return [
    keys.agent(agentId),
    keys.transcript(agentId),
    keys.checkpoints(agentId),
    keys.checkpointPacks(agentId),
    keys.checkpointHost(agentId),
    keys.agentEvents(agentId),
    keys.agentEventsSeen(agentId),
    keys.spend(agentId),
    keys.reviews(agentId),
  ];
}

/**
 * The keys matching `match` that have no TTL. Each SCAN batch's TTLs are asked in one pipeline:
 * one round trip per batch, not per key (a Valkey keeping a week of ended runs holds records of
 * thousands of agents, and every worker asks at every reaper pass; 10,462 keys took 1.2-2.7 s and
 * 0.4-1.0 s of the worker's CPU asked one by one).
 */
async function keysWithoutExpiry(redis: Redis, match: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    if (batch.length === 0) continue;
    const pipeline = redis.pipeline();
    for (const key of batch) pipeline.ttl(key);
    const ttls = (await pipeline.exec()) ?? [];
    batch.forEach((key, i) => {
      const [err, ttl] = ttls[i] ?? [];
      if (!err && ttl === -1) found.push(key);
    });
  } while (cursor !== '0');
  return found;
}
