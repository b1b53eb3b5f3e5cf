/**
 * The tool batches of turn activities running on this host, so that cleanup can stop one and
 * wait until it has stopped. A killed run does not wait for its turn activity (it may be minutes
 * into a model call: workflows/activity-options.ts), yet cleanup must never salvage or remove a
 * worktree while a command of the agent still runs in it.
 *
 * In this process: an abort and a promise per agent. Across the processes sharing this workspace
 * root (and so the host id and its queues): a lock file per agent, held while a batch runs
 * (activities/host/owned-lock.ts, taken as stale 30 s after its holder stopped refreshing it; a
 * holder that loses it stops its batch, and its release leaves the new holder's lock). A batch
 * started in another process stops when its activity learns of the cancellation from a
 * heartbeat, and cleanup waits for its lock. Once stopped, an agent stays stopped: a marker file
 * makes a turn that arrives later (an attempt dispatched just before the kill, or one whose batch
 * ended before it heard of it) refuse its tools and its model call.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TypedError } from '../../domain/typed-error';
import { WorkspaceLostError } from '../git/errors';
import { assertAgentId } from '../git/validate';
import { lockOwned, type ReleaseOwnedLock } from '../host/owned-lock';
import type { Operation } from '../operation';

const LOCK_STALE_MS = 30_000;
/** How long cleanup waits for another process's batch before it goes on (that process lost Temporal and never hears of the kill). */
const DEFAULT_MAX_WAIT_MS = 120_000;
/** Stopped markers outlive any attempt of the agent's turn that could still arrive. */
const STOPPED_MARKER_TTL_MS = 24 * 3600_000;

export class TurnStoppedError extends TypedError {
  readonly type = 'TurnStopped';
}

export type InFlightLog = (msg: string, meta?: Record<string, unknown>) => void;

type Waiting = Pick<Operation, 'signal' | 'onProgress'>;

export class TurnsInFlight {
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();

  constructor(
    private readonly lockDir: string,
    private readonly log?: InFlightLog,
    private readonly maxWaitMs = DEFAULT_MAX_WAIT_MS,
    /** A lock not refreshed for this long is taken over (refreshed every half of it). */
    private readonly lockStaleMs = LOCK_STALE_MS,
  ) {}

  /**
   * Runs an agent's tool batch in `worktree`, stoppable by `stop`; waits first for a batch of the same agent still running elsewhere.
   * Throws WorkspaceLostError when a batch of the agent in this worktree never ended (`refuseIfAbandoned`).
   */
  async run<T>(agentId: string, op: Operation, batch: (op: Operation) => Promise<T>, worktree?: string): Promise<T> {
    const abort = new AbortController();
    const release = await this.lock(agentId, op, () => abort.abort(new TurnStoppedError('the tool lock was taken over: the batch is stopped')));
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    let started = false;
    // Named by attempt, not by agent: an attempt whose lock was taken over while it still ran
    // removed the newer batch's marker (the same path) when it ended, and a retry after that
    // batch's death applied it twice.
    const marker = path.join(this.runningDir, `${agentId}.${randomUUID()}`);
    try {
      // Registered before the stopped check, so that a stop in this process either finds the batch or is seen by the check.
      this.running.set(agentId, { abort, done });
      await this.refuseIfStopped(agentId);
      const identity = worktree === undefined ? '' : await worktreeIdentity(worktree);
      await this.refuseIfAbandoned(agentId, identity);
      await mkdir(this.runningDir, { recursive: true });
      await writeFile(marker, identity);
      started = true;
      // Stopped while it was getting ready: the batch would start with a signal already fired, which nothing hears.
      abort.signal.throwIfAborted();
      return await batch({ ...op, signal: AbortSignal.any([op.signal, abort.signal]) });
    } finally {
      // Ended here, whichever way: the next batch starts from what this one left, as the agent saw it.
      // Only this attempt's marker: one that lost its lock may end after a newer batch has begun.
      if (started) await rm(marker, { force: true });
      if (this.running.get(agentId)?.done === done) this.running.delete(agentId);
      await release().then(
        (own) => own || this.log?.('turn: the tool lock was taken over; left to its new holder', { agentId }),
        (err: unknown) => this.log?.('turn: releasing the tool lock failed', { agentId, error: String(err) }),
      );
      finished();
    }
  }

  /** Throws TurnStoppedError when cleanup has stopped the agent (here or in another process on this root). */
  async refuseIfStopped(agentId: string): Promise<void> {
    if (await this.isStopped(agentId)) throw new TurnStoppedError('the run was stopped: its cleanup has begun, no further turn runs');
  }

  /**
   * Marks the agent stopped, stops its running tool batch if any, and returns once none runs
   * (here or in another process on this root), or after `maxWaitMs` for another process's batch.
   */
  async stop(agentId: string, op: Waiting): Promise<void> {
    assertAgentId(agentId);
    await mkdir(this.stoppedDir, { recursive: true });
    await writeFile(path.join(this.stoppedDir, agentId), '');
    const ticker = setInterval(op.onProgress, 1000);
    try {
      const local = this.running.get(agentId);
      if (local) {
        local.abort.abort(new TurnStoppedError('the run no longer waits for this turn: its cleanup stopped the tool calls'));
        await local.done;
      }
    } finally {
      clearInterval(ticker);
    }
    const deadline = Date.now() + this.maxWaitMs;
    const release = await this.lock(agentId, op, undefined, deadline);
    if (release) await release();
    else this.log?.('turn: another process still holds the tool lock; cleaning up anyway', { agentId, waitedMs: this.maxWaitMs });
  }

