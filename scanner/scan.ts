/**
 * The scanning engine: prefilter → per-rule regex on candidate lines → checks → overlap
 * resolution; where the prefilter meets a keyword's encoded form, the run around it is decoded
 * and scanned the same way (encoded.ts).
 */
import { EMPTY_ALLOWLIST, INLINE_ALLOW_MARKER } from './allow';
import { decodeRunAt, encodedKeywords, formAt, runCovers, type DecodedRun, type EncodedKeywords, type EncodedRun, type Encoding } from './encoded';
import { shannonEntropy } from './entropy';
import { unescapedView } from './escapes';
import { isPlaceholder } from './placeholders';
import { buildPrefilter, candidateLines, type CandidateLine, type Prefilter } from './prefilter';
import { fingerprint, redact } from './redact';
import { REDACTION_BUDGET_MS, RedactionDeadline, withheldMarker } from './redaction-budget';
import { REDACTION_RULES } from './redaction-rules';
import { RULES } from './rules';
import type { Rule, ScanOptions, ScanResult, SecretFinding, SkippedFile } from './types';

export const DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024;
export const DEFAULT_MAX_LINE_LENGTH = 20_000;

interface CompiledRule {
  readonly rule: Rule;
  readonly regex: RegExp;
}

interface Engine {
  readonly rules: readonly CompiledRule[];
  /** Keyword `rules.length + i` of the prefilter is `encoded.keywords[i]`. */
  readonly encoded: EncodedKeywords;
  readonly prefilter: Prefilter;
}

const engines = new WeakMap<readonly Rule[], Engine>();

function engineFor(rules: readonly Rule[]): Engine {
  let engine = engines.get(rules);
  if (engine === undefined) {
    const encoded = encodedKeywords(rules);
    engine = {
      encoded,
      prefilter: buildPrefilter(rules, encoded.keywords),
      rules: rules.map((rule) => {
        // `d` gives group offsets; anchored rules are tried at keyword positions (`y`), others search the line (`g`).
        const flags = rule.pattern.flags.replace(/[dgy]/g, '') + 'd' + (rule.anchored === false ? 'g' : 'y');
        return { rule, regex: new RegExp(rule.pattern.source, flags) };
      }),
    };
    engines.set(rules, engine);
  }
  return engine;
}

/** A match that passed its rule's checks, before overlaps are resolved. */
interface Candidate {
  readonly ruleIndex: number;
  /** Absolute offsets of the reported text (overlap resolution). */
  readonly start: number;
  readonly end: number;
  /** Where the finding is reported (offset of its line's start, 1-based column), and the value that is redacted and fingerprinted. */
  readonly lineStart: number;
  readonly column: number;
  readonly value: string;
  /** Absolute offsets of the secret itself (redaction of free text). */
  readonly secretStart: number;
  readonly secretEnd: number;
  /** Set when the secret was found in the decoding of these encoded characters. */
  readonly encoding?: Encoding;
}

function secretGroupOf(rule: Rule, m: RegExpExecArray): number {
  if (rule.secretGroup !== undefined) return m[rule.secretGroup] === undefined ? -1 : rule.secretGroup;
  for (let g = 1; g < m.length; g++) if (m[g] !== undefined) return g;
  return 0;
}

function passesChecks(rule: Rule, secret: string, m: RegExpExecArray, text: string, start: number, end: number): boolean {
  if (rule.minEntropy !== undefined && shannonEntropy(secret) < rule.minEntropy) return false;
  if (rule.placeholderCheck !== false && isPlaceholder(secret)) return false;
  if (rule.allow?.some((re) => secret.search(re) >= 0)) return false;
  if (rule.validate !== undefined && !rule.validate(secret, m)) return false;
  if (rule.nearby !== undefined) {
    const { pattern, span } = rule.nearby;
    if (text.slice(Math.max(0, start - span), Math.min(text.length, end + span)).search(pattern) < 0) return false;
  }
  return true;
}

