/**
 * Keyword prefilter: one Aho-Corasick pass over the text finds every rule keyword
 * (ASCII case-insensitively), so a rule's regex only ever runs on lines that mention it.
 * Most lines of ordinary code contain no keyword and cost one table lookup per character.
 */
import type { Rule } from './types';

const ALPHABET = 128;

export interface Prefilter {
  /**
   * Transition table indexed by `state * 128 + (char & 127)`, holding `next * 128`, or
   * `-(next * 128) - 1` when keywords end in `next` (one lookup and one sign test per character).
   * Upper-case columns repeat the lower-case ones, so matching is ASCII case-insensitive.
   */
  readonly delta: Int32Array;
  /** Keywords ending in each state, as `ruleIndex << 8 | keywordLength` (empty for most states). */
  readonly output: readonly (readonly number[])[];
}

/** A line that contains at least one keyword. */
export interface CandidateLine {
  /** Offset of the first character of the line. */
  readonly start: number;
  /** Offset just past the line's last character (the `\n` or the end of the text). */
  readonly end: number;
  /** This line's keyword occurrences are `hitRule[k]`, `hitStart[k]` for hitFrom <= k < hitTo. */
  readonly hitFrom: number;
  readonly hitTo: number;
}

/** Lines that contain keywords, and the keyword occurrences (rule index, offset where the keyword starts). */
export interface Candidates {
  readonly lines: CandidateLine[];
  readonly hitRule: Int32Array;
  readonly hitStart: Int32Array;
}

/**
 * Builds the automaton over all rules' keywords; throws if a keyword is not lower-case ASCII.
 * `extraKeywords[i]` is reported as rule index `rules.length + i` (encoded.ts derives the
 * encoded forms of the rules' keywords, which scan.ts passes here).
 */
export function buildPrefilter(rules: readonly Rule[], extraKeywords: readonly string[] = []): Prefilter {
  const goto: Int32Array[] = [new Int32Array(ALPHABET).fill(-1)];
  const outSets: Set<number>[] = [new Set()];
  const keywordSets = [...rules, ...extraKeywords.map((keyword) => ({ id: `encoded keyword ${keyword}`, keywords: [keyword] }))];
  keywordSets.forEach((rule, ruleIndex) => {
    for (const keyword of rule.keywords) {
      if (keyword === '' || keyword.length > 255 || !/^[\x20-\x7e]+$/.test(keyword) || keyword !== keyword.toLowerCase()) {
        throw new Error(`rule ${rule.id}: keyword must be lower-case ASCII of 1 to 255 characters`);
      }
      let state = 0;
      for (let i = 0; i < keyword.length; i++) {
        const c = keyword.charCodeAt(i);
        const row = goto[state] as Int32Array;
        if (row[c] === -1) {
          goto.push(new Int32Array(ALPHABET).fill(-1));
          outSets.push(new Set());
          row[c] = goto.length - 1;
        }
        state = row[c] as number;
      }
      (outSets[state] as Set<number>).add((ruleIndex << 8) | keyword.length);
    }
  });

  // Breadth-first: fill missing transitions through failure links and inherit their outputs.
  const fail = new Int32Array(goto.length);
  const queue: number[] = [];
  const root = goto[0] as Int32Array;
  for (let c = 0; c < ALPHABET; c++) {
    const next = root[c] as number;
    if (next === -1) root[c] = 0;
    else queue.push(next);
  }
  for (let head = 0; head < queue.length; head++) {
    const state = queue[head] as number;
    const row = goto[state] as Int32Array;
    for (let c = 0; c < ALPHABET; c++) {
      const next = row[c] as number;
      const viaFail = (goto[fail[state] as number] as Int32Array)[c] as number;
      if (next === -1) {
        row[c] = viaFail;
      } else {
        fail[next] = viaFail;
        for (const r of outSets[viaFail] as Set<number>) (outSets[next] as Set<number>).add(r);
        queue.push(next);
      }
    }
  }

  const output = outSets.map((s) => [...s]);
  const delta = new Int32Array(goto.length * ALPHABET);
  goto.forEach((row, state) => {
    for (let c = 0; c < ALPHABET; c++) {
      const next = row[c >= 65 && c <= 90 ? c + 32 : c] as number;
      delta[state * ALPHABET + c] = (output[next] as number[]).length > 0 ? -(next * ALPHABET) - 1 : next * ALPHABET;
    }
  });
  return { delta, output };
}

/**
 * One pass over `text`: the lines holding at least one keyword, in order, with the keyword
 * positions. Line numbers are left to the caller, which needs them only for the few lines
 * that yield a finding.
 */
