import { DeepWalkPermits } from './deep-walks';

describe('DeepWalkPermits', () => {
  it('lets as many walks as it has permits run at once; the next waits for one to end', async () => {
    const permits = new DeepWalkPermits(2);
    const ends: (() => void)[] = [];
    const started: number[] = [];
    const walk = (i: number) => permits.use({}, () => new Promise<void>((resolve) => (started.push(i), ends.push(resolve))));
    const all = Promise.all([walk(1), walk(2), walk(3)]);
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([1, 2]);
    ends[0]!();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([1, 2, 3]);
    ends[1]!();
    ends[2]!();
    await all;
  });

  it('stops waiting when the activity is cancelled, and gives no permit to the cancelled walk', async () => {
    const permits = new DeepWalkPermits(1);
    let end!: () => void;
    const holder = permits.use({}, () => new Promise<void>((resolve) => (end = resolve)));
    const cancel = new AbortController();
    let ran = false;
    const waiting = permits.use({ signal: cancel.signal }, async () => void (ran = true));
    cancel.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    end();
    await holder;
    expect(ran).toBe(false);
    await permits.use({}, async () => undefined); // the permit came back
  });
});
