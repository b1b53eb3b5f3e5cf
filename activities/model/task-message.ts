/**
 * The first user message: everything the agent is told about its task, in one place. It opens with
 * `Task: <taskId>` and never changes during a run, so it sits in the cached prefix (breakpoint 2).
 */
import type { WorkItemRef } from '../../domain/task';
import { cutBefore, SECRET_CONTEXT_CHARS } from '../../scanner';

export interface TaskStatement {
  taskId: string;
  repository: string;
  /** The branch the worktree starts from (for a reviewer: the branch under review). */
  branch: string;
  instructions?: string;
  workItems: WorkItemRef[];
  skills: string[];
  /** Reviewers: what they review. */
  review?: ReviewScope;
}

export interface ReviewScope {
  /** The branch under review. */
  branch: string;
  /** The base it is compared with. */
  base: string;
  /** `git diff base...branch`, possibly shortened. */
  diff: string;
  /** Characters of the diff left out. */
  diffOmitted: number;
}

/** Longest diff put into a reviewer's first message; the reviewer can read the files for more. */
export const MAX_REVIEW_DIFF_CHARS = 100_000;

export function taskMessage(task: TaskStatement): string {
  const sections = [`Task: ${task.taskId}`, `Repository: ${task.repository} (branch ${task.branch})`];
  if (task.instructions?.trim()) sections.push(`## Instructions\n\n${task.instructions.trim()}`);
  sections.push(`## Work items\n\n${task.workItems.length ? workItemsText(task.workItems) : '(none given)'}`);
  sections.push(`## Skills to apply\n\n${task.skills.length ? task.skills.map((s) => `- ${s}`).join('\n') : '(none given)'}`);
  if (task.review) sections.push(reviewText(task.review));
  return sections.join('\n\n');
}

/** Bare ids as a list; described items as their own paragraphs. */
function workItemsText(items: WorkItemRef[]): string {
  return items.reduce<string>((text, item, i) => {
    const separator = i === 0 ? '' : typeof item === 'string' && typeof items[i - 1] === 'string' ? '\n' : '\n\n';
    return `${text}${separator}${workItemText(item)}`;
  }, '');
}

function workItemText(item: WorkItemRef): string {
  if (typeof item === 'string') return `- ${item}`;
  const lines = [`### ${item.id}${item.title ? `: ${item.title}` : ''}`];
  if (item.description?.trim()) lines.push(item.description.trim());
  if (item.acceptanceCriteria?.length) lines.push(`Acceptance criteria:\n${item.acceptanceCriteria.map((c) => `- ${c}`).join('\n')}`);
  return lines.join('\n\n');
}

function reviewText(review: ReviewScope): string {
  const shortened = review.diffOmitted > 0 ? ` (shortened: ${review.diffOmitted} characters left out; read the files for the rest)` : '';
  const diff = review.diff.trim() ? `\`\`\`diff\n${review.diff}\n\`\`\`` : '(no changes: the branch under review has nothing that is not on its base)';
  return [
    '## Review',
    `Branch under review: ${review.branch}`,
    `Compared with base: ${review.base}`,
    `The changes (git diff ${review.base}...${review.branch})${shortened}:`,
    diff,
  ].join('\n\n');
}

/** Bounds a diff for the first message. */
export function boundedDiff(diff: string, max = MAX_REVIEW_DIFF_CHARS): { diff: string; diffOmitted: number } {
  if (diff.length <= max) return { diff, diffOmitted: 0 };
  const lineEnd = diff.lastIndexOf('\n', max);
  let cut = lineEnd > 0 ? lineEnd : max;
  // Never through a secret (a private key spans lines): the transcript is read redacted, and part of one is not recognised.
  const safe = cutBefore(diff.slice(0, max + SECRET_CONTEXT_CHARS), cut);
  if (safe < cut) cut = Math.max(diff.lastIndexOf('\n', safe), 0) || safe;
  const kept = diff.slice(0, cut);
  return { diff: kept, diffOmitted: diff.length - kept.length };
}