/** Keeps, among overlapping candidates, those of the earliest rules in the table. */
function resolveOverlaps(candidates: Candidate[]): Candidate[] {
  const sorted = [...candidates].sort((a, b) => a.start - b.start || a.ruleIndex - b.ruleIndex);
  const kept: Candidate[] = [];
  let cluster: Candidate[] = [];
  let clusterEnd = -1;
  const flush = (): void => {
    const chosen: Candidate[] = [];
    for (const c of [...cluster].sort((a, b) => a.ruleIndex - b.ruleIndex || a.start - b.start)) {
      if (!chosen.some((k) => c.start < k.end && k.start < c.end)) chosen.push(c);
    }
    kept.push(...chosen);
    cluster = [];
  };
  for (const c of sorted) {
    if (c.start >= clusterEnd && cluster.length > 0) flush();
    cluster.push(c);
    clusterEnd = Math.max(clusterEnd, c.end);
  }
  if (cluster.length > 0) flush();
  return kept;
}

function tooLarge(text: string, maxBytes: number): boolean {
  // UTF-8 needs at least one byte per UTF-16 unit and at most three.
  if (text.length > maxBytes) return true;
  return text.length * 3 > maxBytes && Buffer.byteLength(text, 'utf8') > maxBytes;
}

/** Records `m` as a candidate when it passes its rule's checks. `base` maps match offsets to `text`. */
function consider(
  candidates: Candidate[],
  ruleIndex: number,
  rule: Rule,
  m: RegExpExecArray,
  base: number,
  text: string,
  cand: CandidateLine,
): void {
  const g = secretGroupOf(rule, m);
  if (g < 0) return;
  const secret = m[g] as string;
  const [gs, ge] = (m.indices as RegExpIndicesArray)[g] as [number, number];
  const start = base + gs;
  const end = base + ge;
  if (!passesChecks(rule, secret, m, text, start, end)) return;
  const matchStart = base + m.index;
  const at = rule.multiline ? matchStart : start;
  candidates.push({
    ruleIndex,
    start: Math.min(matchStart, start),
    end: Math.max(end, matchStart + m[0].length),
    lineStart: cand.start,
    column: at - cand.start + 1,
    value: rule.normalize ? rule.normalize(secret) : secret,
    secretStart: start,
    secretEnd: end,
  });
}

/** Maps offsets to 1-based line numbers; queries must come in non-decreasing order. */
function lineCounter(text: string): (offset: number) => number {
  let pos = 0;
  let line = 1;
  return (offset) => {
    for (let nl = text.indexOf('\n', pos); nl !== -1 && nl < offset; nl = text.indexOf('\n', pos)) {
      line++;
      pos = nl + 1;
    }
    return line;
  };
}

/**
 * Finds the secrets of `text`; lines over `maxLineLength` go to `onLongLine` (line start
 * offset). Plain candidates come with overlaps resolved, then those of the encoded runs holding
 * a keyword's encoded form (one level of encoding: what they decode to is not decoded again),
 * which may overlap plain ones, and each other at the edges of their groups.
 */
function detect(
  engine: Engine,
  text: string,
  maxLineLength: number,
  honourInlineAllow: boolean,
  onLongLine: (lineStart: number) => void,
  asciiBytes?: Uint8Array,
  overlaps: 'resolve' | 'keep' = 'resolve',
  deadline?: RedactionDeadline,
): Detected {
  const collected = collect(engine, text, maxLineLength, honourInlineAllow, onLongLine, asciiBytes, deadline);
  const found = overlaps === 'resolve' ? resolveOverlaps(collected.candidates) : collected.candidates;
  let stoppedAt = collected.stoppedAt;
  if (collected.encodedHits.length > 0) {
    const encoded = detectEncoded(engine, text, collected.encodedHits, deadline);
    found.push(...encoded.found);
    stoppedAt = Math.min(stoppedAt, encoded.stoppedAt);
  }
  return { found, stoppedAt };
}

/** `stoppedAt` of a text examined whole. */
const NOT_STOPPED = Number.POSITIVE_INFINITY;

/**
 * Candidates, and the offset from which the text was not examined when the redaction deadline
 * passed (NOT_STOPPED when all of it was; the scanner's own scans, of capped input, have no
 * deadline): every secret starting before it was found. A pass stops at a line it has not
 * finished (a rule searching a line sees all of it; an anchored one starts at its keyword), or
 * before an encoded run it has not decoded.
 */
interface Detected {
  readonly found: Candidate[];
  readonly stoppedAt: number;
}

function pastDeadline(deadline: RedactionDeadline | undefined): boolean {
  return deadline !== undefined && deadline.passed();
}

/**
 * Where the prefilter met encoded forms of keywords, as pairs: `encoded.forms[hits[2k]]` at
 * offset `hits[2k + 1]` (pairs, not objects: a hostile text can hold millions).
 */
