/**
 * The OpenAPI 3.1 document of the API (`GET /openapi.json`), generated from the zod schemas the
 * routes validate requests with (api/request-schemas.ts) and the response schemas
 * (api/response-schemas.ts). The operation table below is also what answers 405 with `Allow` for a
 * known path called with another method, so the document and the routing cannot drift apart
 * unnoticed: a route missing here answers 405, a documented one missing from the routers 404.
 */
import { z } from 'zod';
import { API_KEY_HEADER } from './auth';
import {
  agentIdSchema,
  forkRequestSchema,
  idempotencyKeySchema,
  killRequestSchema,
  lastEventIdSchema,
  spawnRequestSchema,
  transcriptQuerySchema,
  type SpawnSchemaOptions,
} from './request-schemas';
import {
  agentEventSchema,
  errorBodySchema,
  forkResponseSchema,
  healthSchema,
  killAllResponseSchema,
  killResponseSchema,
  notReadySchema,
  readySchema,
  retryResponseSchema,
  spawnResponseSchema,
  sseEventSchema,
  statusViewSchema,
  transcriptPageSchema,
} from './response-schemas';

type JsonSchema = Record<string, unknown>;
type Method = 'get' | 'post';

interface Response {
  description: string;
  json?: z.ZodType;
  /** A Server-Sent Events stream whose events carry this schema as JSON data. */
  events?: z.ZodType;
  text?: string;
  headers?: Record<string, { description: string; schema: JsonSchema }>;
}

interface Operation {
  method: Method;
  /** OpenAPI path template, `/agents/{agentId}/status`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  auth: boolean;
  pathParams?: Record<string, z.ZodType>;
  /** A zod object: each property is one query parameter. */
  query?: z.ZodType;
  headers?: Record<string, z.ZodType>;
  body?: { schema: z.ZodType; required: boolean };
  responses: Record<number, Response>;
}

const error = (description: string): Response => ({ description, json: errorBodySchema });
const badRequest = error('Invalid input; `message` names each bad field');
const unauthorized = error(`Missing or wrong ${API_KEY_HEADER}`);
const notFound = error('No agent with this id');
const unavailable = error('Temporal or Valkey does not answer; retry later');
const streamUnavailable: Response = {
  ...error('Temporal or Valkey does not answer, or ORCHESTRATOR_MAX_EVENT_STREAMS streams are open already (`too_many_event_streams`); retry later'),
  headers: { 'Retry-After': { description: 'Seconds to wait, when every place for a stream is taken', schema: { type: 'integer', minimum: 1 } } },
};
const tooManyIdempotencyKeys = error(
  'A new Idempotency-Key, and the agent holds ORCHESTRATOR_MAX_IDEMPOTENCY_KEYS_PER_AGENT keys of retries and forks already (`too_many_idempotency_keys`); repeat one of them, or send no key',
);
const bodyErrors = { 413: error('Body larger than ORCHESTRATOR_BODY_LIMIT'), 415: error('Body is not application/json') };
const agentId = { agentId: agentIdSchema };
const lastEventId = { 'Last-Event-ID': lastEventIdSchema };

