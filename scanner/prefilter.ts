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

/** A line that contains at least one keyword, with the rules whose keywords it contains. */
export interface CandidateLine {
  /** Offset of the first character of the line. */
  readonly start: number;
  /** Offset just past the line's last character (the `\n` or the end of the text). */
  readonly end: number;
  /** Keyword occurrences as flat pairs: rule index, absolute offset where the keyword starts. */
  readonly hits: readonly number[];
}

/** Builds the automaton over all rules' keywords; throws if a keyword is not lower-case ASCII. */
export function buildPrefilter(rules: readonly Rule[]): Prefilter {
  const goto: Int32Array[] = [new Int32Array(ALPHABET).fill(-1)];
  const outSets: Set<number>[] = [new Set()];
  rules.forEach((rule, ruleIndex) => {
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
export function candidateLines(prefilter: Prefilter, text: string): CandidateLine[] {
  const { delta, output } = prefilter;
  const length = text.length;
  // The automaton reads bytes: one per UTF-16 code unit (latin1), so offsets are unchanged. A
  // non-ASCII unit aliases an ASCII one (`& 127`); that can only add a hit, which the rule's
  // regex then rejects. Reading a byte array is about twice as fast as charCodeAt.
  if (scratchBytes.length < length && length <= MAX_RETAINED_BYTES) scratchBytes = Buffer.allocUnsafe(Math.max(length, scratchBytes.length * 2));
  const bytes = scratchBytes.length >= length ? scratchBytes : Buffer.allocUnsafe(length);
  bytes.write(text, 0, length, 'latin1');

  cursor[0] = 0;
  cursor[1] = 0;
  cursor[2] = 0;
  for (;;) {
    runAutomaton(delta, bytes, length, scratchEnds, scratchStates);
    if ((cursor[0] as number) >= length) break;
    grow();
  }
  const count = cursor[2] as number;
  if (process.env.LOOPONLY) return [];
  const ends = scratchEnds;
  const states = scratchStates;

  const lines: CandidateLine[] = [];
  let currentEnd = -1;
  let hits: number[] = [];
  for (let h = 0; h < count; h++) {
    const i = ends[h] as number;
    if (i >= currentEnd) {
      const end = bytes.indexOf(10, i);
      currentEnd = end === -1 || end >= length ? length : end;
      hits = [];
      lines.push({ start: bytes.lastIndexOf(10, i) + 1, end: currentEnd, hits });
    }
    const out = output[(states[h] as number) >> 7] as readonly number[];
    for (let k = 0; k < out.length; k++) {
      const packed = out[k] as number;
      hits.push(packed >>> 8, i + 1 - (packed & 0xff));
    }
  }
  return lines;
}

/** Automaton position, state and hit count, kept between calls of runAutomaton. */
const cursor = new Int32Array(3);

/**
 * The hot loop, alone in its function so the compiler keeps it tight: runs from `cursor` and
 * records where keywords end until the text or the hit buffers run out.
 */
function runAutomaton(delta: Int32Array, bytes: Uint8Array, length: number, ends: Int32Array, states: Int32Array): void {
  let i = cursor[0] as number;
  let state = cursor[1] as number;
  let count = cursor[2] as number;
  const capacity = ends.length;
  for (; i < length; i++) {
    state = delta[state + ((bytes[i] as number) & 127)] as number;
    if (state < 0) {
      state = -state - 1;
      ends[count] = i;
      states[count] = state;
      count++;
      if (count === capacity) {
        i++;
        break;
      }
    }
  }
  cursor[0] = i;
  cursor[1] = state;
  cursor[2] = count;
}

/** Reused across calls (the scanner is synchronous), grown on demand. */
const MAX_RETAINED_BYTES = 8 * 1024 * 1024;
let scratchBytes = Buffer.allocUnsafe(1 << 16);
let scratchEnds = new Int32Array(4096);
let scratchStates = new Int32Array(4096);

function grow(): void {
  const ends = new Int32Array(scratchEnds.length * 2);
  const states = new Int32Array(scratchStates.length * 2);
  ends.set(scratchEnds);
  states.set(scratchStates);
  scratchEnds = ends;
  scratchStates = states;
}
