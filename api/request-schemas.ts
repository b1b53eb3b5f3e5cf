/**
 * Request validation. Every field is checked before anything reaches Temporal or git:
 * known enums, bounded sizes, no control characters, no unknown fields, and the shared git
 * validators for repository, branch and task id.
 */
import { z } from 'zod';
import { AGENT_TYPES, GATE_PROFILES, type AgentBudgets } from '../domain/agent';
import { GATE_NAMES, MISSING_GATES_POLICIES } from '../domain/gates';
import { TASK_LIMITS } from '../domain/task';
import { validateBranchName, validateRepositoryUrl, validateTaskId, type Validation } from '../domain/git-input';

export const MAX_LIST_ITEMS = 100;
export const MAX_LIST_ITEM_LENGTH = 200;
export const MAX_REASON_LENGTH = 500;
export const PRIORITY_MIN = 1;
export const PRIORITY_MAX = 10;

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Free text may break lines and indent; other control characters (escape sequences, NUL) are refused. */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS_BUT_LINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const requiredOr = (message: string) => (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : message);

function text(maxLength: number) {
  return z
    .string({ error: requiredOr('must be a string') })
    .min(1, 'must not be empty')
    .max(maxLength, `must be at most ${maxLength} characters`)
    .refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters');
}

/** Multi-line free text (instructions, descriptions), bounded in characters or UTF-8 bytes. */
function freeText(max: number, unit: 'characters' | 'bytes' = 'characters') {
  const size = (s: string) => (unit === 'bytes' ? Buffer.byteLength(s, 'utf8') : s.length);
  return z
    .string({ error: requiredOr('must be a string') })
    .min(1, 'must not be empty')
    .refine((s) => size(s) <= max, `must be at most ${max} ${unit}`)
    .refine((s) => !CONTROL_CHARS_BUT_LINES.test(s), 'must not contain control characters other than line breaks and tabs');
}

const workItemObject = z.strictObject(
  {
    id: text(TASK_LIMITS.workItemIdLength),
    title: text(TASK_LIMITS.workItemTitleLength).optional(),
    description: freeText(TASK_LIMITS.workItemDescriptionLength).optional(),
    acceptanceCriteria: z
      .array(freeText(TASK_LIMITS.acceptanceCriterionLength), { error: 'must be an array of strings' })
      .max(TASK_LIMITS.acceptanceCriteria, `must have at most ${TASK_LIMITS.acceptanceCriteria} items`)
      .optional(),
  },
  { error: requiredOr('must be a work item id (a string) or an object { id, title?, description?, acceptanceCriteria? }') },
);

/**
 * A work item as an id (the seed's contract) or an object. Dispatched on the value's type rather
 * than a zod union, so an error names the exact field instead of "invalid input".
 */
const workItemRef = z.unknown().transform((value, ctx) => {
  const parsed = (typeof value === 'string' ? text(MAX_LIST_ITEM_LENGTH) : workItemObject).safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
  return z.NEVER;
});

function stringList(maxItems: number) {
  return z.array(text(MAX_LIST_ITEM_LENGTH), { error: 'must be an array of strings' }).max(maxItems, `must have at most ${maxItems} items`);
}

/** A string checked by one of the shared `domain/git-input` validators. */
function validated(check: (value: string) => Validation) {
  return z.string({ error: requiredOr('must be a string') }).superRefine((value, ctx) => {
    const result = check(value);
    if (!result.ok) ctx.addIssue({ code: 'custom', message: result.reason });
  });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: requiredOr(`must be one of ${values.join(', ')}`) });
}

/** The server's ceiling for each budget (AGENT_MAX_*): a spawn may ask for less, never more. */
export type BudgetCeilings = Required<AgentBudgets>;

function budgetsSchema(ceilings: BudgetCeilings) {
  const bounded = (name: keyof BudgetCeilings, min: number, integer: boolean) => {
    const base = z.number({ error: requiredOr('must be a number') });
    const typed = integer ? base.int('must be an integer') : base;
    return typed.min(min, `must be at least ${min}`).max(ceilings[name], `must be at most ${ceilings[name]} (the server's ceiling)`).optional();
  };
  return z
    .strictObject(
      {
        maxTurns: bounded('maxTurns', 1, true),
        maxOutputTokens: bounded('maxOutputTokens', 1, true),
        maxCostUsd: bounded('maxCostUsd', 0.0001, false),
        maxWallTimeSeconds: bounded('maxWallTimeSeconds', 10, true),
      },
      { error: requiredOr('must be an object { maxTurns?, maxOutputTokens?, maxCostUsd?, maxWallTimeSeconds? }') },
    )
    .optional();
}

