import { ObjectCache } from './object-cache';

describe('ObjectCache', () => {
  it('tells a cached undefined from no answer', () => {
    const cache = new ObjectCache();
    expect(cache.get('absent')).toBeUndefined();
    cache.set('none-there', undefined, 10);
    expect(cache.get('none-there')).toEqual({ value: undefined });
  });

  it('drops the least recently used answers once the byte or entry budget is spent', () => {
    const cache = new ObjectCache(800, 3);
    cache.set('a', 'A', 100);
    cache.set('b', 'B', 100);
    cache.set('c', 'C', 100);
    expect(cache.get('a')?.value).toBe('A'); // now the most recent
    cache.set('d', 'D', 100); // four entries: b goes
    expect(cache.get('b')).toBeUndefined();
    expect(['a', 'c', 'd'].map((k) => cache.get(k)?.value)).toEqual(['A', 'C', 'D']);

    const small = new ObjectCache(800, 100);
    for (const k of ['p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x']) small.set(k, k, 100); // 900 bytes: p goes
    expect(small.get('p')).toBeUndefined();
    expect(small.get('q')?.value).toBe('q');
  });

  it('keeps no answer larger than an eighth of its budget', () => {
    const cache = new ObjectCache(800, 100);
    cache.set('big', 'x'.repeat(200), 200);
    expect(cache.get('big')).toBeUndefined();
  });
});
