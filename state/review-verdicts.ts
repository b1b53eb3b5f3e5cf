/**
 * The AI review gate's verdicts, one per gate phase and round, with the digest of the diff they
 * judged. A gate activity retried after its review was paid for (a later gate command failed, the
 * worker died, the host was lost) finds the verdict here and does not ask the model again.
 */
import type Redis from 'ioredis';
import type { ReviewVerdict } from '../domain/gates';
import { keys } from './keys';

export interface StoredReview {
  /** sha256 of the diff the verdict judged: a different diff is reviewed afresh. */
  diffSha256: string;
  verdict: ReviewVerdict;
}

export class ReviewVerdicts {
  constructor(private readonly redis: Redis) {}

  async get(agentId: string, slot: string): Promise<StoredReview | undefined> {
    const raw = await this.redis.hget(keys.reviews(agentId), slot);
    return raw ? (JSON.parse(raw) as StoredReview) : undefined;
  }

  async put(agentId: string, slot: string, review: StoredReview): Promise<void> {
    await this.redis.hset(keys.reviews(agentId), slot, JSON.stringify(review));
  }
}
