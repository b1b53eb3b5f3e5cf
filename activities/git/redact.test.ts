import { scrubbedTail, scrubCredentials } from './redact';

describe('scrubCredentials', () => {
  it('removes a known secret in plain, URL-encoded and base64 form', () => {
    const secret = 'p@ss/word+1';
    const text = `a ${secret} b ${encodeURIComponent(secret)} c ${Buffer.from(secret).toString('base64')}`;
    expect(scrubCredentials(text, [secret])).toBe('a [redacted] b [redacted] c [redacted]');
  });

  it('removes credential shapes it was not told about', () => {
    const out = scrubCredentials(
      [
        "fatal: unable to access 'https://bob:hunter2@example.com/r.git/'",
        'Authorization: Bearer abc.def.ghi',
        'password=letmein',
        'token ghp_abcdefghijklmnopqrstuvwxyz0123456789',
        'at a_gho_bcdefghijklmnopqrstuvwxyz0123456789a and xgithub_pat_abcdefghijklmnopqrstuvwx',
      ].join('\n'),
    );
    for (const leaked of ['hunter2', 'abc.def.ghi', 'letmein', 'ghp_abcdefghij', 'gho_bcdefghij', 'github_pat_abcdefghij']) expect(out).not.toContain(leaked);
    expect(out).toContain('https://[redacted]@example.com/r.git/');
  });

  it('leaves ordinary git output alone', () => {
    const text = "error: failed to push some refs to 'file:///tmp/r.git'";
    expect(scrubCredentials(text, ['unrelated-secret'])).toBe(text);
  });
});

describe('scrubbedTail', () => {
  it('keeps the end, with no part of a secret the cut would have halved', () => {
    const secret = 'configured-token-0123456789abcdef';
    // The last 4,000 characters begin inside the secret.
    const text = `${'a '.repeat(3000)}${secret} ${'b'.repeat(3980)}`;
    const out = scrubbedTail(text, [secret]);
    expect(out.length).toBeLessThanOrEqual(4000);
    expect(out.endsWith('b'.repeat(3980))).toBe(true);
    expect(out).not.toContain(secret.slice(-12));
  });
});
