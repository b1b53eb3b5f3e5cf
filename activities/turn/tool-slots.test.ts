import { ToolSlots } from './tool-slots';

const op = (signal = new AbortController().signal) => ({ signal, onProgress: () => undefined });
const tick = () => new Promise((r) => setTimeout(r, 10));

describe('ToolSlots', () => {
  it('runs at most `size` batches at once, the next as soon as one ends, in arrival order', async () => {
    const slots = new ToolSlots(2);
    const order: string[] = [];
    const gates = new Map<string, () => void>();
    const batch = (name: string) =>
      slots.use(op(), () => {
        order.push(`start ${name}`);
        return new Promise<void>((r) => gates.set(name, r));
      });
    const all = ['a', 'b', 'c', 'd'].map(batch);
    await tick();
    expect(order).toEqual(['start a', 'start b']);
    expect(slots.inUse).toBe(2);
    gates.get('b')!();
    await tick();
    expect(order).toEqual(['start a', 'start b', 'start c']);
    gates.get('a')!();
    await tick();
    gates.get('c')!();
    gates.get('d')!();
    await Promise.all(all);
    expect(order).toEqual(['start a', 'start b', 'start c', 'start d']);
    expect(slots.inUse).toBe(0);
  });

  it('stops waiting when the turn is cancelled, with the cancellation\'s reason, and never runs it', async () => {
    const slots = new ToolSlots(1);
    let release!: () => void;
    const holder = slots.use(op(), () => new Promise<void>((r) => (release = r)));
    const cancel = new AbortController();
    let ran = false;
    const waiting = slots.use(op(cancel.signal), async () => void (ran = true)).catch((err: unknown) => err);
    await tick();
    cancel.abort(new Error('killed'));
    expect(await waiting).toEqual(new Error('killed'));
    release();
    await holder;
    expect(ran).toBe(false);
    expect(slots.inUse).toBe(0);
  });

  it('frees the slot of a batch that throws', async () => {
    const slots = new ToolSlots(1);
    await expect(slots.use(op(), async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await slots.use(op(), async () => 'next')).toBe('next');
  });
});
