/**
 * Private keys as tools really write them: every key type `ssh-keygen` makes, with and
 * without a passphrase, and PEM files base64-encoded into configuration.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { scanText } from './scan';

describe('OpenSSH keys written by ssh-keygen', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ssh-keys-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const kinds = ['ed25519', 'rsa', 'ecdsa'].flatMap((type) => [
    { type, passphrase: '' },
    { type, passphrase: 'correct horse battery' },
  ]);

  it.each(kinds)('finds a $type key (passphrase: "$passphrase") at its BEGIN line', ({ type, passphrase }) => {
    const file = path.join(dir, `id_${type}_${passphrase === '' ? 'plain' : 'protected'}`);
    // RSA at 2048 bits rather than the default 3072 only to keep the test fast; the format is the same.
    const size = type === 'rsa' ? ['-b', '2048'] : [];
    execFileSync('ssh-keygen', ['-q', '-t', type, ...size, '-N', passphrase, '-C', 'ci@example', '-f', file]);
    const key = readFileSync(file, 'utf8');
    expect(key.startsWith('-----BEGIN OPENSSH PRIVATE KEY-----')).toBe(true);

    const { findings } = scanText(`# deploy key\n${key}`, 'id_key');
    expect(findings.map((f) => [f.ruleId, f.line, f.column])).toEqual([['private-key', 2, 1]]);
    expect(JSON.stringify(findings)).not.toContain(key.split('\n')[1]);
    // The public half is not a secret.
    expect(scanText(readFileSync(`${file}.pub`, 'utf8'), 'id_key.pub').findings).toEqual([]);
  });
});

describe('base64-encoded PEM private keys in configuration', () => {
  const pem = generateKeyPairSync('rsa', {
    modulusLength: 1024,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const b64 = Buffer.from(pem.privateKey).toString('base64');

  it('finds one in a Kubernetes Secret, on its line', () => {
    const yaml = ['apiVersion: v1', 'kind: Secret', 'type: kubernetes.io/tls', 'data:', `  tls.key: ${b64}`, ''].join('\n');
    expect(scanText(yaml, 'secret.yaml').findings.map((f) => [f.ruleId, f.line])).toEqual([['private-key-base64', 5]]);
  });

  it('finds one in a .env value and one wrapped at 76 columns under a YAML block', () => {
    expect(scanText(`APP=x\nSIGNING_KEY_B64="${b64}"\n`, '.env').findings.map((f) => [f.ruleId, f.line])).toEqual([['private-key-base64', 2]]);
    const wrapped = (b64.match(/.{1,76}/g) as string[]).map((l) => `  ${l}`);
    const values = ['signing:', '  key: |', ...wrapped, 'next: 1', ''].join('\n');
    expect(scanText(values, 'values.yaml').findings.map((f) => [f.ruleId, f.line])).toEqual([['private-key-base64', 3]]);
  });

  it('finds an OpenSSH key encoded the same way', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ssh-b64-'));
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'k')]);
      const encoded = readFileSync(path.join(dir, 'k')).toString('base64');
      expect(scanText(`data:\n  ssh-privatekey: ${encoded}\n`, 'secret.yaml').findings.map((f) => f.ruleId)).toEqual(['private-key-base64']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ignores base64 certificates and public keys', () => {
    const cert = Buffer.from(pem.publicKey.replace(/PUBLIC KEY/g, 'CERTIFICATE')).toString('base64');
    const pub = Buffer.from(pem.publicKey).toString('base64');
    expect(scanText(`data:\n  tls.crt: ${cert}\n  key.pub: ${pub}\n`, 'configmap.yaml').findings).toEqual([]);
  });
});