  /** Removes stopped markers, and running markers of batches that died, older than a day (the reaper's sweep). */
  async sweepStopped(now = Date.now()): Promise<number> {
    const dirs = [this.stoppedDir, this.runningDir];
    const files = (await Promise.all(dirs.map(async (dir) => (await readdir(dir).catch(() => [] as string[])).map((name) => path.join(dir, name))))).flat();
    let removed = 0;
    for (const file of files) {
      const st = await stat(file).catch(() => undefined);
      if (st && now - st.mtimeMs > STOPPED_MARKER_TTL_MS) {
        await rm(file, { force: true });
        removed += 1;
      }
    }
    return removed;
  }

  /**
   * A batch of the agent started on this root and never ended: its worker process died mid-batch
   * (or lost its lock). The worktree holds part of what it did, and running the batch again there
   * would apply its commands twice (`echo x >> f` appended twice, seen in bench/host-loss-soak.ts
   * when the retry came back to the restarted host). So the run moves as from a lost host: the
   * workspace is rebuilt from the last checkpoint, where the batch had not run (workflows/failover.ts).
   */
  private async refuseIfAbandoned(agentId: string, identity: string): Promise<void> {
    // `<agentId>` alone is a marker of the release before markers were named by attempt.
    const names = (await readdir(this.runningDir).catch(() => [] as string[])).filter((name) => name === agentId || name.startsWith(`${agentId}.`));
    let abandoned = false;
    for (const name of names) {
      const marker = path.join(this.runningDir, name);
      const left = await readFile(marker, 'utf8').catch(() => undefined);
      if (left === undefined) continue;
      await rm(marker, { force: true });
      // Left in a worktree since removed (the agent moved away, and now back to a new worktree here): nothing of it is in this one.
      if (left === identity) abandoned = true;
    }
    if (!abandoned) return;
    this.log?.('turn: a tool batch of the agent died mid-way on this host; the workspace is rebuilt from its last checkpoint', { agentId });
    throw new WorkspaceLostError(`a tool batch of agent ${agentId} died mid-way on this host: its worktree holds part of the batch, so it is rebuilt from the last checkpoint`);
  }

  private get runningDir(): string {
    return path.join(this.lockDir, 'running');
  }

  private get stoppedDir(): string {
    return path.join(this.lockDir, 'stopped');
  }

  private async isStopped(agentId: string): Promise<boolean> {
    return (await stat(path.join(this.stoppedDir, agentId)).catch(() => undefined)) !== undefined;
  }

  private lock(agentId: string, op: Waiting, onLost?: () => void): Promise<ReleaseOwnedLock>;
  private lock(agentId: string, op: Waiting, onLost: (() => void) | undefined, deadline: number): Promise<ReleaseOwnedLock | undefined>;
  private async lock(agentId: string, op: Waiting, onLost?: () => void, deadline?: number): Promise<ReleaseOwnedLock | undefined> {
    assertAgentId(agentId);
    await mkdir(this.lockDir, { recursive: true });
    const ticker = setInterval(op.onProgress, 1000);
    try {
      for (;;) {
        if (op.signal.aborted) throw op.signal.reason ?? new Error('cancelled while waiting for the tool lock');
        try {
          return await lockOwned(path.join(this.lockDir, agentId), {
            stale: this.lockStaleMs,
            retries: { retries: 5, minTimeout: 50, maxTimeout: 500 },
            onLost: (err) => {
              this.log?.('turn: tool lock compromised', { agentId, error: err.message });
              onLost?.();
            },
          });
        } catch (err) {
          if ((err as { code?: string }).code !== 'ELOCKED') throw err;
          // Held by a batch in another process: it ends when its cancellation arrives, or goes stale.
          if (deadline !== undefined && Date.now() >= deadline) return undefined;
        }
      }
    } finally {
      clearInterval(ticker);
    }
  }
}

/** Which directory a worktree is: a worktree rebuilt at the same path is another one. Empty when it is gone (the batch says so: WorkspaceLost). */
async function worktreeIdentity(worktree: string): Promise<string> {
  const st = await stat(worktree).catch(() => undefined);
  return st ? directoryIdentity(st) : '';
}

/**
 * Device, inode and birth time. Not the change time where a file system keeps no birth time: it
 * moves whenever a batch adds or removes an entry at the worktree's root, so a batch that died
 * would never match its marker and would run again over its own effects. Without a birth time a
 * rebuilt worktree that got the old inode back matches instead: one rebuild more, never a batch twice.
 */
export function directoryIdentity(st: { dev: number; ino: number; birthtimeMs: number }): string {
  return `${st.dev}:${st.ino}:${st.birthtimeMs || 0}`;
}
