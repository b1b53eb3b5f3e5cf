/**
 * The tool batches of turn activities running on this host, so that cleanup can stop one and
 * wait until it has stopped. A killed run does not wait for its turn activity (it may be minutes
 * into a model call: workflows/activity-options.ts), yet cleanup must never salvage or remove a
 * worktree while a command of the agent still runs in it.
 *
 * In this process: an abort and a promise per agent. Across the processes sharing this workspace
 * root (and so the host id and its queues): a lock file per agent, held while a batch runs
 * (proper-lockfile, taken as stale 30 s after its holder stopped refreshing it). A batch started
 * in another process stops when its activity learns of the cancellation from a heartbeat, and
 * cleanup waits for its lock.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { TypedError } from '../../domain/typed-error';
import { assertAgentId } from '../git/validate';
import type { Operation } from '../operation';

const LOCK_STALE_MS = 30_000;

export class TurnStoppedError extends TypedError {
  readonly type = 'TurnStopped';
}

export type InFlightLog = (msg: string, meta?: Record<string, unknown>) => void;

export class TurnsInFlight {
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();

  constructor(
    private readonly lockDir: string,
    private readonly log?: InFlightLog,
  ) {}

  /** Runs an agent's tool batch, stoppable by `stop`; waits first for a batch of the same agent still running elsewhere. */
  async run<T>(agentId: string, op: Operation, batch: (op: Operation) => Promise<T>): Promise<T> {
    const release = await this.lock(agentId, op);
    const abort = new AbortController();
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    this.running.set(agentId, { abort, done });
    try {
      return await batch({ ...op, signal: AbortSignal.any([op.signal, abort.signal]) });
    } finally {
      if (this.running.get(agentId)?.done === done) this.running.delete(agentId);
      await release().catch((err: unknown) => this.log?.('turn: releasing the tool lock failed', { agentId, error: String(err) }));
      finished();
    }
  }

  /** Stops the agent's running tool batch, if any, and returns once none runs (here or in another process on this root). */
  async stop(agentId: string, op: Pick<Operation, 'signal' | 'onProgress'>): Promise<void> {
    const local = this.running.get(agentId);
    if (local) {
      local.abort.abort(new TurnStoppedError('the run no longer waits for this turn: its cleanup stopped the tool calls'));
      await local.done;
    }
    const release = await this.lock(agentId, op);
    await release();
  }

  private async lock(agentId: string, op: Pick<Operation, 'signal' | 'onProgress'>): Promise<() => Promise<void>> {
    assertAgentId(agentId);
    await mkdir(this.lockDir, { recursive: true });
    const ticker = setInterval(op.onProgress, 1000);
    try {
      for (;;) {
        if (op.signal.aborted) throw op.signal.reason ?? new Error('cancelled while waiting for the tool lock');
        try {
          return await lockfile.lock(path.join(this.lockDir, agentId), {
            realpath: false,
            stale: LOCK_STALE_MS,
            retries: { retries: 5, minTimeout: 50, maxTimeout: 500 },
            onCompromised: (err) => this.log?.('turn: tool lock compromised', { agentId, error: err.message }),
          });
        } catch (err) {
          if ((err as { code?: string }).code !== 'ELOCKED') throw err;
          // Held by a batch in another process: it ends when its cancellation arrives, or goes stale.
        }
      }
    } finally {
      clearInterval(ticker);
    }
  }
}
