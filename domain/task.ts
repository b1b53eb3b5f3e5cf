/**
 * What an agent is asked to do: free-text instructions and work items, given as bare ids (the
 * seed's contract, still accepted) or as objects a coordinator fills from its tracker.
 */

export interface WorkItem {
  id: string;
  title?: string;
  description?: string;
  acceptanceCriteria?: string[];
}

/** A work item id (`US-001`) or a described work item. */
export type WorkItemRef = string | WorkItem;

/** Bounds of the task statement, checked by the API (the whole statement goes into the first message). */
export const TASK_LIMITS = {
  /** UTF-8 bytes of `context.instructions`. */
  instructionsBytes: 32 * 1024,
  workItemIdLength: 200,
  workItemTitleLength: 300,
  /** Characters of one work item's description. */
  workItemDescriptionLength: 8000,
  acceptanceCriteria: 30,
  acceptanceCriterionLength: 1000,
} as const;

export function workItemId(item: WorkItemRef): string {
  return typeof item === 'string' ? item : item.id;
}
