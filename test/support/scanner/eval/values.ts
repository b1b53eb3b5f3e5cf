/**
 * Expands the value templates of the evaluation cases into concrete random values at run time,
 * so that no secret-shaped literal sits in the repository.
 *
 * A template is a small regex-like pattern written from a vendor's description of its format:
 * literal characters, `\x` escapes, `[a-z0-9_]` classes and `(one|two)` alternatives, each
 * optionally followed by `{n}` or `{n,m}`; and named generators `@name` or `@name(arg)` for
 * formats with structure (checksums, real key pairs, JSON). The encoders `@b64(template)`,
 * `@b64url(template)`, `@b64wrap(template)`, `@hex(template)` and `@hexupper(template)` expand
 * the template inside them (parentheses nest) and encode it, as an author hiding a secret from
 * scanners would. Written independently of the scanner's rule table and of its sample generator
 * (test/support/scanner/samples.ts).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** Deterministic source of randomness (xorshift128+ seeded by splitmix). */
export class Random {
  private a: bigint;
  private b: bigint;

  constructor(seed: number) {
    let s = BigInt(seed) & 0xffffffffffffffffn;
    const next = (): bigint => {
      s = (s + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
      let z = s;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
      return z ^ (z >> 31n);
    };
    this.a = next();
    this.b = next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    let x = this.a;
    const y = this.b;
    this.a = y;
    x = (x ^ (x << 23n)) & 0xffffffffffffffffn;
    this.b = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return Number(((this.b + y) & 0xffffffffn) % BigInt(n));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  chars(alphabet: string, n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += alphabet.charAt(this.int(alphabet.length));
    return out;
  }
}

const DIGITS = '0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();
const ALNUM = DIGITS + UPPER + LOWER;
const HEX = '0123456789abcdef';

function base62(value: number, width: number): string {
  let out = '';
  for (let v = value; v > 0; v = Math.floor(v / 62)) out = ALNUM.charAt(v % 62) + out;
  return out.padStart(width, '0');
}

/** GitHub's published token format: prefix, 30 random base62 characters, base62 CRC-32 of them. */
function checksummedToken(prefix: string, r: Random): string {
  const body = r.chars(ALNUM, 30);
  return prefix + body + base62(crc32(body), 6);
}

function pemLines(der: Buffer, label: string): string {
  const b64 = der.toString('base64');
  const rows: string[] = [];
  for (let i = 0; i < b64.length; i += 64) rows.push(b64.slice(i, i + 64));
  return [`-----BEGIN ${label}-----`, ...rows, `-----END ${label}-----`].join('\n');
}

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** An unencrypted ed25519 key in the openssh-key-v1 format (OpenSSH's PROTOCOL.key), as ssh-keygen writes it. */
function opensshEd25519(r: Random): string {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = (publicKey.export({ format: 'jwk' }).x as string);
  const priv = (privateKey.export({ format: 'jwk' }).d as string);
  const pk = Buffer.from(pub, 'base64url');
  const sk = Buffer.concat([Buffer.from(priv, 'base64url'), pk]);
  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pk)]);
  const check = randomBytes(4);
  let inner = Buffer.concat([check, check, sshString('ssh-ed25519'), sshString(pk), sshString(sk), sshString(`deploy@host${r.int(99)}`)]);
  const pad: number[] = [];
  for (let i = 1; (inner.length + pad.length) % 8 !== 0; i++) pad.push(i);
  inner = Buffer.concat([inner, Buffer.from(pad)]);
  const one = Buffer.alloc(4);
  one.writeUInt32BE(1);
  const blob = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    one,
    sshString(pubBlob),
    sshString(inner),
  ]);
  const b64 = blob.toString('base64');
  const rows: string[] = [];
  for (let i = 0; i < b64.length; i += 70) rows.push(b64.slice(i, i + 70));
  return ['-----BEGIN OPENSSH PRIVATE KEY-----', ...rows, '-----END OPENSSH PRIVATE KEY-----'].join('\n');
}

