import { killInRounds } from './kill-all-rounds';

describe('kill-all in rounds over a lagging visibility store', () => {
  /** A clock that only sleeps move. */
  function clock() {
    let t = 0;
    return { now: () => t, sleep: async (ms: number) => void (t += ms), elapsed: () => t };
  }

  it('kills an agent the first listing missed, found by a later one', async () => {
    const listings = [['a', 'b'], ['a', 'b', 'late'], ['a', 'b', 'late']];
    const killed: string[][] = [];
    const c = clock();
    const result = await killInRounds({
      list: async () => listings.shift() ?? ['a', 'b', 'late'],
      kill: async (ids) => (killed.push(ids), ids),
      lagMs: 1000,
      maxListings: 5,
      now: c.now,
      sleep: c.sleep,
    });
    expect(killed).toEqual([['a', 'b'], ['late']]);
    expect(result.agentIds.sort()).toEqual(['a', 'b', 'late']);
  });

  it('looks once more after the lag when the first listing is empty, and finds the run started just before', async () => {
    let calls = 0;
    const c = clock();
    const result = await killInRounds({
      list: async () => (++calls === 1 ? [] : ['just-spawned']),
      kill: async (ids) => ids,
      lagMs: 1000,
      maxListings: 5,
      now: c.now,
      sleep: c.sleep,
    });
    expect(result.outcomes).toEqual(['just-spawned']);
    expect(c.elapsed()).toBe(1000);
  });

  it('never lists more than maxListings times, and kills nobody twice', async () => {
    let n = 0;
    const killed: string[] = [];
    const result = await killInRounds({
      list: async () => [`agent-${++n}`, 'agent-1'],
      kill: async (ids) => (killed.push(...ids), ids),
      lagMs: 0,
      maxListings: 3,
    });
    expect(n).toBe(3);
    expect(killed).toEqual(['agent-1', 'agent-2', 'agent-3']);
    expect(result.agentIds).toHaveLength(3);
  });
});
