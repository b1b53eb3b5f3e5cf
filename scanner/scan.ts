/** The scanning engine: prefilter → per-rule regex on candidate lines → checks → overlap resolution. */
import { EMPTY_ALLOWLIST, INLINE_ALLOW_MARKER } from './allow';
import { shannonEntropy } from './entropy';
import { isPlaceholder } from './placeholders';
import { buildPrefilter, candidateLines, type CandidateLine, type Prefilter } from './prefilter';
import { fingerprint, redact } from './redact';
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
  readonly prefilter: Prefilter;
}

const engines = new WeakMap<readonly Rule[], Engine>();

function engineFor(rules: readonly Rule[]): Engine {
  let engine = engines.get(rules);
  if (engine === undefined) {
    engine = {
      prefilter: buildPrefilter(rules),
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

/** Finds the secrets of `text` (overlaps resolved); lines over `maxLineLength` go to `onLongLine` (line start offset). */
function detect(
  engine: Engine,
  text: string,
  maxLineLength: number,
  honourInlineAllow: boolean,
  onLongLine: (lineStart: number) => void,
  asciiBytes?: Uint8Array,
): Candidate[] {
  const candidates: Candidate[] = [];
  const searchedLine = new Int32Array(engine.rules.length).fill(-1);
  const { lines, hitRule, hitStart } = candidateLines(engine.prefilter, text, asciiBytes);
  for (const cand of lines) {
    if (cand.end - cand.start > maxLineLength) {
      onLongLine(cand.start);
      continue;
    }
    const line = text.slice(cand.start, cand.end);
    if (honourInlineAllow && line.includes(INLINE_ALLOW_MARKER)) continue;
    for (let h = cand.hitFrom; h < cand.hitTo; h++) {
      const ruleIndex = hitRule[h] as number;
      const keywordAt = hitStart[h] as number;
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
  return resolveOverlaps(candidates);
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
  const detected = detect(engine, text, maxLineLength, true, (start) => longLines.push(start), options.asciiBytes);

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
      ruleId: rule.id,
      description: rule.description,
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

/** Where the secrets of `text` are, with the context their rules matched (`[start, end)`), as `redactSecrets` finds them. */
export function secretSpans(text: string, rules: readonly Rule[] = RULES): { start: number; end: number }[] {
  if (text === '') return [];
  return detect(engineFor(rules), text, Number.POSITIVE_INFINITY, false, () => undefined).map((c) => ({ start: c.start, end: c.end }));
}

/**
 * Returns `text` with every detected secret replaced by its redacted form (for logs, gate
 * output and transcripts). Unlike `scanText` it has no size caps and ignores allow markers:
 * accepted values are still not worth echoing.
 */
export function redactSecrets(text: string, rules: readonly Rule[] = RULES): string {
  if (text === '') return text;
  const detected = detect(engineFor(rules), text, Number.POSITIVE_INFINITY, false, () => undefined);
  if (detected.length === 0) return text;
  let out = '';
  let at = 0;
  for (const c of [...detected].sort((a, b) => a.secretStart - b.secretStart)) {
    if (c.secretStart < at) continue;
    out += text.slice(at, c.secretStart) + redact(c.value);
    at = c.secretEnd;
  }
  return out + text.slice(at);
}