export function candidateLines(prefilter: Prefilter, text: string, asciiBytes?: Uint8Array): Candidates {
  const { output } = prefilter;
  const length = text.length;
  const { ends, states, count } = runAutomaton(prefilter, text, asciiBytes);

  // Expand each hit into the keywords ending there; a line is opened at its first hit.
  let total = 0;
  for (let h = 0; h < count; h++) total += (output[(states[h] as number) >> 7] as readonly number[]).length;
  const hitRule = new Int32Array(total);
  const hitStart = new Int32Array(total);
  const lines: CandidateLine[] = [];
  let k = 0;
  let lineStart = 0;
  let lineEnd = -1;
  let lineFrom = 0;
  for (let h = 0; h < count; h++) {
    const i = ends[h] as number;
    if (i >= lineEnd) {
      if (lineEnd >= 0) lines.push({ start: lineStart, end: lineEnd, hitFrom: lineFrom, hitTo: k });
      lineStart = i;
      while (lineStart > 0 && text.charCodeAt(lineStart - 1) !== 10) lineStart--;
      lineEnd = i;
      while (lineEnd < length && text.charCodeAt(lineEnd) !== 10) lineEnd++;
      lineFrom = k;
    }
    const out = output[(states[h] as number) >> 7] as readonly number[];
    for (let o = 0; o < out.length; o++) {
      const packed = out[o] as number;
      hitRule[k] = packed >>> 8;
      hitStart[k] = i + 1 - (packed & 0xff);
      k++;
    }
  }
  if (lineEnd >= 0) lines.push({ start: lineStart, end: lineEnd, hitFrom: lineFrom, hitTo: k });
  return { lines, hitRule, hitStart };
}

const MAX_RETAINED_BYTES = 8 * 1024 * 1024;

/** Reused across calls (the scanner is synchronous), grown on demand. */
let scratchBytes = Buffer.allocUnsafe(1 << 16);
let hitEnds = new Int32Array(4096);
let hitStates = new Int32Array(4096);

/**
 * Where keywords end in `text`, and the automaton state there, in order.
 *
 * The automaton reads one byte per UTF-16 code unit (latin1), masked to 7 bits, so offsets
 * are the text's; a non-ASCII unit aliases an ASCII one, which can only add a hit that the
 * rule's regex then rejects. Reading bytes is about twice as fast as charCodeAt.
 */
function runAutomaton(prefilter: Prefilter, text: string, asciiBytes?: Uint8Array): { ends: Int32Array; states: Int32Array; count: number } {
  const length = text.length;
  let bytes: Uint8Array;
  if (asciiBytes !== undefined && asciiBytes.length === length) {
    // ASCII text read from a file: its bytes are already the latin1 encoding.
    bytes = asciiBytes;
  } else {
    if (scratchBytes.length < length && length <= MAX_RETAINED_BYTES) scratchBytes = Buffer.allocUnsafe(Math.max(length, scratchBytes.length * 2));
    const scratch = scratchBytes.length >= length ? scratchBytes : Buffer.allocUnsafe(length);
    scratch.write(text, 0, length, 'latin1');
    bytes = scratch;
  }
  let count = 0;
  let state = 0;
  for (let from = 0; from < length; ) {
    if (count === hitEnds.length) {
      const ends = new Int32Array(hitEnds.length * 2);
      const states = new Int32Array(hitStates.length * 2);
      ends.set(hitEnds);
      states.set(hitStates);
      hitEnds = ends;
      hitStates = states;
    }
    from = runUntilFull(prefilter.delta, bytes, from, length, state, count);
    state = loopState;
    count = loopCount;
  }
  return { ends: hitEnds, states: hitStates, count };
}

/** State and hit count where the last runUntilFull call stopped. */
let loopState = 0;
let loopCount = 0;

/**
 * The hot loop, alone in a small function so the compiler keeps it tight: one table lookup
 * and one sign test per character. Stops at the end of the text or when the hit buffers are
 * full, and returns where it stopped.
 */
function runUntilFull(delta: Int32Array, bytes: Uint8Array, from: number, to: number, state: number, count: number): number {
  const ends = hitEnds;
  const states = hitStates;
  const capacity = ends.length;
  let i = from;
  for (; i < to; i++) {
    state = delta[state + ((bytes[i] as number) & 127)] as number;
    if (state < 0) {
      state = -state - 1;
      ends[count] = i;
      states[count] = state;
      if (++count === capacity) {
        i++;
        break;
      }
    }
  }
  loopState = state;
  loopCount = count;
  return i;
}
