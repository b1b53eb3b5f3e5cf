/** The floor's activities: the same calls as an agent's loop, doing nothing (no I/O). */
import { Context } from '@temporalio/activity';

export interface Stamp {
  startedAt: number;
  endedAt: number;
}

export const floorActivities = {
  async model(): Promise<Stamp> {
    const startedAt = Date.now();
    return { startedAt, endedAt: Date.now() };
  },
  async tools(): Promise<void> {},
  /** Waits like a model call that never answers: heartbeats until cancelled. */
  async wait(): Promise<void> {
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), 1000);
    try {
      await ctx.cancelled;
    } finally {
      clearInterval(beat);
    }
  },
};

export type FloorActivities = typeof floorActivities;