type EncodedHits = number[];

/** The candidates of every rule on the candidate lines of `text`, overlaps unresolved, and the encoded keywords met. */
function collect(
  engine: Engine,
  text: string,
  maxLineLength: number,
  honourInlineAllow: boolean,
  onLongLine: (lineStart: number) => void,
  asciiBytes?: Uint8Array,
  deadline?: RedactionDeadline,
): { candidates: Candidate[]; encodedHits: EncodedHits; stoppedAt: number } {
  const candidates: Candidate[] = [];
  const encodedHits: EncodedHits = [];
  const searchedLine = new Int32Array(engine.rules.length).fill(-1);
  const { lines, hitRule, hitStart } = candidateLines(engine.prefilter, text, asciiBytes);
  for (const cand of lines) {
    if (pastDeadline(deadline)) return { candidates, encodedHits, stoppedAt: cand.start };
    if (cand.end - cand.start > maxLineLength) {
      onLongLine(cand.start);
      continue;
    }
    const line = text.slice(cand.start, cand.end);
    if (honourInlineAllow && line.includes(INLINE_ALLOW_MARKER)) continue;
    for (let h = cand.hitFrom; h < cand.hitTo; h++) {
      // Checked at every keyword: a hostile line holds thousands, each costing a match (up to
      // thousands of characters without the look-behind that skipped all but the first of a run).
      if (pastDeadline(deadline)) return { candidates, encodedHits, stoppedAt: cand.start };
      const ruleIndex = hitRule[h] as number;
      const keywordAt = hitStart[h] as number;
      if (ruleIndex >= engine.rules.length) {
        encodedHits.push(ruleIndex - engine.rules.length, keywordAt);
        continue;
      }
      const { rule, regex } = engine.rules[ruleIndex] as CompiledRule;
      if (rule.anchored === false) {
        // Searched once per line, whichever keyword brought it here.
        if (searchedLine[ruleIndex] === cand.start) continue;
        searchedLine[ruleIndex] = cand.start;
        regex.lastIndex = 0;
        for (let m = regex.exec(line); m !== null; m = regex.exec(line)) {
          consider(candidates, ruleIndex, rule, m, cand.start, text, cand);
          if (m[0].length === 0) regex.lastIndex++;
        }
      } else if (rule.multiline) {
        regex.lastIndex = keywordAt;
        const m = regex.exec(text);
        if (m !== null) consider(candidates, ruleIndex, rule, m, 0, text, cand);
      } else {
        regex.lastIndex = keywordAt - cand.start;
        const m = regex.exec(line);
        if (m !== null) consider(candidates, ruleIndex, rule, m, cand.start, text, cand);
      }
    }
  }
  return { candidates, encodedHits, stoppedAt: NOT_STOPPED };
}

/**
 * Between decoded runs scanned together: a line break ends every single-line match, and NUL,
 * which no pattern's whitespace takes, keeps a name at the end of one run from an assignment at
 * the start of the next. A match that still crosses it (a multi-line one) is dropped.
 */
const RUN_SEPARATOR = '\n\0\n';

/**
 * The secrets of the encoded runs around `hits`, placed at their encoded characters. Each run is
 * decoded at most once per group grid (runCovers), so a long run full of keywords costs one
 * decoding, not one per keyword. The runs that decode to text are scanned together, a batch at
 * a time, as there may be very many small ones.
 */
function detectEncoded(engine: Engine, text: string, hits: EncodedHits, deadline: RedactionDeadline | undefined): Detected {
  const found: Candidate[] = [];
  let batch: DecodedRun[] = [];
  let batchChars = 0;
  let stoppedAt = NOT_STOPPED;
  const scanBatch = (): void => {
    const scanned = scanDecoded(engine, batch, text, deadline);
    found.push(...scanned.found);
    stoppedAt = Math.min(stoppedAt, scanned.stoppedAt);
    batch = [];
    batchChars = 0;
  };
  // Runs decoded so far that reach past the current hit (a few: at most one per grid and kind).
  const recent: EncodedRun[] = [];
  for (const k of hitOrder(hits)) {
    const at = hits[k + 1] as number;
    if (stoppedAt === NOT_STOPPED && pastDeadline(deadline)) {
      stoppedAt = encodedStretchStart(text, at);
      break;
    }
    for (const form of engine.encoded.forms[hits[k] as number] ?? []) {
      if (!formAt(text, at, form)) continue;
      let kept = 0;
      for (const r of recent) if (r.end > at) recent[kept++] = r;
      recent.length = kept;
      if (recent.some((r) => runCovers(r, at, form))) continue;
      const run = decodeRunAt(text, at, form);
      recent.push(run);
      if (run.decoded === undefined) continue;
      batch.push(run.decoded);
      batchChars += run.decoded.text.length;
      if (batchChars >= DECODED_BATCH_CHARS) scanBatch();
    }
    if (stoppedAt !== NOT_STOPPED) break;
  }
  if (batch.length > 0) scanBatch();
  return { found, stoppedAt };
}