/** A real private key in the named encoding. RSA keys are 1024-bit to keep generation fast. */
function privateKey(kind: string, r: Random): string {
  switch (kind) {
    case 'rsa':
      return generateKeyPairSync('rsa', { modulusLength: 1024, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey.trim();
    case 'pkcs8':
      return generateKeyPairSync('rsa', { modulusLength: 1024, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey.trim();
    case 'ec':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1', privateKeyEncoding: { type: 'sec1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey.trim();
    case 'ed25519':
      return generateKeyPairSync('ed25519', { privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey.trim();
    case 'encrypted':
      return generateKeyPairSync('ec', {
        namedCurve: 'prime256v1',
        privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: r.chars(ALNUM, 12) },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      }).privateKey.trim();
    case 'openssh':
      return opensshEd25519(r);
    case 'pgp':
      return pemLines(Buffer.from(r.chars(ALNUM, 700)), 'PGP PRIVATE KEY BLOCK').replace(/^(-----BEGIN [^\n]*-----)/, '$1\n');
    default:
      throw new Error(`unknown key kind ${kind}`);
  }
}

const WORDS = ['summer', 'winter', 'dragon', 'monkey', 'falcon', 'coffee', 'purple', 'tiger', 'rocket', 'maple', 'harbor', 'silver', 'banana', 'orange', 'shadow', 'sunset'];

/** A password a person would choose: a word, digits, maybe a symbol or leetspeak. */
function humanPassword(r: Random): string {
  const word = r.pick(WORDS);
  const styles = [
    () => word.charAt(0).toUpperCase() + word.slice(1) + (2015 + r.int(10)) + r.pick(['!', '#', '$', '%', '']),
    () => word.replace(/a/g, '@').replace(/o/g, '0').replace(/e/g, '3') + r.int(100),
    () => r.pick(WORDS) + r.pick(['_', '-', '.']) + word + r.int(10),
    () => word.toUpperCase().slice(0, 3) + r.chars(DIGITS, 3) + word.slice(3) + r.pick(['!', '?', '*']),
  ];
  return r.pick(styles)();
}

function uuid(r: Random): string {
  return [8, 4, 4, 4, 12].map((n) => r.chars(HEX, n)).join('-');
}

function b64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

function jwt(r: Random): string {
  const header = b64url(JSON.stringify({ alg: r.pick(['HS256', 'RS256']), typ: 'JWT' }));
  const payload = b64url(JSON.stringify({ sub: uuid(r), iss: r.pick(['auth.internal', 'supabase']), role: r.pick(['service_role', 'admin']), exp: 1900000000 + r.int(1e6) }));
  return `${header}.${payload}.${r.chars(ALNUM + '-_', 43)}`;
}

const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/** BIP-173 checksum over the human-readable part and 5-bit data words. */
function bech32Checksum(hrp: string, words: readonly number[]): number[] {
  const gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  const values = [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31), ...words, 0, 0, 0, 0, 0, 0];
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= gen[i] as number;
  }
  chk ^= 1;
  return [0, 1, 2, 3, 4, 5].map((i) => (chk >>> (5 * (5 - i))) & 31);
}

/** An age X25519 identity: Bech32 of 32 random bytes under `age-secret-key-`, upper-cased (age's spec). */
function ageIdentity(r: Random): string {
  const words = Array.from({ length: 52 }, (_, i) => (i === 51 ? r.int(2) << 4 : r.int(32)));
  const hrp = 'age-secret-key-';
  return (hrp + '1' + [...words, ...bech32Checksum(hrp, words)].map((w) => BECH32.charAt(w)).join('')).toUpperCase();
}

type Generator = (r: Random, arg: string) => string;

const GENERATORS: Readonly<Record<string, Generator>> = {
  ghtoken: (r, prefix) => checksummedToken(prefix, r),
  key: (r, kind) => privateKey(kind, r),
  /** A PEM private key, base64-encoded as a whole (Kubernetes Secrets, Helm values, CI variables). */
  b64key: (r, kind) => Buffer.from(privateKey(kind, r) + '\n').toString('base64'),
  /** A PEM key with its line breaks written as `\n` (JSON, .env). */
  escapedkey: (r, kind) => privateKey(kind, r).replace(/\n/g, '\\n'),
  pw: (r) => humanPassword(r),
  /** A human password as it can stand unescaped in a URL's userinfo (no `@ ? # % $ !`). */
  urlpw: (r) => humanPassword(r).replace(/@/g, '4').replace(/[?#%$!]/g, ''),
  uuid: (r) => uuid(r),
  jwt: (r) => jwt(r),
  /** Base64 of `user:password`, as in an HTTP Basic Authorization header. */
  basic: (r) => Buffer.from(`${r.pick(['admin', 'deploy', 'ci', 'svc-build'])}:${humanPassword(r)}`).toString('base64'),
  /** A Docker config `auth` value: base64 of `user:token`. */
  dockerauth: (r) => Buffer.from(`${r.pick(['ci', 'robot$deploy'])}:${r.chars(ALNUM, 32)}`).toString('base64'),
  /** AWS access key id: 4-letter prefix and 16 base32 characters. */
  awsid: (r, prefix) => (prefix || 'AKIA') + r.chars(UPPER + '234567', 16),
  word: (r) => r.pick(WORDS),
  age: (r) => ageIdentity(r),
  /** `base64` of the expanded template, as `base64 -w0` and btoa() write it (padded). */
  b64: (r, template) => Buffer.from(expand(template, r)).toString('base64'),
  /** base64url without padding (RFC 4648 §5), as JWT libraries and `base64.urlsafe_b64encode(...).rstrip(b'=')` write it. */
  b64url: (r, template) => Buffer.from(expand(template, r)).toString('base64url'),
  /** `base64` as the command writes it by default: lines of 76 characters. */
  b64wrap: (r, template) => (Buffer.from(expand(template, r)).toString('base64').match(/.{1,76}/g) ?? []).join('\n'),
  /** Lower-case hex, as `xxd -p -c0`, `od` or bytes.hex() write it. */
  hex: (r, template) => Buffer.from(expand(template, r)).toString('hex'),
  hexupper: (r, template) => Buffer.from(expand(template, r)).toString('hex').toUpperCase(),
};

interface Atom {
  readonly emit: (r: Random) => string;
  min: number;
  max: number;
}

function parseClass(spec: string): string {
  let out = '';
  for (let i = 0; i < spec.length; i++) {
    const c = spec.charAt(i);
    if (c === '\\') {
      out += spec.charAt(++i);
    } else if (spec.charAt(i + 1) === '-' && i + 2 < spec.length) {
      for (let x = c.charCodeAt(0); x <= spec.charCodeAt(i + 2); x++) out += String.fromCharCode(x);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * `@name` or `@name(arg)` at `i` when `name` is a generator (any other `@` is a literal): the
 * name, the argument (parentheses inside it nest) and the length of the whole.
 */
function generatorAt(template: string, i: number): { name: string; arg: string; length: number } | undefined {
  const m = /^@([a-z0-9]+)/.exec(template.slice(i));
  if (m === null || !Object.hasOwn(GENERATORS, m[1] as string)) return undefined;
  const open = i + m[0].length;
  if (template.charAt(open) !== '(') return { name: m[1] as string, arg: '', length: m[0].length };
  let depth = 0;
  for (let j = open; j < template.length; j++) {
    const c = template.charAt(j);
    if (c === '\\') j++;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return { name: m[1] as string, arg: template.slice(open + 1, j), length: j + 1 - i };
  }
  throw new Error(`unclosed argument of @${m[1]} in ${template}`);
}

/** Expands one template into a random value. */
export function expand(template: string, r: Random): string {
  const atoms: Atom[] = [];
  for (let i = 0; i < template.length; ) {
    const c = template.charAt(i);
    if (c === '[') {
      const end = template.indexOf(']', i + 2);
      const alphabet = parseClass(template.slice(i + 1, end));
      atoms.push({ emit: (rr) => rr.chars(alphabet, 1), min: 1, max: 1 });
      i = end + 1;
    } else if (c === '(') {
      const end = template.indexOf(')', i);
      const options = template.slice(i + 1, end).split('|');
      atoms.push({ emit: (rr) => rr.pick(options), min: 1, max: 1 });
      i = end + 1;
    } else if (c === '@' && generatorAt(template, i) !== undefined) {
      const { name, arg, length } = generatorAt(template, i) as { name: string; arg: string; length: number };
      const gen = GENERATORS[name] as Generator;
      atoms.push({ emit: (rr) => gen(rr, arg), min: 1, max: 1 });
      i += length;
    } else if (c === '{') {
      const end = template.indexOf('}', i);
      const [lo, hi] = template.slice(i + 1, end).split(',').map(Number);
      const last = atoms[atoms.length - 1] as Atom;
      last.min = lo as number;
      last.max = hi ?? (lo as number);
      i = end + 1;
    } else if (c === '\\') {
      const lit = template.charAt(i + 1);
      atoms.push({ emit: () => lit, min: 1, max: 1 });
      i += 2;
    } else {
      atoms.push({ emit: () => c, min: 1, max: 1 });
      i += 1;
    }
  }
  let out = '';
  for (const atom of atoms) {
    const n = atom.min + r.int(atom.max - atom.min + 1);
    for (let k = 0; k < n; k++) out += atom.emit(r);
  }
  return out;
}
