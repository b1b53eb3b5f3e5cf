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
import { BRANCH_NAME_FORMAT, NO_CONTROL_CHARS, NO_CONTROL_CHARS_BUT_LINES, repositoryUrlFormat, TASK_ID_FORMAT } from './request-formats';
import { secretInText } from './request-secrets';

export const MAX_LIST_ITEMS = 100;
export const MAX_LIST_ITEM_LENGTH = 200;
export const MAX_REASON_LENGTH = 500;
export const PRIORITY_MIN = 1;
export const PRIORITY_MAX = 10;

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Longest repository URL accepted, in characters (the git validator's 2048 UTF-16 units, for any text). */
export const MAX_REPOSITORY_URL = 1024;
// Spelled out rather than with the `i` flag: the OpenAPI document carries the pattern, and JSON Schema patterns have no flags.
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const requiredOr = (message: string) => (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : message);

/**
 * At most `max` characters counted as JSON Schema counts them (code points, not UTF-16 units),
 * declared as `maxLength` in the OpenAPI document.
 */
function maxChars<S extends z.ZodString>(schema: S, max: number) {
  return schema.refine((s) => countChars(s) <= max, `must be at most ${max} characters`).meta({ maxLength: max });
}

function countChars(s: string): number {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
}

/** Refuses text holding a secret the scanner knows (api/request-secrets.ts). */
function noSecret<S extends z.ZodType<string>>(schema: S) {
  return schema.superRefine((value, ctx) => {
    const reason = secretInText(value);
    if (reason) ctx.addIssue({ code: 'custom', message: reason });
  });
}

function text(maxLength: number) {
  return noSecret(
    maxChars(
      z
        .string({ error: requiredOr('must be a string') })
        .min(1, 'must not be empty')
        .regex(NO_CONTROL_CHARS, 'must not contain control characters'),
      maxLength,
    ),
  );
}

/**
 * Multi-line free text (instructions, descriptions), bounded in characters or UTF-8 bytes. A
 * byte bound has no JSON Schema keyword: the document states it in the description.
 */
function freeText(max: number, unit: 'characters' | 'bytes' = 'characters') {
  const base = z
    .string({ error: requiredOr('must be a string') })
    .min(1, 'must not be empty')
    .regex(NO_CONTROL_CHARS_BUT_LINES, 'must not contain control characters other than line breaks and tabs');
  if (unit === 'characters') return noSecret(maxChars(base, max));
  return noSecret(base.refine((s) => Buffer.byteLength(s, 'utf8') <= max, `must be at most ${max} bytes`).meta({ description: `at most ${max} bytes of UTF-8` }));
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
const workItemRef = z
  .unknown()
  .transform((value, ctx) => {
    const parsed = (typeof value === 'string' ? text(MAX_LIST_ITEM_LENGTH) : workItemObject).safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  })
  // The same two shapes, for the OpenAPI document (the dispatch above is invisible to it).
  .meta({ anyOf: [inputJsonSchema(text(MAX_LIST_ITEM_LENGTH)), inputJsonSchema(workItemObject)] });

function inputJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  return rest;
}

function stringList(maxItems: number) {
  return z.array(text(MAX_LIST_ITEM_LENGTH), { error: 'must be an array of strings' }).max(maxItems, `must have at most ${maxItems} items`);
}

/**
 * A string checked by one of the shared `domain/git-input` validators, then held to `format`
 * (which the OpenAPI document publishes as its pattern); the validator speaks first, its
 * reasons are the more precise.
 */
function validated(check: (value: string) => Validation, format: RegExp, formatMessage: string, max: number) {
  const checked = z.string({ error: requiredOr('must be a string') }).superRefine((value, ctx) => {
    const result = check(value);
    if (!result.ok) ctx.addIssue({ code: 'custom', message: result.reason, continue: false });
  });
  return maxChars(checked.regex(format, formatMessage), max);
}

function branchName() {
  return validated(validateBranchName, BRANCH_NAME_FORMAT, 'must be a branch name of printable characters', 255);
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
        // Like the task's text, the names go into the history and the model's first message; the task id also into the pushed branch and commit.
        taskId: noSecret(validated(validateTaskId, TASK_ID_FORMAT, 'must be 1-128 characters of letters, digits, ".", "_" or "-"', 128)),
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
            repository: noSecret(
              validated(
                (url) => validateRepositoryUrl(url, allowedSchemes),
                repositoryUrlFormat(allowedSchemes),
                `must be a repository URL like https://host/org/repo.git${allowedSchemes.includes('ssh') ? ' or git@host:org/repo.git' : ''}`,
                MAX_REPOSITORY_URL,
              ),
            ),
            branch: noSecret(branchName()),
            baseBranch: noSecret(branchName()).optional(),
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
              .meta({ uniqueItems: true })
              .optional(),
          },
          { error: requiredOr('must be an object') },
        ),
      },
      { error: requiredOr('must be a JSON object') },
    )
    // The rules below, for the OpenAPI document: `context.gates` exactly when gateProfile is
    // custom; `context.baseBranch` only for reviewers.
    .meta({
      allOf: [
        {
          if: { properties: { gateProfile: { const: 'custom' } }, required: ['gateProfile'] },
          then: { properties: { context: { required: ['gates'] } } },
          else: { properties: { context: { not: { required: ['gates'] } } } },
        },
        {
          if: { properties: { agentType: { const: 'reviewer' } } },
          else: { properties: { context: { not: { required: ['baseBranch'] } } } },
        },
      ],
    })
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

