import type { Context } from '@temporalio/activity';
import { heartbeatOf, withFirstHeartbeatHeld } from './first-heartbeat';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fakeContext(isLocal = false): { ctx: Context; sent: unknown[] } {
  const sent: unknown[] = [];
  return { ctx: { info: { isLocal }, heartbeat: (d?: unknown) => sent.push(d) } as unknown as Context, sent };
}

describe('withFirstHeartbeatHeld', () => {
  it('sends nothing for an activity that ends within the hold, also after the hold has passed', async () => {
    const { ctx, sent } = fakeContext();
    await withFirstHeartbeatHeld(
      ctx,
      async () => {
        heartbeatOf(ctx)('starting');
        heartbeatOf(ctx)('saving checkpoint');
      },
      60,
    );
    await sleep(120);
    expect(sent).toEqual([]);
  });

  it('sends the latest held details once the hold ends, then every heartbeat as it comes', async () => {
    const { ctx, sent } = fakeContext();
    await withFirstHeartbeatHeld(
      ctx,
      async () => {
        const beat = heartbeatOf(ctx);
        beat('first');
        beat('second');
        await sleep(120);
        expect(sent).toEqual(['second']);
        beat('third');
      },
      60,
    );
    expect(sent).toEqual(['second', 'third']);
  });

  it('sends what a failed attempt held at once, so its retry still gets the details', async () => {
    const { ctx, sent } = fakeContext();
    const failing = withFirstHeartbeatHeld(
      ctx,
      async () => {
        heartbeatOf(ctx)({ step: 3 });
        throw new Error('boom');
      },
      60_000,
    );
    await expect(failing).rejects.toThrow('boom');
    expect(sent).toEqual([{ step: 3 }]);
  });

  it('holds once for an activity that runs a wrapped one inside it', async () => {
    const { ctx, sent } = fakeContext();
    await withFirstHeartbeatHeld(
      ctx,
      async () => {
        await withFirstHeartbeatHeld(ctx, async () => heartbeatOf(ctx)('inner'), 60);
        heartbeatOf(ctx)('outer');
        await sleep(120);
        expect(sent).toEqual(['outer']);
      },
      60,
    );
  });

  it('does not hold a local activity (its heartbeats go nowhere)', async () => {
    const { ctx, sent } = fakeContext(true);
    await withFirstHeartbeatHeld(ctx, async () => heartbeatOf(ctx)('local'), 60_000);
    expect(sent).toEqual(['local']);
  });

  it('leaves a context outside a held execution to the SDK heartbeat', () => {
    const { ctx, sent } = fakeContext();
    heartbeatOf(ctx)('direct');
    expect(sent).toEqual(['direct']);
  });

  it('runs the activity as it is when there is no activity context', async () => {
    await expect(withFirstHeartbeatHeld(undefined, async () => 42)).resolves.toBe(42);
  });
});