/** Every operation the API serves; the spawn body follows this deployment's git schemes and budget ceilings. */
export function operations(spawn: SpawnSchemaOptions): Operation[] {
  return [
    {
      method: 'get',
      path: '/health',
      operationId: 'health',
      summary: 'The process answers',
      auth: false,
      responses: { 200: { description: 'Alive', json: healthSchema } },
    },
    {
      method: 'get',
      path: '/health/ready',
      operationId: 'ready',
      summary: 'Temporal, Valkey, a worker (and Docker with the sandbox) answer',
      auth: false,
      responses: { 200: { description: 'Ready', json: readySchema }, 503: { description: 'Not ready; `down` names what is down', json: notReadySchema } },
    },
    {
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics of the API',
      auth: false,
      responses: { 200: { description: 'Prometheus text exposition format', text: 'text/plain' } },
    },
    {
      method: 'get',
      path: '/openapi.json',
      operationId: 'openapi',
      summary: 'This document',
      auth: false,
      responses: { 200: { description: 'OpenAPI 3.1 document', json: z.looseObject({ openapi: z.string() }) } },
    },
    {
      method: 'post',
      path: '/agents/spawn',
      operationId: 'spawnAgent',
      summary: 'Start an agent on a task',
      auth: true,
      body: { schema: spawnRequestSchema(spawn), required: true },
      responses: {
        200: { description: 'A live agent already owns this task and agent type', json: spawnResponseSchema },
        202: { description: 'Started', json: spawnResponseSchema },
        400: badRequest,
        401: unauthorized,
        409: error('Another spawn of this task and agent type is in progress (spawn_in_progress), or its agent is being killed (agent_stopping)'),
        ...bodyErrors,
        503: unavailable,
      },
    },
    {
      method: 'post',
      path: '/agents/kill-all',
      operationId: 'killAllAgents',
      summary: "Kill every live agent of this deployment's task queue",
      auth: true,
      body: { schema: killRequestSchema, required: false },
      responses: { 200: { description: 'Outcome counts', json: killAllResponseSchema }, 400: badRequest, 401: unauthorized, ...bodyErrors, 503: unavailable },
    },
    {
      method: 'get',
      path: '/agents/events',
      operationId: 'streamAllEvents',
      summary: 'Events of every agent, live (Server-Sent Events)',
      description: 'Starts with events after `Last-Event-ID`, or with new events when none is sent. Never ends by itself; a keep-alive comment comes every 15 s.',
      auth: true,
      headers: lastEventId,
      responses: { 200: { description: 'Event stream', events: agentEventSchema }, 400: badRequest, 401: unauthorized, 503: streamUnavailable },
    },
    {
      method: 'get',
      path: '/agents/{agentId}/status',
      operationId: 'agentStatus',
      summary: 'Status of one agent',
      auth: true,
      pathParams: agentId,
      responses: { 200: { description: 'Status', json: statusViewSchema }, 400: badRequest, 401: unauthorized, 404: notFound, 503: unavailable },
    },
    {
      method: 'post',
      path: '/agents/{agentId}/kill',
      operationId: 'killAgent',
      summary: 'Kill one agent',
      auth: true,
      pathParams: agentId,
      body: { schema: killRequestSchema, required: false },
      responses: {
        200: { description: 'Final status', json: killResponseSchema },
        400: badRequest,
        401: unauthorized,
        404: notFound,
        ...bodyErrors,
        502: error('The kill could not be completed'),
        503: unavailable,
      },
    },
    {
      method: 'get',
      path: '/agents/{agentId}/events',
      operationId: 'streamAgentEvents',
      summary: "One agent's events: its whole run so far, then live (Server-Sent Events)",
      description: 'Starts after `Last-Event-ID` (or at the first event) and ends after the final lifecycle event.',
      auth: true,
      pathParams: agentId,
      headers: lastEventId,
      responses: {
        200: { description: 'Event stream', events: agentEventSchema },
        204: { description: 'The run is over and nothing is left after `Last-Event-ID` (EventSource stops reconnecting)' },
        400: badRequest,
        401: unauthorized,
        404: notFound,
        503: streamUnavailable,
      },
    },
    {
      method: 'get',
      path: '/agents/{agentId}/transcript',
      operationId: 'agentTranscript',
      summary: "A page of the agent's conversation, secrets redacted",
      auth: true,
      pathParams: agentId,
      query: transcriptQuerySchema,
      responses: { 200: { description: 'Messages [from, from + limit)', json: transcriptPageSchema }, 400: badRequest, 401: unauthorized, 404: notFound, 503: unavailable },
    },
    {
      method: 'post',
      path: '/agents/{agentId}/retry',
      operationId: 'retryAgent',
      summary: 'Run a finished agent again as a new agent with the same input',
      description: 'The same Idempotency-Key answers the same new agent. A live agent on the same task and agent type is answered instead of starting another.',
      auth: true,
      pathParams: agentId,
      headers: { 'Idempotency-Key': idempotencyKeySchema },
      responses: {
        200: { description: 'Already retried (same Idempotency-Key), or a live agent owns the task', json: retryResponseSchema },
        202: { description: 'Started', json: retryResponseSchema },
        400: badRequest,
        401: unauthorized,
        404: notFound,
        409: error('The agent is still live, or another spawn of this task is in progress, or its agent is being killed'),
        429: tooManyIdempotencyKeys,
        503: unavailable,
      },
    },
    {
      method: 'post',
      path: '/agents/{agentId}/fork',
      operationId: 'forkAgent',
      summary: "Start a new agent from a finished agent's first `turn` turns and its worktree as it was after them",
      description:
        'The new agent gets the old run\'s input (budgets held under today\'s ceilings), its conversation up to and including the tool results of `turn`, and the workspace checkpoint of that turn; it goes on at turn `turn + 1`. The same Idempotency-Key for the same turn answers the same new agent. A live agent on the same task and agent type is answered instead of starting another.',
      auth: true,
      pathParams: agentId,
      headers: { 'Idempotency-Key': idempotencyKeySchema },
      body: { schema: forkRequestSchema(spawn.ceilings), required: true },
      responses: {
        200: { description: 'Already forked (same Idempotency-Key and turn), or a live agent owns the task', json: forkResponseSchema },
        202: { description: 'Started', json: forkResponseSchema },
        400: error('Invalid input, or `turn` is past the turns the agent has stored; `message` names the field'),
        401: unauthorized,
        404: notFound,
        409: error('The agent is still live, or another spawn of this task is in progress, or its agent is being killed'),
        410: error("The agent's conversation has expired (STATE_TTL_SECONDS after its run ended)"),
        429: tooManyIdempotencyKeys,
        ...bodyErrors,
        503: unavailable,
      },
    },
  ];
}

