import { loadAllowlist } from './allow';

describe('loadAllowlist', () => {
  const fp = 'ab'.repeat(32);
  const allowlist = loadAllowlist(`# known test keys\n${fp}\nfingerprint:${'CD'.repeat(32)}\n\ntest/fixtures/\n*.snap\n`);

  it('reads bare and prefixed fingerprints, lower-cased', () => {
    expect([...allowlist.fingerprints].sort()).toEqual([fp, 'cd'.repeat(32)]);
  });

  it('matches paths against gitignore-style globs', () => {
    expect(allowlist.allowsPath('test/fixtures/keys/a.pem')).toBe(true);
    expect(allowlist.allowsPath('./src/__snapshots__/x.snap')).toBe(true);
    expect(allowlist.allowsPath('src/test/fixtures.ts')).toBe(false);
    expect(allowlist.allowsPath('../outside.snap')).toBe(false);
  });

  it('allows nothing when empty', () => {
    const empty = loadAllowlist('# nothing\n');
    expect(empty.fingerprints.size).toBe(0);
    expect(empty.allowsPath('a.ts')).toBe(false);
  });
});
