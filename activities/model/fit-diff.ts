/**
 * A diff too long for the AI review, cut so nothing can hide in what is left out. Cutting the end
 * off let the agent put the change it wanted unseen after a long file that sorts first: the
 * reviewer saw only the padding, was not told, and approved. Here every file keeps its place and
 * its header: the smaller files' changes are shown whole first (a short change cannot be pushed
 * out by a long one), the rest get the room left in equal shares, cut at a line end, and each cut
 * says how much of that file is not shown.
 */

export interface FittedDiff {
  text: string;
  /** Characters of the diff not shown (0: whole). */
  omitted: number;
  /** Files shown in part, in diff order. */
  cutFiles: string[];
}

/** Part of the room kept for the notes, so the whole stays within the limit. */
const NOTES_SHARE = 0.16;
/** A file is shown in part only when at least this much of it fits; below, it is only named. */
const MIN_PART = 2000;
/** Files not shown at all that the last note names (the count covers the rest). */
const LISTED = 20;

export function fitDiff(diff: string, maxChars: number): FittedDiff {
  if (diff.length <= maxChars) return { text: diff, omitted: 0, cutFiles: [] };
  const sections = splitByFile(diff);
  const shown = new Array<number>(sections.length).fill(0);
  let room = Math.floor(maxChars * (1 - NOTES_SHARE));
  // Smallest first: each taken whole while the rest can still have an equal share of what is left.
  const order = sections.map((s, i) => ({ i, size: s.length })).sort((a, b) => a.size - b.size);
  for (const [k, { i, size }] of order.entries()) {
    const share = Math.floor(room / (order.length - k));
    shown[i] = size <= share ? size : share >= MIN_PART ? cutAtLineEnd(sections[i]!, share) : 0;
    room -= shown[i]!;
  }
  const cutFiles: string[] = [];
  const unseen: string[] = [];
  let omitted = 0;
  const parts = sections.map((section, i) => {
    const left = section.length - shown[i]!;
    if (left === 0) return section;
    omitted += left;
    const name = fileName(section);
    cutFiles.push(name);
    if (shown[i] === 0) {
      unseen.push(name);
      return '';
    }
    return `${section.slice(0, shown[i])}[review: ${left} more characters of the diff of ${name} are not shown]\n`;
  });
  if (unseen.length) {
    const more = unseen.length > LISTED ? ` and ${unseen.length - LISTED} more` : '';
    parts.push(`[review: the diffs of ${unseen.length} files are not shown at all: ${unseen.slice(0, LISTED).join('; ')}${more}]\n`);
  }
  return { text: parts.join(''), omitted, cutFiles };
}

/** Sections starting at each `diff --git` line (a content line never does: it starts with a space, + or -). */
function splitByFile(diff: string): string[] {
  const starts = [...diff.matchAll(/^diff --git /gm)].map((m) => m.index);
  if (starts[0] !== 0) starts.unshift(0);
  return starts.map((start, k) => diff.slice(start, starts[k + 1] ?? diff.length));
}

/** The length of the longest head of `text` within `max` that ends at a line end (0 when none does). */
function cutAtLineEnd(text: string, max: number): number {
  if (max <= 0) return 0;
  const end = text.lastIndexOf('\n', max - 1);
  return end < 0 ? 0 : end + 1;
}

function fileName(section: string): string {
  const header = /^diff --git (.*)$/m.exec(section)?.[1] ?? '(the start of the diff)';
  return header.length > 200 ? `${header.slice(0, 200)}…` : header;
}
