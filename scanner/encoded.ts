/**
 * Secrets encoded before they are written: base64 (standard or url-safe, padded or not) and hex.
 * An author who commits `Z2hwX…` (base64 of a GitHub token) or the hex of an AWS key pair, and
 * decodes it at run time (`echo … | base64 -d`), leaks the secret as surely as in plain text.
 *
 * No extra pass over the text: the keyword prefilter also looks for the encoded forms of every
 * rule keyword. Base64 puts a keyword at one of three offsets in its 3-byte groups, each giving
 * other characters, and only the characters whose 6 bits all come from the keyword are fixed;
 * hex has one form. Where a form occurs, the run of encoded characters around it (over the lines
 * of a wrapped block too) is decoded once and, when the bytes read as text, scanned with the
 * same rules; what they find is reported at the encoded characters. Random base64 and hex
 * (hashes, integrity strings, images, ids) holds a form only by chance and decodes to bytes that
 * are not text.
 */
import type { Rule } from './types';

export type Encoding = 'base64' | 'base64url' | 'hex';

/** One exact encoded form of a keyword. */
export interface EncodedForm {
  /** Its characters: base64 is compared case-sensitively, hex case-insensitively. */
  readonly text: string;
  readonly hex: boolean;
  /** Characters between the start of its group (4 base64 characters, 2 hex digits) and the form. */
  readonly phase: number;
}

/** The encoded forms of the rules' keywords: `keywords[i]` (lower case, for the prefilter) stands for `forms[i]`. */
export interface EncodedKeywords {
  readonly keywords: readonly string[];
  readonly forms: readonly (readonly EncodedForm[])[];
}

/**
 * Shortest and longest forms kept. Four base64 characters are what a 4-letter keyword such as
 * `ghp_` or `AKIA` fixes at its worst offset. Longer forms are cut: the rules judge the decoded
 * text anyway, and six characters already make a chance match rare.
 */
const MIN_BASE64_FORM = 4;
const MAX_BASE64_FORM = 6;
const MIN_HEX_FORM = 6;
const MAX_HEX_FORM = 8;

/**
 * The spellings of `keyword` to encode. Matching is case-insensitive in plain text, but each
 * case is its own base64: a rule whose pattern spells the keyword with case (`AKIA`, `AIza`,
 * `SG.`) gives those spellings; otherwise lower case, upper case and capitalised
 * (`password`, `PASSWORD`, `Password`).
 */
function spellings(rule: Rule, keyword: string): string[] {
  if (!rule.pattern.flags.includes('i')) {
    const source = rule.pattern.source.replace(/\\(.)/g, '$1');
    const lower = source.toLowerCase();
    const found = new Set<string>();
    for (let i = lower.indexOf(keyword); i >= 0; i = lower.indexOf(keyword, i + 1)) found.add(source.slice(i, i + keyword.length));
    if (found.size > 0) return [...found];
  }
  return [...new Set([keyword, keyword.toUpperCase(), keyword.charAt(0).toUpperCase() + keyword.slice(1)])];
}

/**
 * The base64 forms of `bytes` at each of the three offsets in a group, with their phase. Where a
 * short keyword (`SG.`, `eyJ`, `-us`) fixes fewer than four characters, the form takes in the
 * character it shares with its neighbour when 4 of that character's 6 bits are the keyword's:
 * once for each of the 4 values the neighbour's 2 bits can give it.
 */
