import { redactSecrets } from '../scanner';
import { plainText } from './plain-text';

const TOKEN = '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';
const split = (sep: string) => `${TOKEN.slice(0, 8)}${sep}${TOKEN.slice(8)}`;

describe('plainText', () => {
  it.each([
    ['a zero-width space', '\u200b'],
    ['a zero-width joiner', '\u200d'],
    ['a zero-width non-joiner', '\u200c'],
    ['a word joiner', '\u2060'],
    ['a byte-order mark', '\ufeff'],
    ['a soft hyphen', '\u00ad'],
    ['a right-to-left override and its pop', '\u202e\u202c'],
    ['an escape sequence', '\u001b[0m'],
  ])('leaves no secret split by %s to redaction', (_name, sep) => {
    const redacted = redactSecrets(plainText(`token: ${split(sep)}`));
    expect(redacted).toBe('token: ghp_…');
    expect(redactSecrets(`token: ${split(sep)}`)).not.toBe('token: ghp_…'); // the split alone hides it
  });

  it('keeps what shapes other scripts and emoji: joiners between non-ASCII characters', () => {
    const family = '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}';
    const persian = 'می\u200cخواهم';
    expect(plainText(`${family} ${persian}`)).toBe(`${family} ${persian}`);
  });
});
