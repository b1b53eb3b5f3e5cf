import { redactSecrets } from '../../scanner';
import { OutputBuffer } from './output-buffer';

describe('OutputBuffer', () => {
  const token = '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';
  const pem = ['-----BEGIN RSA PRIVATE KEY-----', ...Array.from({ length: 25 }, (_, i) => `MIIEowIBAAKCAQEA${String(i).padStart(2, '0')}q3vK8xR2mZp7YtW9sN4uL6dF1hJ0cB5gE8aQwXyZ`), '-----END RSA PRIVATE KEY-----'].join('\n');

  const collect = (max: number, parts: (string | Buffer)[]) => {
    const b = new OutputBuffer(max);
    for (const p of parts) b.push(p);
    return b;
  };

  it('keeps a short output whole', () => {
    const b = collect(100, ['abc', Buffer.from('déf')]);
    expect([b.toString(), b.truncated]).toEqual(['abcdéf', false]);
  });

  it('keeps the head and the tail of a long one, noting what it left out', () => {
    const b = collect(1000, ['a'.repeat(600), 'b'.repeat(50_000), 'c'.repeat(600)]);
    expect(b.truncated).toBe(true);
    expect(b.toString()).toBe(`${'a'.repeat(500)}\n[... 50200 bytes of output truncated ...]\n${'c'.repeat(500)}`);
  });

  it('cuts through no token or private key: one crossing a cut is left out whole, so redaction leaves nothing of it', () => {
    for (const secret of [token, pem]) {
      const b = collect(30_000, ['a'.repeat(14_990), ` ${secret} `, 'b'.repeat(100_000), ` ${secret} `, 'c'.repeat(14_990)]);
      const out = redactSecrets(b.toString());
      const body = secret === token ? token.slice(4) : 'q3vK8xR2mZp7YtW9';
      expect({ piece: out.includes(secret.slice(0, 12)) || out.includes(body.slice(0, 12)) || out.includes(secret.slice(-12)) }).toEqual({ piece: false });
      expect(out.startsWith(`${'a'.repeat(14_990)} \n[...`)).toBe(true);
      expect(out.endsWith(`]\n ${'c'.repeat(14_990)}`)).toBe(true);
    }
  });
});