function base64Forms(bytes: Buffer): { text: string; phase: number }[] {
  const forms: { text: string; phase: number }[] = [];
  const encode = (before: number, offset: number, after: number): string =>
    Buffer.concat([Buffer.alloc(offset, before), bytes, Buffer.from([after, after])]).toString('base64');
  for (let offset = 0; offset < 3; offset++) {
    // Characters whose 6 bits all come from the keyword's bits [8 * offset, 8 * (offset + length)).
    const startBit = 8 * offset;
    const endBit = 8 * (offset + bytes.length);
    const first = Math.ceil(startBit / 6);
    const last = Math.floor(endBit / 6);
    if (last - first >= MIN_BASE64_FORM) {
      forms.push({ text: encode(0, offset, 0).slice(first, Math.min(last, first + MAX_BASE64_FORM)), phase: first % 4 });
    } else if (last - first + 1 >= MIN_BASE64_FORM && startBit % 6 === 2) {
      for (let low = 0; low < 4; low++) forms.push({ text: encode(low, offset, 0).slice(first - 1, last), phase: (first - 1) % 4 });
    } else if (last - first + 1 >= MIN_BASE64_FORM && endBit % 6 === 4) {
      for (let high = 0; high < 4; high++) forms.push({ text: encode(0, offset, high << 6).slice(first, last + 1), phase: first % 4 });
    }
  }
  return forms;
}

