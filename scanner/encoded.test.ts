/**
 * Secrets an author encodes before writing them (base64, base64url, hex), as a hostile agent
 * hides one from the scan of its commit, and what must not decode into a finding.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { scanContent } from './content';
import { cutBefore } from './cuts';
import { RULES } from './rules';
import { toSarif } from './sarif';
import { redactSecrets, scanText } from './scan';
import { SAMPLERS, createRng, samplePositive } from '../test/support/scanner/samples';

const rng = createRng(4242);
const ghToken = (): string => SAMPLERS['github-pat']!.make(rng);
const awsId = (): string => SAMPLERS['aws-access-key-id']!.make(rng);
const awsSecret = (): string => rng.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+', 40);
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const b64url = (s: string): string => Buffer.from(s).toString('base64url');
const hex = (s: string): string => Buffer.from(s).toString('hex');

/** Every base64 or hex rendering of `secret` starting at any of its first 12 bytes: none may be left in a text. */
function encodedPieces(secret: string): string[] {
  const pieces: string[] = [];
  for (let from = 0; from < 3; from++) {
    const tail = Buffer.from(secret.slice(from));
    pieces.push(tail.toString('base64').slice(0, 16), tail.toString('base64url').slice(0, 16));
  }
  pieces.push(hex(secret).slice(0, 24), hex(secret).slice(0, 24).toUpperCase());
  return pieces;
}