/**
 * Where an encoded run holding `at` may start (decodeRunAt's, for any form): its line's encoded
 * characters before `at`, and, where they start the line after indentation, the lines before it
 * that hold nothing but indentation and encoded characters (a wrapped block).
 */
function encodedStretchStart(text: string, at: number): number {
  let start = at;
  while (start > 0 && ENCODED_CHAR.test(text.charAt(start - 1))) start--;
  for (;;) {
    const lineStart = skipBackOver(text, start, ' \t');
    if (lineStart === 0 || text.charAt(lineStart - 1) !== '\n') return start;
    const end = skipBackOver(text, lineStart - 1, ' \t\r');
    let begin = end;
    while (begin > 0 && ENCODED_CHAR.test(text.charAt(begin - 1))) begin--;
    const indent = skipBackOver(text, begin, ' \t');
    if (begin === end || (indent > 0 && text.charAt(indent - 1) !== '\n')) return start;
    start = begin;
  }
}

/** A base64 (standard or url-safe) or hex character. */
const ENCODED_CHAR = /[A-Za-z0-9+/_-]/;

function skipBackOver(text: string, from: number, chars: string): number {
  let i = from;
  while (i > 0 && chars.includes(text.charAt(i - 1))) i--;
  return i;
}

/** Decoded text scanned in one pass: enough to spread the cost of a pass, little enough to be garbage young. */
const DECODED_BATCH_CHARS = 256 * 1024;

/** The secrets of `runs`, scanned as one text, placed at their encoded characters in `text`. */
function scanDecoded(engine: Engine, runs: readonly DecodedRun[], text: string, deadline: RedactionDeadline | undefined): Detected {
  const starts: number[] = [];
  let length = 0;
  for (const run of runs) {
    starts.push(length);
    length += run.text.length + RUN_SEPARATOR.length;
  }
  const joined = runs.map((r) => r.text).join(RUN_SEPARATOR);
  const byRun = new Map<number, Candidate[]>();
  const collected = collect(engine, joined, Number.POSITIVE_INFINITY, false, () => undefined, undefined, deadline);
  // Runs from the one the deadline stopped in on were not all examined: withheld from their first character.
  let stoppedAt = NOT_STOPPED;
  if (collected.stoppedAt !== NOT_STOPPED) {
    for (let i = runIndexAt(starts, collected.stoppedAt); i < runs.length; i++) stoppedAt = Math.min(stoppedAt, (runs[i] as DecodedRun).span(0, 0).start);
  }
  for (const c of collected.candidates) {
    const index = runIndexAt(starts, c.start);
    const from = starts[index] as number;
    const run = runs[index] as DecodedRun;
    if (c.end > from + run.text.length) continue;
    const local = { ...c, start: c.start - from, end: c.end - from, lineStart: c.lineStart - from, secretStart: c.secretStart - from, secretEnd: c.secretEnd - from };
    const group = byRun.get(index);
    if (group === undefined) byRun.set(index, [local]);
    else group.push(local);
  }
  const found: Candidate[] = [];
  for (const [index, candidates] of byRun) {
    for (const c of resolveOverlaps(candidates)) found.push(placedInText(c, runs[index] as DecodedRun, text));
  }
  return { found, stoppedAt };
}

/** Indexes of the pairs of `hits` by offset: as found, unless keywords ending later started earlier. */
function hitOrder(hits: EncodedHits): number[] {
  const order: number[] = [];
  let sorted = true;
  for (let k = 0; k < hits.length; k += 2) {
    if (k > 0 && (hits[k + 1] as number) < (hits[k - 1] as number)) sorted = false;
    order.push(k);
  }
  return sorted ? order : order.sort((a, b) => (hits[a + 1] as number) - (hits[b + 1] as number));
}

