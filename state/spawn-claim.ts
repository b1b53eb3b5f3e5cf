/**
 * Race-safe idempotency for spawns: one Valkey key per (taskId, agentType) holds the agent that
 * owns the task. `SET NX` decides concurrent spawns; a claim is replaced (compare-and-set) only
 * when its agent has finished, or when its workflow never appeared within a grace period (the
 * claimer died between claiming and starting).
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
export type ClaimOwnerState = { kind: 'live'; status: AgentStatus } | { kind: 'stopping' } | { kind: 'finished' } | { kind: 'missing' };

export type ClaimResult = { acquired: true } | { acquired: false; agentId: string; status: AgentStatus };

export interface SpawnClaimOptions {
  ttlSeconds: number;
  /** How long a claim whose workflow does not exist yet is presumed to be mid-start. */
  pendingGraceMs: number;
  retryDelayMs: number;
}

export const DEFAULT_SPAWN_CLAIM_OPTIONS: Omit<SpawnClaimOptions, 'ttlSeconds'> = { pendingGraceMs: 10_000, retryDelayMs: 25 };

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

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    readonly agentId: string,
    private readonly options: SpawnClaimOptions,
  ) {
    this.value = JSON.stringify({ agentId, claimedAt: Date.now() } satisfies StoredClaim);
  }

  /**
   * Claims the key for `agentId`, or reports the live agent that already owns it.
   * `ownerState` tells whether an existing claim's agent is live, finished or not started yet.
   */
  async acquire(ownerState: (agentId: string) => Promise<ClaimOwnerState>): Promise<ClaimResult> {
    const ttlMs = this.options.ttlSeconds * 1000;
    const giveUpAt = Date.now() + 2 * this.options.pendingGraceMs;
    while (Date.now() < giveUpAt) {
      if ((await this.redis.set(this.key, this.value, 'PX', ttlMs, 'NX')) === 'OK') return { acquired: true };
      const current = await this.redis.get(this.key);
      if (current === null) continue; // released in between: try again
      const claim = parseClaim(current);
      if (claim) {
        const owner = await ownerState(claim.agentId);
        if (owner.kind === 'live') return { acquired: false, agentId: claim.agentId, status: owner.status };
        // Neither the agent (it will not do the task) nor a second one beside it while it stops.
        if (owner.kind === 'stopping') throw new AgentStoppingError(claim.agentId);
        if (owner.kind === 'missing' && Date.now() - claim.claimedAt < this.options.pendingGraceMs) {
          await sleep(this.options.retryDelayMs);
          continue;
        }
      }
      const replaced = await this.redis.eval(REPLACE_IF_UNCHANGED, 1, this.key, current, this.value, String(ttlMs));
      if (replaced === 1) return { acquired: true };
    }
    throw new SpawnInProgressError();
  }

  /** Gives the claim back (the workflow could not be started), unless someone replaced it. */
  async release(): Promise<void> {
    await this.redis.eval(DELETE_IF_UNCHANGED, 1, this.key, this.value);
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