/** A query parameter holding a whole number in `[min, max]`; anything else (`1.5`, `''`, `1e3`) is refused. */
function queryInt(min: number, max: number) {
  return z.preprocess(
    (value) => (typeof value === 'string' && /^-?\d{1,16}$/.test(value) ? Number(value) : value),
    z
      .number({ error: 'must be a whole number' })
      .int('must be a whole number')
      .min(min, `must be between ${min} and ${max}`)
      .max(max, `must be between ${min} and ${max}`),
  );
}

export const MAX_TRANSCRIPT_PAGE = 500;
export const MAX_TRANSCRIPT_FROM = 1_000_000;

/** Query of `GET /agents/:agentId/transcript`. */
export const transcriptQuerySchema = z.strictObject(
  {
    from: queryInt(0, MAX_TRANSCRIPT_FROM).default(0),
    limit: queryInt(1, MAX_TRANSCRIPT_PAGE).default(100),
  },
  { error: 'must be an object' },
);

/** The `Last-Event-ID` header: a stream entry id as the event stream sends them (`1700000000000-0`); `1700000000000` means `-0`. */
export const lastEventIdSchema = z
  .string()
  .regex(/^[0-9]{1,15}(?:-[0-9]{1,15})?$/, 'must be an event id as sent in the stream (like 1700000000000-0)')
  .optional();

/**
 * Body of `POST /agents/:agentId/fork`: the turn to fork after. No run takes more turns than the
 * server's ceiling; whether this run has that many is checked against its transcript.
 */
export function forkRequestSchema(ceilings: Pick<BudgetCeilings, 'maxTurns'>) {
  return z.strictObject(
    {
      turn: z
        .number({ error: requiredOr('must be a number') })
        .int('must be a whole number')
        .min(1, 'must be at least 1')
        .max(ceilings.maxTurns, `must be at most ${ceilings.maxTurns} (the server's turn ceiling)`),
    },
    { error: requiredOr('must be a JSON object { turn }') },
  );
}

/** The `Idempotency-Key` header of `POST /agents/:agentId/retry` and `/fork`. */
export const idempotencyKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 characters of letters, digits, ".", "_", ":" or "-"')
  .optional();

/** One problem with a request, by field path (`context.workItems.3`). */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Most problems a 400 lists: a body of 20,000 unknown keys answered a 1.5 MB error. */
export const MAX_LISTED_ISSUES = 20;

/** Flattens zod issues into field-named messages; unknown keys become one issue per key; at most MAX_LISTED_ISSUES and a count of the rest. */
export function describeIssues(error: z.ZodError, root = 'body'): FieldIssue[] {
  const all = flattenIssues(error, root);
  if (all.length <= MAX_LISTED_ISSUES) return all;
  return [...all.slice(0, MAX_LISTED_ISSUES), { path: root, message: `and ${all.length - MAX_LISTED_ISSUES} more problems` }];
}

function flattenIssues(error: z.ZodError, root: string): FieldIssue[] {
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