/** Index of the last run starting at or before `offset` of the joined text. */
function runIndexAt(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A candidate found in decoded text, moved to the encoded characters that hold it. */
function placedInText(c: Candidate, run: DecodedRun, text: string): Candidate {
  const at = run.at(c.lineStart + c.column - 1);
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  const whole = run.span(c.start, c.end);
  const secret = run.span(c.secretStart, c.secretEnd);
  return {
    ruleIndex: c.ruleIndex,
    start: whole.start,
    end: whole.end,
    lineStart,
    column: at - lineStart + 1,
    value: c.value,
    secretStart: secret.start,
    secretEnd: secret.end,
    encoding: run.encoding,
  };
}

/** For reporting: an encoded candidate under a plain one is the same secret seen twice. */
function withoutEncodedUnderPlain(candidates: readonly Candidate[]): Candidate[] {
  // Plain candidates do not overlap one another: by start, their ends ascend too.
  const plain = candidates.filter((c) => c.encoding === undefined).sort((a, b) => a.start - b.start);
  const underPlain = (c: Candidate): boolean => {
    let lo = 0;
    let hi = plain.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((plain[mid] as Candidate).end <= c.start) lo = mid + 1;
      else hi = mid;
    }
    return lo < plain.length && (plain[lo] as Candidate).start < c.end;
  };
  return candidates.filter((c) => c.encoding === undefined || !underPlain(c));
}

/**
 * Scans `text`; `lineNumbers[i]`, when given, is the real line number of the text's line i + 1
 * (used for diffs, whose added lines are scanned as one text).
 */
export function scanWithLineMap(
  text: string,
  file: string,
  options: ScanOptions,
  lineNumbers?: readonly number[],
): ScanResult {
  const allowlist = options.allowlist ?? EMPTY_ALLOWLIST;
  const skipped: SkippedFile[] = [];
  if (allowlist.allowsPath(file)) return { findings: [], skipped };
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (tooLarge(text, maxFileBytes)) {
    return { findings: [], skipped: [{ file, reason: `file larger than ${maxFileBytes} bytes` }] };
  }
  if (text.slice(0, 8000).includes('\u0000')) return { findings: [], skipped: [{ file, reason: 'binary file' }] };
  const maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  const engine = engineFor(options.rules ?? RULES);
  const lineOf = lineCounter(text);
  const realLine = (offset: number): number => {
    const n = lineOf(offset);
    return lineNumbers === undefined ? n : (lineNumbers[n - 1] ?? n);
  };
  const longLines: number[] = [];
  const detected = withoutEncodedUnderPlain(detect(engine, text, maxLineLength, true, (start) => longLines.push(start), options.asciiBytes).found);

  // Line numbers are counted once, in offset order, for reported lines only.
  const rules = engine.rules;
  const findings: SecretFinding[] = [];
  const events = [
    ...longLines.map((start) => ({ start, candidate: undefined as Candidate | undefined })),
    ...detected.map((c) => ({ start: c.lineStart, candidate: c as Candidate | undefined })),
  ].sort((a, b) => a.start - b.start);
  for (const { start, candidate: c } of events) {
    const line = realLine(start);
    if (c === undefined) {
      skipped.push({ file, reason: `line ${line} longer than ${maxLineLength} characters` });
      continue;
    }
    const fp = fingerprint(c.value);
    if (allowlist.fingerprints.has(fp)) continue;
    const rule = (rules[c.ruleIndex] as CompiledRule).rule;
    findings.push({
      file,
      line,
      column: c.column,
      ruleId: c.encoding === undefined ? rule.id : `${rule.id}:${c.encoding}`,
      description: c.encoding === undefined ? rule.description : `${rule.description}, ${c.encoding}-encoded`,
      match: redact(c.value),
      fingerprint: fp,
    });
  }
  findings.sort((a, b) => a.line - b.line || a.column - b.column);
  return { findings, skipped };
}

/**
 * Scans one file's text for secrets. Pure: the caller reads the file.
 * @param text file content
 * @param file path reported in findings and matched against the allowlist's globs
 */
export function scanText(text: string, file: string, options: ScanOptions = {}): ScanResult {
  return scanWithLineMap(text, file, options);
}

/** A secret to redact: where it is in the text (`secretStart`, `secretEnd`), the context its rule matched (`start`, `end`), and its value. */
type Redactable = Pick<Candidate, 'start' | 'end' | 'secretStart' | 'secretEnd' | 'value'>;

