/** The reaper asks Temporal about each agent once per pass, however many targets ask. */
import pino from 'pino';
import type { CloseStatus } from '../state/closed-run-states';
import { passLookup, startReaper, type ReapTarget } from './reaper';

function countingStatus(statuses: Record<string, CloseStatus | null>) {
  const asked: string[] = [];
  let failNext = false;
  return {
    asked,
    failOnce: () => (failNext = true),
    closeStatus: async (agentId: string) => {
      asked.push(agentId);
      if (failNext) {
        failNext = false;
        throw new Error('Temporal unreachable');
      }
      return statuses[agentId] ?? null;
    },
  };
}

describe('the reaper pass lookup', () => {
  it('describes each agent once per pass for every target, and again on the next pass', async () => {
    const temporal = countingStatus({ closed: 'COMPLETED', gone: 'NOT_FOUND' });
    const seen: Record<string, boolean[]> = {};
    const target = (name: string): ReapTarget => ({
      name,
      reap: async ({ isClosed, closeStatus }) => {
        for (const id of ['live', 'closed', 'gone']) (seen[id] ??= []).push(name === 'states' ? (await closeStatus(id)) !== null : await isClosed(id));
        return 0;
      },
    });
    const reaper = startReaper({ intervalMs: 3_600_000, closeStatus: temporal.closeStatus, targets: ['containers', 'worktrees', 'states', 'records'].map(target), log: pino({ level: 'silent' }) });
    try {
      await reaper.runOnce(); // the pass started with the reaper may still run: this waits for nothing then
      await new Promise((r) => setTimeout(r, 50));
      expect(temporal.asked.sort()).toEqual(['closed', 'gone', 'live']);
      expect(seen).toEqual({ live: [false, false, false, false], closed: [true, true, true, true], gone: [true, true, true, true] });
      await reaper.runOnce();
      expect(temporal.asked).toHaveLength(6);
    } finally {
      reaper.stop();
    }
  });

  it('does not keep a failed lookup: the next target of the pass asks again', async () => {
    const temporal = countingStatus({ closed: 'TERMINATED' });
    const lookup = passLookup(temporal.closeStatus);
    temporal.failOnce();
    await expect(lookup.isClosed('closed')).rejects.toThrow('Temporal unreachable');
    expect(await lookup.isClosed('closed')).toBe(true);
    expect(await lookup.closeStatus('closed')).toBe('TERMINATED');
    expect(temporal.asked).toEqual(['closed', 'closed']);
  });
});
