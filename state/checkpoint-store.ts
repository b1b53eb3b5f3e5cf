/**
 * Workspace checkpoints in Valkey, the one store every host reaches: per agent, one record per
 * turn (`orchestrator:checkpoint:{agentId}`, field = turn) and that turn's pack of git objects
 * (`orchestrator:checkpoint-pack:{agentId}`, field = turn). Packs are incremental, so a record
 * names the turn its pack builds on (`parentTurn`) and a restore reads the whole chain.
 *
 * A save can carry the tool results of its turn: both go in one MULTI, so "the transcript says
 * the tools ran" and "the files they wrote are saved" are never true one without the other.
 * The total stored per agent is bounded (CHECKPOINT_MAX_BYTES); past it the save is refused with
 * `CheckpointTooLarge` and nothing is written. Like transcripts, checkpoints expire once the run
 * has ended.
 */
import type Redis from 'ioredis';
import { TypedError } from '../domain/typed-error';
import { keys } from './keys';
import type { TranscriptMessage } from './transcript-store';

export interface CheckpointRecord {
  agentId: string;
  turn: number;
  /** Checkpoint commit: the worktree's tree on the base commit. */
  commit: string;
  tree: string;
  baseSha: string;
  /** The checkpoint this one's pack builds on; absent for a pack relative to the base alone. */
  parentTurn?: number;
  packBytes: number;
  /** Everything stored for the agent once this record is written: packs and records. */
  totalBytes: number;
  /** Directories left out because they hold nested repositories. */
  skipped: string[];
  savedAt: string;
}

export class CheckpointTooLargeError extends TypedError {
  readonly type = 'CheckpointTooLarge';
  constructor(agentId: string, turn: number, wouldBe: number, max: number) {
    super(
      `the workspace checkpoint of agent ${agentId} at turn ${turn} would bring its saved changes to ${formatMb(wouldBe)}, ` +
        `more than CHECKPOINT_MAX_BYTES (${formatMb(max)}); the run stops rather than go on with work that could not be saved`,
    );
  }
}

export class CheckpointMissingError extends TypedError {
  readonly type = 'CheckpointMissing';
  constructor(agentId: string, what: string) {
    super(`the workspace checkpoint of agent ${agentId} is incomplete: ${what} is gone from Valkey; the workspace cannot be rebuilt`);
  }
}

/** A save from a host the agent was moved off: another host now holds its workspace. */
export class CheckpointHostMovedError extends TypedError {
  readonly type = 'CheckpointHostMoved';
  constructor(agentId: string, turn: number, host: string) {
    super(`the checkpoint of agent ${agentId} at turn ${turn} from host ${host} was refused: the agent's workspace was rebuilt on another host since`);
  }
}

// The save's one transaction, refused when another host claimed the agent (claimHost) since this
// host's attempt began: a lost host that was only cut off from Temporal may still finish its tool
// batch, and its results and files must not land beside, or over, what the new host restored.
// KEYS: packs, records, transcript, host; ARGV: turn, pack ('' removes it), record, message index, message, host.
const SAVE_SCRIPT = `
local owner = redis.call('GET', KEYS[4])
if owner and ARGV[6] ~= '' and owner ~= ARGV[6] then return 0 end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) else redis.call('HDEL', KEYS[1], ARGV[1]) end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[3], ARGV[4], ARGV[5]) end
return 1
`;

export interface CheckpointSave {
  commit: string;
  tree: string;
  baseSha: string;
  parentTurn?: number;
  pack: Buffer;
  skipped: string[];
  /** Written in the same transaction (the tool results of this turn). */
  message?: { index: number; message: TranscriptMessage };
  /** The host saving it: refused once the agent was claimed by another (absent: never refused). */
  host?: string;
}