export interface SpawnSchemaOptions {
  /** Git URL schemes a repository may use (GIT_ALLOWED_SCHEMES). */
  allowedSchemes: readonly string[];
  ceilings: BudgetCeilings;
}

/** Body of `POST /agents/spawn`; the allowed git URL schemes and the budget ceilings come from configuration. */
export function spawnRequestSchema({ allowedSchemes, ceilings }: SpawnSchemaOptions) {
  return z
    .strictObject(
      {
        budgets: budgetsSchema(ceilings),
        taskId: validated(validateTaskId),
        agentType: oneOf(AGENT_TYPES),
        gateProfile: oneOf(GATE_PROFILES).optional(),
        missingGates: oneOf(MISSING_GATES_POLICIES).optional(),
        priority: z
          .number({ error: requiredOr('must be a number') })
          .int('must be an integer')
          .min(PRIORITY_MIN, `must be between ${PRIORITY_MIN} and ${PRIORITY_MAX}`)
          .max(PRIORITY_MAX, `must be between ${PRIORITY_MIN} and ${PRIORITY_MAX}`)
          .optional(),
        context: z.strictObject(
          {
            repository: validated((url) => validateRepositoryUrl(url, allowedSchemes)),
            branch: validated(validateBranchName),
            baseBranch: validated(validateBranchName).optional(),
            instructions: freeText(TASK_LIMITS.instructionsBytes, 'bytes').optional(),
            workItems: z
              .array(workItemRef, { error: 'must be an array of work item ids or objects' })
              .max(MAX_LIST_ITEMS, `must have at most ${MAX_LIST_ITEMS} items`)
              .default([]),
            skills: stringList(MAX_LIST_ITEMS).default([]),
            gates: z
              .array(oneOf(GATE_NAMES), { error: 'must be an array of gate names' })
              .min(1, 'must name at least one gate')
              .max(GATE_NAMES.length, `must have at most ${GATE_NAMES.length} items`)
              .refine((gates) => new Set(gates).size === gates.length, 'must not repeat a gate')
              .optional(),
          },
          { error: requiredOr('must be an object') },
        ),
      },
      { error: requiredOr('must be a JSON object') },
    )
    .superRefine((body, ctx) => {
      const gates = body.context.gates;
      if (body.gateProfile === 'custom' && !gates) {
        ctx.addIssue({ code: 'custom', path: ['context', 'gates'], message: 'is required when gateProfile is custom' });
      }
      if (gates && body.gateProfile !== 'custom') {
        ctx.addIssue({ code: 'custom', path: ['context', 'gates'], message: 'is only allowed when gateProfile is custom' });
      }
      if (body.context.baseBranch !== undefined && body.agentType !== 'reviewer') {
        ctx.addIssue({ code: 'custom', path: ['context', 'baseBranch'], message: 'is only allowed for reviewers (the base the branch under review is compared with)' });
      }
    });
}

export type SpawnRequest = z.infer<ReturnType<typeof spawnRequestSchema>>;

/** Body of the kill endpoints: optional, and only a reason. */
export const killRequestSchema = z
  .strictObject({ reason: text(MAX_REASON_LENGTH).optional() }, { error: 'must be a JSON object' })
  .optional();

export const agentIdSchema = z
  .string()
  .regex(UUID, 'must be a UUID')
  .transform((id) => id.toLowerCase());

/** One problem with a request, by field path (`context.workItems.3`). */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Flattens zod issues into field-named messages; unknown keys become one issue per key. */
export function describeIssues(error: z.ZodError, root = 'body'): FieldIssue[] {
  return error.issues.flatMap((issue): FieldIssue[] => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: path ? `${path}.${printable(key)}` : printable(key), message: 'is not a known field' }));
    }
    return [{ path: path || root, message: issue.message }];
  });
}

// Unknown keys are echoed back; keep them short and free of control characters.
function printable(key: string): string {
  const clipped = key.length > 40 ? `${key.slice(0, 40)}…` : key;
  return CONTROL_CHARS.test(clipped) || /[.\s]/.test(clipped) ? JSON.stringify(clipped) : clipped;
}
