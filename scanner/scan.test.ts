import { createHash } from 'node:crypto';
import { loadAllowlist } from './allow';
import { hostileText } from '../test/support/scanner/corpus';
import { RULES } from './rules';
import { SAMPLERS, createRng, samplePositive } from '../test/support/scanner/samples';
import { cutBefore } from './cuts';
import { redactSecrets, scanText } from './scan';

const rng = createRng(2024);
const ghToken = (): string => SAMPLERS['github-pat']!.make(rng);
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('scanText', () => {
  it('reports file, 1-based line and column, rule, redacted match and sha256 fingerprint', () => {
    const token = ghToken();
    const { findings, skipped } = scanText(`line one\n  const t = "${token}";\n`, 'src/a.ts');
    expect(skipped).toEqual([]);
    expect(findings).toEqual([
      {
        file: 'src/a.ts',
        line: 2,
        column: 14,
        ruleId: 'github-pat',
        description: expect.any(String),
        match: 'ghp_…',
        fingerprint: sha256(token),
      },
    ]);
  });

  it('handles CRLF line endings and several findings on one line', () => {
    const a = ghToken();
    const b = ghToken();
    const { findings } = scanText(`x\r\nA=${a} B=${b}\r\n`, 'f');
    expect(findings.map((f) => [f.line, f.column])).toEqual([
      [2, 3],
      [2, 6 + a.length],
    ]);
  });

  it('finds secrets among non-ASCII text, with columns in UTF-16 code units', () => {
    const token = ghToken();
    // U+4E0A (上) has the low byte of '\n': it must not split the line.
    const { findings } = scanText(`// café ☕ 😀\nconst 名前上 = "${token}"; // İstanbul\n`, 'u.ts');
    expect(findings.map((f) => [f.line, f.column, f.ruleId])).toEqual([[2, 14, 'github-pat']]);
  });

  it('lets the specific rule win over the generic one for the same value', () => {
    const { findings } = scanText(`GITHUB_TOKEN="${ghToken()}"`, 'f');
    expect(findings.map((f) => f.ruleId)).toEqual(['github-pat']);
  });

  // Cut off again at run time (`'a_<token>'.slice(2)`): a \b-bounded pattern misses them, the token is pushed whole.
  it.each(['github-pat', 'github-oauth', 'github-fine-grained-pat', 'npm-token', 'anthropic-api-key', 'slack-bot-token', 'slack-app-token', 'slack-token'])(
    'finds a %s token glued to letters, digits or _ on either side',
    (ruleId) => {
      const token = SAMPLERS[ruleId]!.make(createRng(ruleId.length));
      for (const glued of [`a_${token}`, `x${token}`, `9${token}`, `${token}x`, `${token}_0`, `Z${token}Z`]) {
        const { findings } = scanText(`const t = '${glued}'.slice(1);\n`, 'glued.ts');
        // (A variable-length token, as Slack's, takes in letters glued after it: its fingerprint is then another.)
        expect({ glued, rules: findings.map((f) => f.ruleId) }).toEqual({ glued, rules: [ruleId] });
      }
    },
  );

  it('keeps the boundary where a prefix also occurs inside identifiers: Stripe keys, AWS key ids', () => {
    const names = ['def disk_test_handlesMissingMountPointGracefully():', 'export const mask_live_RegionOverlayForCameraPreview = true;', "export const SLOVAKIANDCZECHREPUBLICS = ['SK', 'CZ'];"];
    for (const line of names) expect({ line, findings: scanText(`${line}\n`, 'names.ts').findings }).toEqual({ line, findings: [] });
  });

  it('reports a private key once, at its BEGIN line, with the same fingerprint raw or JSON-escaped', () => {
    const key = SAMPLERS['private-key']!.make(createRng(3)).replace(/^-----BEGIN [A-Z ]*-----/, '-----BEGIN RSA PRIVATE KEY-----').replace(/-----END [A-Z ]*-----$/, '-----END RSA PRIVATE KEY-----');
    const raw = scanText(`# deploy key\n${key}\n`, 'id_rsa');
    const escaped = scanText(`{"key": "${key.replace(/\n/g, '\\n')}"}`, 'k.json');
    expect(raw.findings.map((f) => [f.ruleId, f.line, f.column])).toEqual([['private-key', 2, 1]]);
    expect(escaped.findings.map((f) => f.ruleId)).toEqual(['private-key']);
    expect(escaped.findings[0]?.fingerprint).toBe(raw.findings[0]?.fingerprint);
  });

  it('ignores documented examples, placeholders, references, hashes, UUIDs and integrity strings', () => {
    const decoys = [
      'aws_access_key_id = AKIAIOSFODNN7EXAMPLE',
      'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'OPENAI_API_KEY=<YOUR_KEY>',
      'API_KEY=${API_KEY}',
      'token: "{{ x }}"',
      'STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxx',
      'SECRET_KEY=changeme',
      'API_KEY=your-api-key-here',
      'password = "****************"',
      'const key = process.env.OPENAI_API_KEY;',
      'token = os.environ["GITHUB_TOKEN"]',
      'export GITHUB_TOKEN=$GH_TOKEN',
      `password_sha1 = "${createRng(1).chars('0123456789abcdef', 40)}"`,
      `sha256: ${createRng(2).chars('0123456789abcdef', 64)}`,
      'session_token_id = "3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b"',
      `"integrity": "sha512-${createRng(3).chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 86)}=="`,
    ];
    expect(scanText(decoys.join('\n'), 'decoys.env').findings).toEqual([]);
  });

  it('drops a token whose checksum does not verify', () => {
    const token = ghToken();
    const broken = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    expect(scanText(`t = "${broken}"`, 'f').findings).toEqual([]);
  });

  it('accepts a line carrying the orchestrator:allow marker', () => {
    const text = `const fixture = "${ghToken()}"; // orchestrator:allow test fixture`;
    expect(scanText(text, 'f').findings).toEqual([]);
  });

  it('accepts fingerprints and path globs from the allowlist', () => {
    const token = ghToken();
    const other = ghToken();
    const allowlist = loadAllowlist(`# accepted\n${sha256(token)}\nfixtures/**\n`);
    const text = `a=${token}\nb=${other}\n`;
    expect(scanText(text, 'src/x.ts', { allowlist }).findings.map((f) => f.line)).toEqual([2]);
    expect(scanText(text, 'fixtures/deep/x.ts', { allowlist }).findings).toEqual([]);
  });

  it('skips files over the size cap and binary files, with a note', () => {
    expect(scanText('a'.repeat(101), 'big.txt', { maxFileBytes: 100 })).toEqual({
      findings: [],
      skipped: [{ file: 'big.txt', reason: 'file larger than 100 bytes' }],
    });
    expect(scanText('é'.repeat(60), 'utf8.txt', { maxFileBytes: 100 }).skipped).toHaveLength(1);
    expect(scanText(`\u0000PNG ${ghToken()}`, 'img.png').skipped).toEqual([{ file: 'img.png', reason: 'binary file' }]);
  });

  it('skips candidate lines over the length cap with a note and scans the rest', () => {
    const long = `token=${'a'.repeat(300)} ${ghToken()}`;
    const { findings, skipped } = scanText(`${long}\nx=${ghToken()}\n`, 'min.js', { maxLineLength: 200 });
    expect(findings.map((f) => f.line)).toEqual([2]);
    expect(skipped).toEqual([{ file: 'min.js', reason: 'line 1 longer than 200 characters' }]);
  });

  it('never puts a secret in its output, even for short ones', () => {
    for (const id of ['generic-secret', 'postgres-url', 'private-key', 'aws-secret-access-key']) {
      const sample = samplePositive(id, rng);
      const result = scanText(sample.lines.join('\n'), 'f');
      expect(result.findings.length).toBeGreaterThan(0);
      const json = JSON.stringify(result);
      expect(json).not.toContain(sample.secret);
      for (const f of result.findings) expect(f.match).toMatch(/^.{0,4}…$/);
    }
  });

  it('runs through 1 MB of hostile near misses', () => {
    const text = hostileText(7, 1 << 20);
    const { findings } = scanText(text, 'hostile.txt');
    // Only the random values assigned to secret names in the flood are plausible secrets.
    expect(findings.every((f) => f.ruleId === 'generic-secret')).toBe(true);
  });

  it('accepts a custom rule table', () => {
    const rules = RULES.filter((r) => r.id === 'npm-token');
    expect(scanText(`x=${ghToken()}`, 'f', { rules }).findings).toEqual([]);
  });
});

