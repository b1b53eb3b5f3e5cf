/**
 * Race-safe idempotency for spawns: one Valkey key per (taskId, agentType) holds the agent that
 * owns the task. A claim-if-absent decides concurrent spawns; a claim is replaced (compare-and-set)
 * only when its agent has finished, or when its workflow never appeared within a grace period (the
 * claimer died between claiming and starting). A queue other than the default one also reads, while
 * its own claim is absent, the claim's name from before queues were in it (keys.ts): a claim made
 * before the upgrade still holds the task for its live agent.
 */
import type Redis from 'ioredis';
import type { AgentStatus } from '../domain/lifecycle';
import { setTimeout as sleep } from 'node:timers/promises';

interface StoredClaim {
  agentId: string;
  /** Epoch ms; compared with the wall clock by every API instance, so it is real time. */
  claimedAt: number;
}

/** What the owner of an existing claim is doing. */
export type ClaimOwnerState =
  | { kind: 'live'; status: AgentStatus }
  | { kind: 'stopping' }
  | { kind: 'finished' }
  | { kind: 'missing' }
  /** Another task queue's agent (a claim under the name from before queues): not this queue's to answer or wait for. */
  | { kind: 'elsewhere' };

export interface SpawnClaimKeys {
  /** The claim of this namespace and task queue. */
  own: string;
  /** The name from before queues were in it, read while `own` is absent (keys.spawnClaimBeforeQueues). */
  beforeQueues?: string;
}

export type ClaimResult = { acquired: true } | { acquired: false; agentId: string; status: AgentStatus };

export interface SpawnClaimOptions {
  ttlSeconds: number;
  /** How long a claim whose workflow does not exist yet is presumed to be mid-start. */
  pendingGraceMs: number;
  retryDelayMs: number;
}

export const DEFAULT_SPAWN_CLAIM_OPTIONS: Omit<SpawnClaimOptions, 'ttlSeconds'> = { pendingGraceMs: 10_000, retryDelayMs: 25 };

/**
 * Claims KEYS[1] unless it is held, or, absent, unless the claim from before queues (KEYS[2], if
 * given) is there: {0} claimed, {1, claim} the own one held, {2, claim} the old one. One script, so
 * no claim can appear under either name between the look and the claim.
 */
const CLAIM_UNLESS_HELD = `
local own = redis.call('GET', KEYS[1])
if own then return {1, own} end
if KEYS[2] then
  local old = redis.call('GET', KEYS[2])
  if old then return {2, old} end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {0}`;

/** Claims KEYS[1] if still absent while the claim from before queues (KEYS[2]) is still the one judged (ARGV[1]). */
const CLAIM_PAST_UNCHANGED = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3], 'NX') then return 1 end
return 0`;

const REPLACE_IF_UNCHANGED = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

const DELETE_IF_UNCHANGED = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** A claim held by this process for one spawn attempt. */
export class SpawnClaim {
  private readonly value: string;
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    private readonly keys: SpawnClaimKeys,
    readonly agentId: string,
    private readonly options: SpawnClaimOptions,
  ) {
    this.key = keys.own;
    this.value = JSON.stringify({ agentId, claimedAt: Date.now() } satisfies StoredClaim);
  }

  /**
   * Claims the key for `agentId`, or reports the live agent that already owns it.
   * `ownerState` tells whether an existing claim's agent is live, finished or not started yet;
   * `beforeQueuesOwnerState` the same of a claim under the name from before queues.
   */
  async acquire(ownerState: (agentId: string) => Promise<ClaimOwnerState>, beforeQueuesOwnerState = ownerState): Promise<ClaimResult> {
    const ttlMs = this.options.ttlSeconds * 1000;
    const giveUpAt = Date.now() + 2 * this.options.pendingGraceMs;
    while (Date.now() < giveUpAt) {
      const held = await this.claimUnlessHeld(ttlMs);
      if (held === undefined) return { acquired: true };
      const claim = parseClaim(held.claim);
      if (claim) {
        const owner = await (held.old ? beforeQueuesOwnerState : ownerState)(claim.agentId);
        if (owner.kind === 'live') return { acquired: false, agentId: claim.agentId, status: owner.status };
        // Neither the agent (it will not do the task) nor a second one beside it while it stops.
        if (owner.kind === 'stopping') throw new AgentStoppingError(claim.agentId);
        if (owner.kind === 'missing' && Date.now() - claim.claimedAt < this.options.pendingGraceMs) {
          await sleep(this.options.retryDelayMs);
          continue;
        }
      }
      // The old claim is left as it is: the default queue's claim has that name now.
      const claimed = held.old
        ? await this.redis.eval(CLAIM_PAST_UNCHANGED, 2, this.key, held.old, held.claim, this.value, String(ttlMs))
        : await this.redis.eval(REPLACE_IF_UNCHANGED, 1, this.key, held.claim, this.value, String(ttlMs));
      if (claimed === 1) return { acquired: true };
    }
    throw new SpawnInProgressError();
  }

  /** Gives the claim back (the workflow could not be started), unless someone replaced it. */
  async release(): Promise<void> {
    await this.redis.eval(DELETE_IF_UNCHANGED, 1, this.key, this.value);
  }

  /** Claims the own key, or returns the claim that holds the task: the own one, or (`old`: its key) the one from before queues. */
  private async claimUnlessHeld(ttlMs: number): Promise<{ claim: string; old?: string } | undefined> {
    const { beforeQueues } = this.keys;
    const names = beforeQueues === undefined ? [this.key] : [this.key, beforeQueues];
    const answer = (await this.redis.eval(CLAIM_UNLESS_HELD, names.length, ...names, this.value, String(ttlMs))) as [0] | [1 | 2, string];
    if (answer[0] === 0) return undefined;
    return answer[0] === 2 ? { claim: answer[1], old: beforeQueues } : { claim: answer[1] };
  }
}

/** Another spawn for the same task and agent type holds the claim and has not settled. */
export class SpawnInProgressError extends Error {
  constructor() {
    super('another spawn for this task and agent type is in progress; retry later');
    this.name = 'SpawnInProgressError';
  }
}

/** The agent that owns the task and agent type is being killed; a spawn may follow once it has stopped. */
export class AgentStoppingError extends Error {
  constructor(readonly agentId: string) {
    super(`agent ${agentId} of this task and agent type is being killed; spawn again once it has stopped`);
    this.name = 'AgentStoppingError';
  }
}

function parseClaim(raw: string): StoredClaim | undefined {
  try {
    const parsed = JSON.parse(raw) as Partial<StoredClaim>;
    return typeof parsed.agentId === 'string' && typeof parsed.claimedAt === 'number' ? (parsed as StoredClaim) : undefined;
  } catch {
    return undefined;
  }
}