describe('encoded secrets', () => {
  it('finds a GitHub token in base64 and unpadded base64url, at the encoded characters, fingerprinted as the token', () => {
    const token = ghToken();

    const plain = scanText(`t = "${token}"`, 'a.ts').findings[0];
    // ASCII gives base64's two extra characters only from `>`, `?` and `~` as the last byte of a group.
    const text = `// config\nconst x = "${b64(token)}";\nconst y = '${b64url(`~~~${token}`)}';\n`;
    const { findings } = scanText(text, 'src/config.ts');
    expect(findings.map((f) => [f.ruleId, f.line, f.column, f.match])).toEqual([
      ['github-pat:base64', 2, 12, 'ghp_…'],
      ['github-pat:base64url', 3, 16, 'ghp_…'],
    ]);
    expect(findings.map((f) => f.fingerprint)).toEqual([plain?.fingerprint, plain?.fingerprint]);
    const json = JSON.stringify(findings);
    for (const piece of [token, ...encodedPieces(token)]) expect(json).not.toContain(piece);
  });

  it('describes an encoded finding\'s rule in SARIF by its rule and its encoding', () => {
    const result = scanText(`const x = "${hex(ghToken())}";\n`, 'a.ts');
    const sarif = toSarif(result, RULES) as { runs: { tool: { driver: { rules: { id: string; shortDescription: { text: string } }[] } } }[] };
    expect(sarif.runs[0]?.tool.driver.rules).toEqual([
      expect.objectContaining({ id: 'github-pat:hex', shortDescription: { text: 'GitHub personal access token (classic), hex-encoded' } }),
    ]);
  });

  it.each([0, 1, 2])('finds a token %i bytes into its 3-byte group, in the middle of encoded text', (pad) => {
    const token = ghToken();
    const before = `${'#'.repeat(pad)}export GITHUB_TOKEN=`;
    const encoded = b64(`${before}${token}\nexport REGION=eu-west-1\n`);
    const { findings } = scanText(`echo ${encoded} | base64 -d > .env\n`, 'setup.sh');
    expect(findings.map((f) => f.ruleId)).toEqual(['github-pat:base64']);
    // Reported where the token's bits begin among the encoded characters.
    const byte = Buffer.byteLength(before);
    expect(findings[0]?.column).toBe('echo '.length + Math.floor(byte / 3) * 4 + (byte % 3) + 1);
  });

  it('finds an AWS key pair in lower- and upper-case hex (xxd -p, bytes.hex())', () => {
    const pair = `[default]\naws_access_key_id = ${awsId()}\naws_secret_access_key = ${awsSecret()}\n`;
    for (const encoded of [hex(pair), hex(pair).toUpperCase()]) {
      const { findings } = scanText(`mkdir -p ~/.aws\necho ${encoded} | xxd -r -p > ~/.aws/credentials\n`, 'bootstrap.sh');
      expect(findings.map((f) => [f.ruleId, f.line])).toEqual([
        ['aws-access-key-id:hex', 2],
        ['aws-secret-access-key:hex', 2],
      ]);
    }
  });

  it('finds a secret in base64 wrapped at 76 columns (the command\'s default), at the line its characters start on', () => {
    const token = ghToken();
    const env = `# written by the release job\nLOG_LEVEL=info\nREGION=eu-west-1\nWORKERS=4\nGH_TOKEN=${token}\nDONE=1\n`;
    const rows = b64(env).match(/.{1,76}/g) as string[];
    const script = ['#!/bin/sh', 'base64 -d > .env <<EOF', ...rows, 'EOF', ''].join('\n');
    const { findings } = scanText(script, 'deploy.sh');
    const byte = env.indexOf('ghp_');
    const tokenAt = Math.floor(byte / 3) * 4 + (byte % 3);
    expect(findings.map((f) => [f.ruleId, f.line])).toEqual([['github-pat:base64', 3 + Math.floor(tokenAt / 76)]]);
    // The same block indented under a YAML key.
    const yaml = ['data:', '  env: |', ...rows.map((r) => `    ${r}`), 'kind: Secret', ''].join('\n');
    expect(scanText(yaml, 'secret.yaml').findings.map((f) => f.ruleId)).toEqual(['github-pat:base64']);
  });

  it('finds every rule\'s samples base64-, base64url- and hex-encoded, at any offset in a group', () => {
    const encoders = [(s: string) => b64(s), (s: string) => b64(`#${s}`), (s: string) => b64url(`##${s}`), (s: string) => hex(s)];
    const missed: string[] = [];
    for (const rule of RULES) {
      for (let i = 0; i < 4; i++) {
        const sample = samplePositive(rule.id, rng);
        encoders.forEach((encode, e) => {
          const { findings } = scanText(`value: ${encode(`${sample.lines.join('\n')}\n`)}\n`, 'values.yaml');
          if (findings.length === 0) missed.push(`${rule.id} #${e}`);
          expect(JSON.stringify(findings)).not.toContain(sample.secret);
        });
      }
    }
    expect(missed).toEqual([]);
  });

  it('is found by scanContent, the scan of every staged blob, even where the author wrote an allow marker', () => {
    const token = ghToken();
    const text = `const x = "${b64(`${token} # orchestrator:allow`)}"; // orchestrator:allow\n`;
    const { findings } = scanContent(text, 'a.ts', { honourInlineAllow: false });
    expect(findings.map((f) => f.ruleId)).toEqual(['github-pat:base64']);
  });

  it('redacts encoded secrets, leaving no encoding of them, and the text around them', () => {
    const token = ghToken();
    const id = awsId();
    const secret = awsSecret();
    const output = [
      `$ cat config.ts`,
      `const x = "${b64(token)}";`,
      `const y = "${b64url(`token=${token}`)}";`,
      `echo ${hex(`aws_access_key_id=${id} aws_secret_access_key=${secret}`)} | xxd -r -p`,
      `done`,
    ].join('\n');
    const redacted = redactSecrets(output);
    for (const piece of [token, id, secret, ...encodedPieces(token), ...encodedPieces(id), ...encodedPieces(secret)]) {
      expect(redacted).not.toContain(piece);
    }
    // Nothing that decodes back to the secrets either.
    const decoded = (redacted.match(/[A-Za-z0-9+/_-]{8,}/g) ?? []).flatMap((run) => [Buffer.from(run, 'base64').toString('latin1'), Buffer.from(run, 'hex').toString('latin1')]).join('\n');
    for (const part of [token.slice(8, 20), id.slice(6), secret.slice(10, 22)]) expect(decoded).not.toContain(part);
    expect(redacted.split('\n')[0]).toBe('$ cat config.ts');
    expect(redacted).toContain('ghp_…');
    expect(redacted.split('\n')[4]).toBe('done');
  });

  it('redacts two encoded secrets that share a group of encoded characters', () => {
    const [a, b] = [ghToken(), ghToken()];
    const redacted = redactSecrets(`x=${b64(`${a} ${b}`)}`);
    for (const piece of [a, b, ...encodedPieces(a), ...encodedPieces(b)]) expect(redacted).not.toContain(piece);
  });

  it('keeps a cut of output from splitting an encoded token', () => {
    const encoded = b64(ghToken());
    const text = `output: ${encoded} end`;
    const inside = text.indexOf(encoded) + 20;
    expect(cutBefore(text, inside)).toBeLessThanOrEqual(text.indexOf(encoded));
  });

  it('reports base64 PEM once, by its own rule, not again as a decoded private key', () => {
    const pem = SAMPLERS['private-key-base64']!.make(rng);
    expect(scanText(`tls.key: ${pem}\n`, 'secret.yaml').findings.map((f) => f.ruleId)).toEqual(['private-key-base64']);
  });
});