/**
 * Every secret of `text`, overlapping ones too, and those of its unescaped view (escapes.ts)
 * placed at the escaped characters that spell them. Both: decoding may also break a secret
 * (`%40` in a URL's password becomes the `@` that ends it). `stoppedAt`: where the deadline left
 * the text unexamined (NOT_STOPPED: nowhere).
 */
function redactables(text: string, rules: readonly Rule[], budgetMs: number): { found: Redactable[]; stoppedAt: number } {
  const engine = engineFor(rules);
  // After the engine is built: building it is the first call's, not the text's.
  const deadline = RedactionDeadline.forText(text, budgetMs);
  const plain = detect(engine, text, Number.POSITIVE_INFINITY, false, () => undefined, undefined, 'keep', deadline);
  const found: Redactable[] = plain.found;
  let stoppedAt = plain.stoppedAt;
  const view = unescapedView(text);
  if (view !== undefined) {
    const at = (i: number): number => view.offsets[i] as number;
    const unescaped = detect(engine, view.text, Number.POSITIVE_INFINITY, false, () => undefined, undefined, 'keep', deadline);
    for (const c of unescaped.found) {
      found.push({ start: at(c.start), end: at(c.end), secretStart: at(c.secretStart), secretEnd: at(c.secretEnd), value: c.value });
    }
    if (unescaped.stoppedAt !== NOT_STOPPED) stoppedAt = Math.min(stoppedAt, at(unescaped.stoppedAt));
  }
  return { found, stoppedAt };
}

/**
 * Where the secrets of `text` are, with the context their rules matched (`[start, end)`), as
 * `redactSecrets` finds them. Past the redaction budget the rest of the text is one span: a cut
 * moves off it, as off a secret, since nothing there was looked at.
 */
export function secretSpans(text: string, rules: readonly Rule[] = REDACTION_RULES, budgetMs: number = REDACTION_BUDGET_MS): { start: number; end: number }[] {
  if (text === '') return [];
  const { found, stoppedAt } = redactables(text, rules, budgetMs);
  const spans = found.map((c) => ({ start: c.start, end: c.end }));
  if (stoppedAt < text.length) spans.push({ start: stoppedAt, end: text.length });
  return spans;
}

/**
 * Returns `text` with every detected secret replaced by its redacted form (for logs, gate
 * output and transcripts). Unlike `scanText` it has no size caps and ignores allow markers:
 * accepted values are still not worth echoing. Its rules have no boundaries (redaction-rules.ts),
 * and every match is redacted, overlapping ones too: where the scanner reports the earliest
 * rule's, a shorter match of an earlier rule inside a longer secret (`glpat-` glued before an
 * Anthropic key) would leave the rest of that secret as it is. Secrets spelled with
 * JSON or URL escapes (`\u0067hp_…`, `%67hp_…`) are redacted as well.
 *
 * Bounded (redaction-budget.ts): once finding secrets took `budgetMs` (and more per MB), what
 * was not examined is replaced by `withheldMarker`, never given out unredacted.
 */
export function redactSecrets(text: string, rules: readonly Rule[] = REDACTION_RULES, budgetMs: number = REDACTION_BUDGET_MS): string {
  if (text === '') return text;
  const { found: detected, stoppedAt } = redactables(text, rules, budgetMs);
  const withheldFrom = Math.min(stoppedAt, text.length);
  if (detected.length === 0 && withheldFrom === text.length) return text;
  let out = '';
  let at = 0;
  for (const c of [...detected].sort((a, b) => a.secretStart - b.secretStart)) {
    // Secrets overlap where one is encoded: plain and encoded views of one run, or two decoded
    // secrets sharing a group of encoded characters. The overlap goes with the first.
    if (c.secretStart < at) {
      at = Math.max(at, c.secretEnd);
      continue;
    }
    // Found before the deadline, whole: it may run into the withheld part.
    if (c.secretStart >= withheldFrom) break;
    out += text.slice(at, c.secretStart) + redact(c.value);
    at = c.secretEnd;
  }
  if (withheldFrom === text.length) return out + text.slice(at);
  // A secret found whole may end past where the rest was withheld from.
  const from = Math.max(at, withheldFrom);
  return out + text.slice(at, from) + (from < text.length ? withheldMarker(text.length - from) : '');
}
