/**
 * Builds the labelled evaluation files from the cases (cases.ts) and scores a scanner's
 * reported lines against them, per family: recall of labelled secrets, precision of findings,
 * and the share of decoy files with any finding.
 */
import { DECOYS, POSITIVES, type EvalCase, type Family } from './cases';
import { Random, expand } from './values';

export interface EvalFile {
  /** Relative path, unique per file, ending in the case's file name. */
  readonly path: string;
  readonly content: string;
  readonly family: Family;
  readonly decoy: boolean;
  /** 1-based lines holding a secret. */
  readonly secretLines: readonly number[];
}

const MARKER = /«([^»]*)»|‹([^›]*)›/g;

/**
 * Expands one case. A multi-line value continues at the indentation of the line it starts on
 * (a key under a YAML `|` block stays inside the block).
 */
function instantiate(c: EvalCase, r: Random): { content: string; secretLines: number[] } {
  const secretLines: number[] = [];
  let out = '';
  let at = 0;
  for (const m of c.text.matchAll(MARKER)) {
    out += c.text.slice(at, m.index);
    const lineStart = out.lastIndexOf('\n') + 1;
    const indent = /^[ \t]*/.exec(out.slice(lineStart))?.[0] ?? '';
    const value = expand((m[1] ?? m[2]) as string, r).replace(/\n/g, `\n${indent}`);
    if (m[1] !== undefined) secretLines.push(out.split('\n').length);
    out += value;
    at = (m.index as number) + m[0].length;
  }
  out += c.text.slice(at);
  return { content: out, secretLines: [...new Set(secretLines)] };
}

/** Every case `copies` times, each copy with fresh random values. */
export function buildEvaluation(seed = 1, copies = 8): EvalFile[] {
  const files: EvalFile[] = [];
  const all = [...POSITIVES.map((c) => ({ c, decoy: false })), ...DECOYS.map((c) => ({ c, decoy: true }))];
  all.forEach(({ c, decoy }, index) => {
    for (let k = 0; k < copies; k++) {
      const r = new Random(seed * 1_000_003 + index * 101 + k);
      const { content, secretLines } = instantiate(c, r);
      files.push({ path: `${c.family}/${decoy ? 'decoy' : 'case'}-${index}-${k}/${c.file}`, content, family: c.family, decoy, secretLines });
    }
  });
  return files;
}

export interface FamilyScore {
  family: Family | 'all';
  secrets: number;
  found: number;
  recall: number;
  /** Reported lines in the family's files, and those that hold no secret. */
  reported: number;
  falseLines: number;
  precision: number;
  decoyFiles: number;
  decoyFilesFlagged: number;
  decoyFpRate: number;
}

function round(x: number): number {
  return Number(x.toFixed(3));
}

/** Scores reported lines (any rule) per family and overall. */
export function scoreEvaluation(files: readonly EvalFile[], reportedLines: (f: EvalFile) => readonly number[]): FamilyScore[] {
  const acc = new Map<Family | 'all', Omit<FamilyScore, 'recall' | 'precision' | 'decoyFpRate'>>();
  const bucket = (family: Family | 'all') => {
    let b = acc.get(family);
    if (b === undefined) {
      b = { family, secrets: 0, found: 0, reported: 0, falseLines: 0, decoyFiles: 0, decoyFilesFlagged: 0 };
      acc.set(family, b);
    }
    return b;
  };
  for (const f of files) {
    const reported = new Set(reportedLines(f));
    const labelled = new Set(f.secretLines);
    for (const b of [bucket(f.family), bucket('all')]) {
      b.secrets += labelled.size;
      b.found += [...labelled].filter((l) => reported.has(l)).length;
      b.reported += reported.size;
      b.falseLines += [...reported].filter((l) => !labelled.has(l)).length;
      if (f.decoy) {
        b.decoyFiles++;
        if (reported.size > 0) b.decoyFilesFlagged++;
      }
    }
  }
  return [...acc.values()]
    .map((b) => ({
      ...b,
      recall: round(b.secrets === 0 ? 1 : b.found / b.secrets),
      precision: round(b.reported === 0 ? 1 : (b.reported - b.falseLines) / b.reported),
      decoyFpRate: round(b.decoyFiles === 0 ? 0 : b.decoyFilesFlagged / b.decoyFiles),
    }))
    .sort((a, b) => (a.family === 'all' ? 1 : b.family === 'all' ? -1 : a.family < b.family ? -1 : 1));
}