/** The document of these operations. */
export function buildOpenApiDocument(ops: readonly Operation[], version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const op of ops) {
    (paths[op.path] ??= {})[op.method] = describeOperation(op);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Agent orchestrator API',
      version,
      description: 'Spawn, watch, retry, fork and kill autonomous coding agents that run as Temporal workflows.',
    },
    paths,
    components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: API_KEY_HEADER } } },
  };
}

function describeOperation(op: Operation): JsonSchema {
  const parameters = [
    ...Object.entries(op.pathParams ?? {}).map(([name, schema]) => ({ name, in: 'path', required: true, schema: jsonSchema(schema) })),
    ...objectProperties(op.query).map(({ name, schema, required }) => ({ name, in: 'query', required, schema })),
    ...Object.entries(op.headers ?? {}).map(([name, schema]) => ({ name, in: 'header', required: !schema.safeParse(undefined).success, schema: jsonSchema(schema) })),
  ];
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    ...(op.auth ? { security: [{ apiKey: [] }] } : { security: [] }),
    ...(parameters.length ? { parameters } : {}),
    ...(op.body ? { requestBody: { required: op.body.required, content: { 'application/json': { schema: jsonSchema(op.body.schema) } } } } : {}),
    responses: Object.fromEntries(Object.entries(op.responses).map(([status, response]) => [status, describeResponse(response)])),
  };
}

function describeResponse(response: Response): JsonSchema {
  let content: JsonSchema | undefined;
  if (response.json) content = { 'application/json': { schema: jsonSchema(response.json, 'output') } };
  else if (response.events) content = { 'text/event-stream': { schema: sseEventSchema(jsonSchema(response.events, 'output')) } };
  else if (response.text) content = { [response.text]: { schema: { type: 'string' } } };
  return { description: response.description, ...(response.headers ? { headers: response.headers } : {}), ...(content ? { content } : {}) };
}

/** JSON Schema (2020-12, which OpenAPI 3.1 uses) of what a request may send, or of what a response holds. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

function objectProperties(schema: z.ZodType | undefined): { name: string; schema: JsonSchema; required: boolean }[] {
  if (!schema) return [];
  const json = jsonSchema(schema);
  const required = new Set((json.required as string[] | undefined) ?? []);
  return Object.entries((json.properties as Record<string, JsonSchema> | undefined) ?? {}).map(([name, s]) => ({ name, schema: s, required: required.has(name) }));
}

/** Methods documented for a concrete request path, or undefined when no documented path matches. */
export function documentedMethods(ops: readonly Operation[], requestPath: string): string[] | undefined {
  const methods = ops.filter((op) => templateMatches(op.path, requestPath)).map((op) => op.method.toUpperCase());
  if (methods.length === 0) return undefined;
  if (methods.includes('GET')) methods.push('HEAD');
  return [...new Set(methods)];
}

function templateMatches(template: string, requestPath: string): boolean {
  const want = template.split('/');
  const got = requestPath.replace(/\/+$/, '').split('/');
  return want.length === got.length && want.every((part, i) => (part.startsWith('{') ? (got[i] ?? '') !== '' : part === got[i]));
}