export class CheckpointStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: { maxTotalBytes: number; now?: () => Date },
  ) {}

  /** Stores the checkpoint of `turn` (replacing an earlier save of the same turn: a retry). */
  async save(agentId: string, turn: number, save: CheckpointSave): Promise<CheckpointRecord> {
    const others = (await this.stored(agentId)).filter((s) => s.record.turn !== turn);
    const record: CheckpointRecord = {
      agentId,
      turn,
      commit: save.commit,
      tree: save.tree,
      baseSha: save.baseSha,
      ...(save.parentTurn !== undefined ? { parentTurn: save.parentTurn } : {}),
      packBytes: save.pack.length,
      totalBytes: 0,
      skipped: save.skipped,
      savedAt: (this.options.now?.() ?? new Date()).toISOString(),
    };
    // Records count with the packs: one lists every nested repository by path, which an agent can
    // make long and keep from turn to turn, so packs alone would leave Valkey unbounded. 16 bytes of
    // room for the digits of totalBytes itself.
    const recordBytes = Buffer.byteLength(JSON.stringify(record)) + 16;
    const totalBytes = others.reduce((sum, s) => sum + s.record.packBytes + s.bytes, 0) + save.pack.length + recordBytes;
    if (totalBytes > this.options.maxTotalBytes) throw new CheckpointTooLargeError(agentId, turn, totalBytes, this.options.maxTotalBytes);
    record.totalBytes = totalBytes;
    const saved = await this.redis.eval(
      SAVE_SCRIPT,
      4,
      keys.checkpointPacks(agentId),
      keys.checkpoints(agentId),
      keys.transcript(agentId),
      keys.checkpointHost(agentId),
      String(turn),
      save.pack,
      JSON.stringify(record),
      save.message ? String(save.message.index) : '',
      save.message ? JSON.stringify(save.message.message) : '',
      save.host ?? '',
    );
    if (saved !== 1) throw new CheckpointHostMovedError(agentId, turn, save.host ?? '');
    return record;
  }

  /**
   * Makes `host` the one whose saves the agent's checkpoints take, before a rebuild there reads
   * them: a save still under way on a host the agent left is refused from now on, and one that
   * landed before is what the rebuild restores.
   */
  async claimHost(agentId: string, host: string): Promise<void> {
    await this.redis.set(keys.checkpointHost(agentId), host);
  }

  /** The host the last rebuild claimed the agent for; undefined when it never moved (or its records are gone). */
  async claimedHost(agentId: string): Promise<string | undefined> {
    return (await this.redis.get(keys.checkpointHost(agentId))) ?? undefined;
  }

  async get(agentId: string, turn: number): Promise<CheckpointRecord | undefined> {
    const raw = await this.redis.hget(keys.checkpoints(agentId), String(turn));
    return raw ? (JSON.parse(raw) as CheckpointRecord) : undefined;
  }

  /** Every checkpoint of the agent, oldest turn first. */
  async list(agentId: string): Promise<CheckpointRecord[]> {
    return (await this.stored(agentId)).map((s) => s.record);
  }

  /** Every checkpoint of the agent with the bytes its record takes in Valkey, oldest turn first. */
  private async stored(agentId: string): Promise<{ record: CheckpointRecord; bytes: number }[]> {
    const all = await this.redis.hvals(keys.checkpoints(agentId));
    return all.map((raw) => ({ record: JSON.parse(raw) as CheckpointRecord, bytes: Buffer.byteLength(raw) })).sort((a, b) => a.record.turn - b.record.turn);
  }

  /** The newest checkpoint at or before `turn` (any turn when omitted). */
  async latest(agentId: string, turn = Number.POSITIVE_INFINITY): Promise<CheckpointRecord | undefined> {
    return (await this.list(agentId)).filter((r) => r.turn <= turn).at(-1);
  }

  /** The packs a restore of `record` needs, oldest first; throws when a link of the chain is gone. */
  async packChain(record: CheckpointRecord): Promise<Buffer[]> {
    return (await this.chain(record)).packs;
  }

  /** `record` and the records its pack builds on, with their packs, oldest first; throws when a link is gone. */
  async chain(record: CheckpointRecord): Promise<{ records: CheckpointRecord[]; packs: Buffer[] }> {
    const chain: CheckpointRecord[] = [record];
    for (let cur = record; cur.parentTurn !== undefined; ) {
      const parent = await this.get(record.agentId, cur.parentTurn);
      if (!parent) throw new CheckpointMissingError(record.agentId, `the checkpoint of turn ${cur.parentTurn}`);
      chain.unshift(parent);
      cur = parent;
    }
    const packs = await this.redis.hmgetBuffer(keys.checkpointPacks(record.agentId), ...chain.map((r) => String(r.turn)));
    const bytes = chain.map((r, i) => {
      const pack = packs[i];
      if (r.packBytes === 0) return Buffer.alloc(0);
      if (!pack || pack.length !== r.packBytes) throw new CheckpointMissingError(record.agentId, `the pack of turn ${r.turn}`);
      return pack;
    });
    return { records: chain, packs: bytes };
  }

  /**
   * Starts agent `to` as a fork: `chain` (another agent's checkpoint and the records it builds on)
   * becomes `to`'s own, so its restores, failovers and next saves work as after its own turns, and
   * `messages` become the start of its transcript; one transaction, so a fork never starts with one
   * without the other. Idempotent: a retry writes the same fields again.
   */
  async copyAsFork(to: string, chain: { records: CheckpointRecord[]; packs: Buffer[] }, messages: TranscriptMessage[]): Promise<void> {
    const tx = this.redis.multi();
    chain.records.forEach((r, i) => {
      const pack = chain.packs[i];
      if (pack && pack.length > 0) tx.hset(keys.checkpointPacks(to), String(r.turn), pack);
      tx.hset(keys.checkpoints(to), String(r.turn), JSON.stringify({ ...r, agentId: to }));
    });
    messages.forEach((m, i) => tx.hset(keys.transcript(to), String(i), JSON.stringify(m)));
    const results = await tx.exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw new Error(`copying the fork source to agent ${to} failed: ${String(failed?.[0] ?? 'transaction aborted')}`);
  }

  /** Lets the agent's checkpoints expire (the run has ended). */
  async expire(agentId: string, ttlSeconds: number): Promise<void> {
    await this.redis.multi().expire(keys.checkpoints(agentId), ttlSeconds).expire(keys.checkpointPacks(agentId), ttlSeconds).expire(keys.checkpointHost(agentId), ttlSeconds).exec();
  }

  async delete(agentId: string): Promise<void> {
    await this.redis.del(keys.checkpoints(agentId), keys.checkpointPacks(agentId), keys.checkpointHost(agentId));
  }
}

function formatMb(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