describe('redactSecrets', () => {
  it('replaces each secret by its redacted form and leaves the rest', () => {
    const token = ghToken();
    expect(redactSecrets(`push failed for ${token} at origin`)).toBe('push failed for ghp_… at origin');
  });

  /** Rules that know a value by the name it is assigned to, or by its encoding: characters glued to it make another value. */
  const VALUE_RULES = new Set(['twilio-auth-token', 'azure-storage-account-key', 'license-key', 'heroku-api-key', 'http-authorization-header', 'docker-config-auth', 'network-credential', 'login-call-password', 'password-assignment', 'vendor-keyed-secret']);

  it.each(RULES.map((r) => r.id).filter((id) => !VALUE_RULES.has(id)))('redacts a %s secret glued to letters, digits or _, even where the scanner keeps a boundary', (ruleId) => {
    const r = createRng(ruleId.length * 31 + 7);
    for (let i = 0; i < 5; i++) {
      const sample = samplePositive(ruleId, r);
      const text = sample.lines.join('\n');
      for (const [before, after] of [['Z', ''], ['', 'Z'], ['a_', '_0'], ['9', '9']]) {
        const glued = text.replace(sample.secret, `${before}${sample.secret}${after}`);
        expect({ glued, leaked: redactSecrets(glued).includes(sample.secret) }).toEqual({ glued, leaked: false });
      }
    }
  });

  it('redacts the whole of a secret that a shorter match of an earlier rule overlaps', () => {
    // gitlab-pat takes 64 characters of the Anthropic key glued after `glpat-`: reporting only the earlier rule's match would leave the key's last 44.
    const key = SAMPLERS['anthropic-api-key']!.make(createRng(5));
    const out = redactSecrets(`glpat-${key}`);
    expect({ out, tail: out.includes(key.slice(-20)) }).toEqual({ out, tail: false });
  });

  it('redacts a secret spelled with JSON or URL escapes, as a client that decodes them reads it', () => {
    const token = ghToken();
    const escapeAll = (t: string): string => [...t].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
    const aws = SAMPLERS['aws-secret-access-key']!.make(createRng(11)).replace(/^(.{10})/, '$1/');
    const cases = [
      `{"answer": "done, \\u0067${token.slice(1)}"}`,
      `{"t": "${escapeAll(token)}"}`,
      `{"aws_secret_access_key": "${aws.slice(0, 40).replace(/\//g, '\\/')}"}`,
    ];
    for (const text of cases) {
      const read = JSON.stringify(JSON.parse(redactSecrets(text)) as unknown);
      expect({ text, leaked: read.includes(token) || read.includes(aws.slice(0, 40)) }).toEqual({ text, leaked: false });
    }
    const url = `https://example.net/cb?t=%67${token.slice(1)}&u=${encodeURIComponent(token)}`;
    expect(decodeURIComponent(redactSecrets(url))).not.toContain(token);
    // Decoding would end this password at the `@` of `%40`: the text as it is is redacted too.
    expect(redactSecrets('postgres://app:Xk9%40vq2ZtL8m@db.internal:5432/app')).not.toContain('vq2ZtL8m');
  });

  it('does not let a cut split a secret spelled with escapes', () => {
    const text = `{"t": "\\u0067${ghToken().slice(1)}"}`;
    expect(cutBefore(text, 20)).toBeLessThanOrEqual(text.indexOf('\\u0067'));
  });

  it('redacts even on lines marked allowed and in very long lines', () => {
    const token = ghToken();
    const text = `${'x'.repeat(30_000)} ${token} // orchestrator:allow`;
    expect(redactSecrets(text)).not.toContain(token);
  });
});
