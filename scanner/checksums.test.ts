import { bech32Encode, crc32, hasBase62Crc32, isBase64Json, isBech32, toBase62, withBase62Crc32 } from './checksums';
import { characterClasses, shannonEntropy } from './entropy';
import { fingerprint, redact } from './redact';

describe('checksums', () => {
  it('computes the standard CRC-32 check value', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
  });

  it('writes base62 left-padded with zeros', () => {
    expect(toBase62(0, 6)).toBe('000000');
    expect(toBase62(61, 6)).toBe('00000z');
    expect(toBase62(62, 6)).toBe('000010');
  });

  it('verifies the GitHub/npm token checksum over the 30 random characters', () => {
    const body = 'aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1';
    const token = withBase62Crc32('ghp_', body);
    expect(token).toHaveLength(40);
    expect(token.slice(-6)).toBe(toBase62(crc32(body), 6));
    expect(hasBase62Crc32(token, 4)).toBe(true);
    expect(hasBase62Crc32(token.slice(0, -1) + '0', 4)).toBe(token.endsWith('0'));
    expect(hasBase62Crc32(token.slice(0, 39), 4)).toBe(false);
  });

  it('verifies Bech32 strings (BIP-173 vectors) and its own encoding', () => {
    expect(isBech32('A12UEL5L')).toBe(true);
    expect(isBech32('abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw')).toBe(true);
    expect(isBech32('abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxx')).toBe(false);
    expect(isBech32(bech32Encode('age-secret-key-', [1, 2, 3, 31]))).toBe(true);
  });

  it('recognises base64-encoded JSON objects', () => {
    expect(isBase64Json(Buffer.from('{"alg":"HS256"}').toString('base64url'), 'alg')).toBe(true);
    expect(isBase64Json(Buffer.from('{"typ":"JWT"}').toString('base64url'), 'alg')).toBe(false);
    expect(isBase64Json('not base64!')).toBe(false);
  });
});

describe('entropy', () => {
  it('measures bits per character', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
    expect(characterClasses('aB3$')).toBe(4);
  });
});

describe('redact', () => {
  it('keeps at most four leading characters, fewer for short secrets', () => {
    expect(redact('ghp_abcdefghijklmnop')).toBe('ghp_…');
    expect(redact('hunter22')).toBe('hu…');
    expect(redact('abc')).toBe('…');
  });

  it('fingerprints with sha256', () => {
    expect(fingerprint('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
