import { FoundPrograms } from './found-programs';

describe('FoundPrograms', () => {
  it('asks again only for programs not found lately: an absent one every time, a found one after the ttl', () => {
    let t = 0;
    const found = new FoundPrograms(1000, () => t);
    expect(found.unknown(['cargo', 'npm'])).toEqual(['cargo', 'npm']);
    found.remember(['cargo', 'npm'], new Set(['cargo']));
    // cargo was absent: installing it later must be noticed at the next set-up.
    expect(found.unknown(['cargo', 'npm'])).toEqual(['cargo']);
    t = 999;
    expect(found.unknown(['npm'])).toEqual([]);
    t = 1000;
    expect(found.unknown(['npm'])).toEqual(['npm']);
    // Expired entries are dropped, not kept as found.
    expect(found.unknown(['npm'])).toEqual(['npm']);
  });
});