/** Derives the encoded forms of the keywords of `rules`, grouped by their lower-case spelling. */
export function encodedKeywords(rules: readonly Rule[]): EncodedKeywords {
  const byKeyword = new Map<string, Map<string, EncodedForm>>();
  const add = (form: EncodedForm): void => {
    const keyword = form.text.toLowerCase();
    let forms = byKeyword.get(keyword);
    if (forms === undefined) byKeyword.set(keyword, (forms = new Map()));
    forms.set(`${form.hex}:${form.phase}:${form.hex ? keyword : form.text}`, form);
  };
  for (const rule of rules) {
    if (rule.encodedKeywords === false) continue;
    for (const keyword of rule.keywords) {
      for (const spelling of spellings(rule, keyword)) {
        const bytes = Buffer.from(spelling, 'latin1');
        for (const { text, phase } of base64Forms(bytes)) {
          add({ text, hex: false, phase });
          if (/[+/]/.test(text)) add({ text: text.replace(/\+/g, '-').replace(/\//g, '_'), hex: false, phase });
        }
        const hex = bytes.toString('hex').slice(0, MAX_HEX_FORM);
        if (hex.length >= MIN_HEX_FORM) add({ text: hex, hex: true, phase: 0 });
      }
    }
  }
  return { keywords: [...byKeyword.keys()], forms: [...byKeyword.values()].map((forms) => [...forms.values()]) };
}

/** Whether `form` is what `text` holds at `at`, given that the prefilter matched it there case-insensitively. */
export function formAt(text: string, at: number, form: EncodedForm): boolean {
  return form.hex || text.startsWith(form.text, at);
}

/** A shorter run (12 bytes of base64, 8 of hex) is too short to hold a secret a rule reports. */
const MIN_RUN_CHARS = 16;
/** Share of decoded bytes that must be printable ASCII (or tab, line feed, carriage return). */
const MIN_PRINTABLE = 0.85;
/** Lines of a wrapped block (`base64` wraps at 76, PEM and `openssl` at 64, `xxd -p` at 60). */
const MIN_WRAP = 40;
const MAX_WRAP = 256;

const BASE64_CHAR = charTable('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_');
const HEX_CHAR = charTable('0123456789ABCDEFabcdef');

function charTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  return table;
}

interface Segment {
  readonly start: number;
  readonly end: number;
}

/** Index of the last segment starting at or before `offset` (0 when none); `startOf` reads a segment's start. */
function segmentAt(count: number, startOf: (k: number) => number, offset: number): number {
  let lo = 0;
  let hi = count - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (startOf(mid) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Text decoded from a run of encoded characters, and where its bytes sit in the scanned text. */
export class DecodedRun {
  /** Offset of each segment's first character in the encoded characters of the run. */
  private readonly offsets: readonly number[];
  private readonly total: number;

  constructor(
    readonly encoding: Encoding,
    /** The decoded bytes, one character each (latin1), so that offsets are byte offsets. */
    readonly text: string,
    private readonly segments: readonly Segment[],
  ) {
    const offsets: number[] = [];
    let total = 0;
    for (const s of segments) {
      offsets.push(total);
      total += s.end - s.start;
    }
    this.offsets = offsets;
    this.total = total;
  }

  /** Offset in the scanned text of the first encoded character holding bits of decoded byte `offset`. */
  at(offset: number): number {
    return this.hex ? this.textOffset(2 * offset) : this.textOffset(Math.floor(offset / 3) * 4 + (offset % 3));
  }

  /** The encoded characters of the groups holding decoded bytes [from, to): removing them removes every bit of those bytes. */
  span(from: number, to: number): { start: number; end: number } {
    return this.hex
      ? { start: this.textOffset(2 * from), end: this.textOffset(2 * to) }
      : { start: this.textOffset(Math.floor(from / 3) * 4), end: this.textOffset(Math.ceil(to / 3) * 4) };
  }

  private get hex(): boolean {
    return this.encoding === 'hex';
  }

  /** Offset in the scanned text of encoded character `index` (the run's end for the end of the run). */
  private textOffset(index: number): number {
    const last = this.segments[this.segments.length - 1] as Segment;
    if (index >= this.total) return last.end;
    const k = segmentAt(this.offsets.length, (i) => this.offsets[i] as number, index);
    return (this.segments[k] as Segment).start + index - (this.offsets[k] as number);
  }
}

/** A run of encoded characters around an encoded form, and its text when it decodes to text. */
export interface EncodedRun {
  readonly hex: boolean;
  /** Its lines in the scanned text (one unless wrapped), each starting on a group boundary. */
  readonly segments: readonly Segment[];
  /** Offset in the scanned text just past its last character. */
  readonly end: number;
  readonly decoded?: DecodedRun;
}

/**
 * Whether decoding `run` stands for decoding the run around `form` at `at` too: `at` lies in
 * it, and it decoded to text, or `form` sits on its groups. Then a run is decoded at most once
 * per grid (4 base64, 2 hex), however many forms it holds, by chance or not.
 */
export function runCovers(run: EncodedRun, at: number, form: EncodedForm): boolean {
  const { segments } = run;
  if (run.hex !== form.hex || at < (segments[0] as Segment).start || at >= run.end) return false;
  if (run.decoded !== undefined) return true;
  const segment = segments[segmentAt(segments.length, (k) => (segments[k] as Segment).start, at)] as Segment;
  return at < segment.end && mod(at - form.phase - segment.start, form.hex ? 2 : 4) === 0;
}

function isEncodedChar(alphabet: Uint8Array, text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c < 128 && alphabet[c] === 1;
}

/** Whether `length` fits a line of a wrapped block whose lines are `width` long (-1: not known yet). */
function wrapWidth(length: number, width: number, unit: number): boolean {
  return length >= MIN_WRAP && length <= MAX_WRAP && length % unit === 0 && (width < 0 || length === width);
}

/**
 * Decodes the run of encoded characters around `form`, which occurs at `at`. The run starts at
 * the first group boundary (by the form's phase) inside it, and continues over the previous and
 * following lines of a wrapped block: lines of one width (a multiple of the group size), each
 * holding nothing but indentation before the encoded characters, the last one no longer.
 */
export function decodeRunAt(text: string, at: number, form: EncodedForm): EncodedRun {
  const unit = form.hex ? 2 : 4;
  const alphabet = form.hex ? HEX_CHAR : BASE64_CHAR;
  let lineRunStart = at;
  while (lineRunStart > 0 && isEncodedChar(alphabet, text, lineRunStart - 1)) lineRunStart--;
  let lineRunEnd = at + form.text.length;
  while (lineRunEnd < text.length && isEncodedChar(alphabet, text, lineRunEnd)) lineRunEnd++;
  const start = lineRunStart + mod(at - form.phase - lineRunStart, unit);
  const segments: Segment[] = [{ start, end: lineRunEnd }];

  let width = -1;
  // Earlier lines: only when this line's run starts on a group boundary, after indentation only.
  for (let first = segments[0] as Segment; first.start === lineRunStart || segments.length > 1; first = segments[0] as Segment) {
    const lineStart = skipBack(text, first.start, ' \t');
    if (lineStart === 0 || text.charCodeAt(lineStart - 1) !== 10) break;
    const end = skipBack(text, lineStart - 1, ' \t\r');
    let begin = end;
    while (begin > 0 && isEncodedChar(alphabet, text, begin - 1)) begin--;
    if (!wrapWidth(end - begin, width, unit)) break;
    width = end - begin;
    segments.unshift({ start: begin, end });
  }
  if (segments.length > 1 && lineRunEnd - lineRunStart > width) segments.splice(0, segments.length - 1); // not a line of that block
  // Later lines, while the last one is a whole line of the block's width; a line holds nothing
  // after the run but padding, closing quotes or brackets.
  for (;;) {
    const last = segments[segments.length - 1] as Segment;
    const length = last.end - last.start;
    if (!wrapWidth(length, width, unit)) break;
    const lineEnd = skipForward(text, last.end, ' \t\r');
    if (lineEnd >= text.length || text.charCodeAt(lineEnd) !== 10) break;
    const begin = skipForward(text, lineEnd + 1, ' \t');
    let end = begin;
    while (end < text.length && isEncodedChar(alphabet, text, end)) end++;
    const after = skipForward(text, skipForward(text, end, '='), '"\'`),;] \t\r');
    if (end === begin || end - begin > length || (after < text.length && text.charCodeAt(after) !== 10)) break;
    width = length;
    segments.push({ start: begin, end });
  }

  const end = (segments[segments.length - 1] as Segment).end;
  let encoded = segments.length === 1 ? text.slice(start, lineRunEnd) : segments.map((s) => text.slice(s.start, s.end)).join('');
  if (form.hex) encoded = encoded.slice(0, encoded.length - (encoded.length % 2));
  if (encoded.length < MIN_RUN_CHARS) return { hex: form.hex, segments, end };
  const { bytes, length } = decodeIntoScratch(encoded, form.hex);
  if (!mostlyPrintable(bytes, length)) return { hex: form.hex, segments, end };
  const encoding: Encoding = form.hex ? 'hex' : /[-_]/.test(encoded) ? 'base64url' : 'base64';
  return { hex: form.hex, segments, end, decoded: new DecodedRun(encoding, bytes.toString('latin1', 0, length), segments) };
}

const MAX_RETAINED_BYTES = 1024 * 1024;
/** Reused across runs (decoding is synchronous): a hostile text can hold millions of small runs. */
let scratch = Buffer.allocUnsafe(4096);

/** The `length` bytes `encoded` decodes to, at the start of `bytes`, which is only valid until the next call. */
function decodeIntoScratch(encoded: string, hex: boolean): { bytes: Buffer; length: number } {
  const most = hex ? encoded.length / 2 : Math.ceil((encoded.length * 3) / 4);
  if (scratch.length < most && most <= MAX_RETAINED_BYTES) scratch = Buffer.allocUnsafe(Math.max(most, scratch.length * 2));
  const bytes = scratch.length >= most ? scratch : Buffer.allocUnsafe(most);
  return { bytes, length: bytes.write(encoded, hex ? 'hex' : 'base64') };
}

function mostlyPrintable(bytes: Uint8Array, length: number): boolean {
  let printable = 0;
  for (let i = 0; i < length; i++) {
    const b = bytes[i] as number;
    if ((b >= 0x20 && b < 0x7f) || b === 9 || b === 10 || b === 13) printable++;
  }
  return length > 0 && printable >= MIN_PRINTABLE * length;
}

function skipBack(text: string, from: number, chars: string): number {
  let i = from;
  while (i > 0 && chars.includes(text.charAt(i - 1))) i--;
  return i;
}

function skipForward(text: string, from: number, chars: string): number {
  let i = from;
  while (i < text.length && chars.includes(text.charAt(i))) i++;
  return i;
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