describe('encoded text that holds no secret', () => {
  const decoys: [string, () => string][] = [
    ['a lockfile integrity hash', () => `"integrity": "sha512-${randomBytes(64).toString('base64')}"`],
    ['a data: URI of a PNG', () => `background: url(data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA${randomBytes(600).toString('base64')});`],
    ['a data: URI of an SVG', () => `url("data:image/svg+xml;base64,${b64('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M8 0L16 16H0z"/></svg>')}")`],
    ['git SHAs', () => Array.from({ length: 5 }, () => `commit ${randomBytes(20).toString('hex')}`).join('\n')],
    ['UUIDs', () => Array.from({ length: 5 }, () => `"id": "${randomUUID()}"`).join(',\n')],
    ['random base64 blobs', () => Array.from({ length: 20 }, () => randomBytes(57).toString('base64')).join('\n')],
    ['random hex', () => `key_id: ${randomBytes(32).toString('hex')}\niv: ${randomBytes(16).toString('hex')}`],
    ['an inline source map', () => `//# sourceMappingURL=data:application/json;base64,${b64('{"version":3,"sources":["src/auth/token.ts"],"names":["password","token","secret"],"mappings":"AAAA,SAAS"}')}`],
    ['encoded prose and configuration', () => `const WELCOME = atob('${b64('Welcome back! Your session token expires in 30 minutes.')}');\nconst CFG = "${b64('API_URL=https://api.corp.net\nAPI_TOKEN=${API_TOKEN}\nLOG_LEVEL=debug\n')}";`],
    ['an encoded token with a wrong checksum', () => `const FAKE = atob("${b64(`ghp_${rng.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij0123456789', 36)}`)}");`],
    ['the documented AWS example key, encoded', () => `echo ${b64('aws_access_key_id=AKIAIOSFODNN7EXAMPLE')} | base64 -d`],
  ];

  it.each(decoys)('does not report %s', (_name, make) => {
    for (let i = 0; i < 20; i++) {
      const text = make();
      expect({ text, findings: scanText(text, 'f').findings }).toEqual({ text, findings: [] });
      expect(redactSecrets(text)).toBe(text);
    }
  });

  it('does not report random base64 that holds an encoded keyword by chance: it decodes to bytes, not text', () => {
    for (let i = 0; i < 50; i++) {
      const blob = randomBytes(300).toString('base64');
      const text = `blob: ${blob.slice(0, 100)}Z2hwX${blob.slice(105)}`; // `Z2hwX` starts base64 of "ghp_"
      expect(scanText(text, 'f').findings).toEqual([]);
    }
  });
});

describe('encoded runs on hostile shapes', () => {
  // Linear in size: a decoding per keyword instead of per run, or a rescan of a wrapped block
  // per line, would time this out.
  it('scans 8 MB of short encoded runs and an 8 MB wrapped block full of tokens', () => {
    const token = ghToken();
    const runs = `${b64('ghp_abcdefghij')} `.repeat(8 * 1024 * 1024 / 21);
    expect(scanContent(runs, 'runs.txt').findings).toEqual([]);
    const block = (b64(`GITHUB_TOKEN=${token}\n`.repeat(8 * 1024 * 1024 / 74)).match(/.{1,76}/g) as string[]).join('\n');
    const { findings } = scanContent(block, 'block.txt');
    expect(findings.map((f) => [f.ruleId, f.line])).toEqual([['github-pat:base64', 1]]);
    const redacted = redactSecrets(block);
    for (const piece of encodedPieces(token)) expect(redacted).not.toContain(piece);
  });
});
