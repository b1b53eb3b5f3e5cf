/** Checksums that real token formats embed, so a well-shaped but invented token is not reported. */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3) of the string's UTF-16 code units taken as bytes (tokens are ASCII). */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) {
    crc = (crc >>> 8) ^ (CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff] as number);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Base62 (0-9, A-Z, a-z) of a non-negative integer, left-padded with '0' to `width`. */
export function toBase62(value: number, width: number): string {
  let out = '';
  let v = value;
  do {
    out = BASE62[v % 62] + out;
    v = Math.floor(v / 62);
  } while (v > 0);
  return out.padStart(width, '0');
}

/**
 * GitHub classic and npm tokens: prefix, 30 random base62 chars, then the base62 CRC-32 of
 * those 30 chars in 6 chars, left-padded with '0'.
 */
export function hasBase62Crc32(token: string, prefixLength: number): boolean {
  const body = token.slice(prefixLength, prefixLength + 30);
  const check = token.slice(prefixLength + 30);
  return body.length === 30 && check.length === 6 && toBase62(crc32(body), 6) === check;
}

/** Builds a token in the GitHub/npm checksum scheme from a prefix and 30 base62 chars. */
export function withBase62Crc32(prefix: string, body30: string): string {
  return prefix + body30 + toBase62(crc32(body30), 6);
}

const BECH32_ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32_GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function bech32Polymod(values: readonly number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= BECH32_GENERATORS[i] as number;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >>> 5);
  out.push(0);
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
  return out;
}

/** True when `text` is a valid Bech32 string (BIP-173 checksum), in either case. */
export function isBech32(text: string): boolean {
  const lower = text.toLowerCase();
  const sep = lower.lastIndexOf('1');
  if (sep < 1 || lower.length - sep < 7) return false;
  const data: number[] = [];
  for (let i = sep + 1; i < lower.length; i++) {
    const v = BECH32_ALPHABET.indexOf(lower.charAt(i));
    if (v < 0) return false;
    data.push(v);
  }
  return bech32Polymod([...hrpExpand(lower.slice(0, sep)), ...data]) === 1;
}

/** Encodes 5-bit groups as Bech32 with human-readable part `hrp` (lower case). */
export function bech32Encode(hrp: string, words: readonly number[]): string {
  const values = [...hrpExpand(hrp), ...words, 0, 0, 0, 0, 0, 0];
  const mod = bech32Polymod(values) ^ 1;
  let out = hrp + '1';
  for (const w of words) out += BECH32_ALPHABET[w];
  for (let i = 0; i < 6; i++) out += BECH32_ALPHABET[(mod >>> (5 * (5 - i))) & 31];
  return out;
}

/** Decodes base64url (or base64) to a UTF-8 string; undefined when the text is not base64. */
export function decodeBase64(text: string): string | undefined {
  if (!/^[A-Za-z0-9_\-+/]*={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64').toString('utf8');
}

/** True when `text` decodes (base64/base64url) to a JSON object. */
export function isBase64Json(text: string, requiredKey?: string): boolean {
  const decoded = decodeBase64(text);
  if (decoded === undefined || !decoded.startsWith('{')) return false;
  try {
    const parsed: unknown = JSON.parse(decoded);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return false;
    return requiredKey === undefined || requiredKey in parsed;
  } catch {
    return false;
  }
}
