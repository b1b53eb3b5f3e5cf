/**
 * One zod schema is the service's configuration and its type. Read once at start-up
 * (`loadConfig(process.env)`) and passed down; nothing else reads `process.env`.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ACTIVITY_LIMITS } from '../domain/activity-timeouts';
import { HOST_ID_PATTERN } from '../domain/agent';
import { BUBBLEWRAP_SYSTEM_FILES, BUBBLEWRAP_USR } from '../domain/sandbox-mounts';
import { GIT_URL_SCHEMES } from '../domain/git-input';
import { DEFAULT_PRICES, priceFor, type ModelPrice, type PriceTable } from '../domain/pricing';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
/**
 * A number as written in decimal digits (`8192`, `0.5`, `-1` to be refused by its bound). Not
 * z.coerce: Number() reads a blank value as 0 (a random API port, a coverage gate at 0 %), `0x10`
 * as 16 and `1e3` as 1000.
 */
const decimal = z
  .string()
  .regex(/^-?\d+(\.\d+)?$/, 'must be a number in decimal digits')
  .transform(Number);
const int = (min: number, max: number) => decimal.pipe(z.number().int().min(min).max(max));

/**
 * Seconds a step inside an activity may take: at most the activity's own timeout less a margin.
 * Longer, Temporal timed the activity out first and retried it, commands and model call again.
 */
const withinActivity = (min: number, activity: keyof typeof ACTIVITY_LIMITS, what: string) => {
  const { seconds, margin } = ACTIVITY_LIMITS[activity];
  return int(min, Number.MAX_SAFE_INTEGER).refine((n) => n <= seconds - margin, `must be at most ${seconds - margin} s: ${what} runs in an activity that times out after ${seconds} s`);
};
const csv = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

const SIZE_UNITS = { b: 1, kb: 1024, mb: 1024 ** 2 } as const;

/**
 * A size in bytes, written `65536`, `256kb` or `1.5mb`. body-parser's own reading took `1e3` and
 * `1x` as 1 byte, `-1` as "refuse every body" and `10tb` as no bound at all.
 */
const byteSize = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?\s*(b|kb|mb)?$/i, 'must be a size like 256kb or 1mb')
    .transform((v) => {
      const [, amount, unit] = /^([\d.]+)\s*([a-z]*)$/i.exec(v)!;
      return Math.floor(Number(amount) * SIZE_UNITS[(unit!.toLowerCase() || 'b') as keyof typeof SIZE_UNITS]);
    })
    .pipe(z.number().min(min, `must be at least ${min / 1024}kb`).max(max, `must be at most ${max / 1024 ** 2}mb`));

// A DNS name (underscores too: compose service names) or an IPv4 address; an IPv6 address.
const DNS_OR_IPV4 = '[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\\.?';
const IPV6 = '[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*';
const PORT = '(?:6553[0-5]|655[0-2]\\d|65[0-4]\\d{2}|6[0-4]\\d{3}|[1-5]\\d{4}|[1-9]\\d{0,3})';

/**
 * A host to connect to or bind: no scheme, port or credentials. A URL there (REDIS_URL habits)
 * was looked up as a name, and the lookup's error, with the password in it, logged on every retry.
 */
const hostName = z.string().regex(new RegExp(`^(?:${DNS_OR_IPV4}|${IPV6})$`), 'must be a host name or IP address (no scheme, port or credentials)');

/** Temporal's `host` or `host:port` (the SDK adds 7233); `[::1]:7233` for IPv6. The SDK's own refusal repeated the value whole. */
const hostPort = z.string().regex(new RegExp(`^(?:${DNS_OR_IPV4}|\\[${IPV6}\\])(?::${PORT})?$`), 'must be host or host:port (e.g. temporal.internal:7233)');

/** A URL the service fetches from: z.url() alone takes any scheme (`file:`, `localhost:3002` read as scheme `localhost:`). */
const httpUrl = z.string().refine((v) => /^https?:\/\//i.test(v) && URL.canParse(v), 'must be an http:// or https:// URL');

/** True when `value` parses as a URL with a user name or password (also `https:u:p@host`, which the parser accepts). */
function hasUserinfo(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return url.username !== '' || url.password !== '';
}

const share = decimal.pipe(z.number().gt(0, 'must be a share of the context window, above 0').lt(1, 'must be a share of the context window, below 1'));

const modelPrice = z.strictObject({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cacheWrite5m: z.number().nonnegative().optional(),
  cacheWrite1h: z.number().nonnegative().optional(),
  cacheRead: z.number().nonnegative().optional(),
});

/**
 * `MODEL_PRICES`: JSON `{ "<model>": { input, output, cacheWrite5m?, cacheWrite1h?, cacheRead? } }`
 * in USD per million tokens, merged over the built-in table. Cache prices default to Anthropic's
 * multipliers of the input price (1.25x, 2x, 0.1x).
 */
const priceTable = z.string().transform((raw, ctx): PriceTable => {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON object of model prices, e.g. {"claude-x":{"input":3,"output":15}}' });
    return z.NEVER;
  }
  const parsed = z.record(z.string().min(1), modelPrice).safeParse(json);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: `${issue.path.join('.') || 'value'}: ${issue.message}` });
    return z.NEVER;
  }
  const overrides = Object.fromEntries(
    Object.entries(parsed.data).map(([model, p]): [string, ModelPrice] => [
      model,
      { input: p.input, output: p.output, cacheWrite5m: p.cacheWrite5m ?? p.input * 1.25, cacheWrite1h: p.cacheWrite1h ?? p.input * 2, cacheRead: p.cacheRead ?? p.input * 0.1 },
    ]),
  );
  return { ...DEFAULT_PRICES, ...overrides };
});

export const configSchema = z.object({
  ORCHESTRATOR_PORT: int(1, 65535).default(3001),
  ORCHESTRATOR_HOST: hostName.default('127.0.0.1'),
  /** Compared with the X-API-Key header, which HTTP trims and which cannot carry a line break: a key from a secret file ending in one could never match. */
  ORCHESTRATOR_API_KEY: z
    .string()
    .regex(/^[\x21-\x7e]*$/, 'must be printable ASCII without spaces (what an X-API-Key header carries)')
    .min(16, 'must be at least 16 characters')
    .optional(),
  ORCHESTRATOR_AUTH_DISABLED: bool.default(false),
  /** Largest JSON body the API accepts, in bytes. */
  ORCHESTRATOR_BODY_LIMIT: byteSize(1024, 100 * 1024 ** 2).default(256 * 1024),
  /** Event streams (SSE) the API serves at once; each is read from Valkey again on every event of its stream. */
  ORCHESTRATOR_MAX_EVENT_STREAMS: int(1, 100_000).default(500),
  /**
   * Idempotency-Keys of retries and forks the API keeps for one agent (each for STATE_TTL_SECONDS
   * after the agent's last new key); a request with one more is answered 429.
   */
  ORCHESTRATOR_MAX_IDEMPOTENCY_KEYS_PER_AGENT: int(1, 100_000).default(100),
  // Limits of the API's HTTP server (api/http-server.ts). Node's own defaults let a client that
  // sends its headers a byte a second hold a socket 60-90 s, a body 300 s, and open sockets until
  // the process runs out of files.
  /** Time a client has to send a request's headers. */
  ORCHESTRATOR_HEADERS_TIMEOUT_SECONDS: int(1, 600).default(10),
  /** Time a client has to send a whole request, body included (an event stream's response is not limited). */
  ORCHESTRATOR_REQUEST_TIMEOUT_SECONDS: int(1, 3600).default(30),
  /** Time a client has to take a response the API has ended, or an event stream's waiting write; then the connection is closed. */
  ORCHESTRATOR_RESPONSE_TIMEOUT_SECONDS: int(1, 3600).default(60),
  /** How long an idle kept-alive connection stays open; behind a load balancer, above its idle timeout. */
  ORCHESTRATOR_KEEP_ALIVE_TIMEOUT_SECONDS: int(1, 3600).default(5),
  /** Connections the API holds at once, event streams included; one more is closed at once. */
  ORCHESTRATOR_MAX_CONNECTIONS: int(2, 1_000_000).default(2000),

  TEMPORAL_ADDRESS: hostPort.default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('agent-runs'),

  VALKEY_HOST: hostName.default('localhost'),
  VALKEY_PORT: int(1, 65535).default(6379),
  /** A password read from a secret file keeps the file's last line break, and AUTH then fails with no hint of why. */
  VALKEY_PASSWORD: z
    .string()
    .refine((v) => v === v.trim() && !/[\r\n]/.test(v), 'must not start or end with spaces or hold a line break (a password read from a file keeps its last line break)')
    .optional(),
  /** How long agent/task state and transcripts stay in Valkey after a run ends. */
  STATE_TTL_SECONDS: int(60, 90 * 24 * 3600).default(7 * 24 * 3600),

  CLAUDE_API_KEY: z.string().optional(),
  ANTHROPIC_API_KEY: z.string().optional(),
  ANTHROPIC_BASE_URL: httpUrl.optional(),
  AGENT_MODEL: z.string().default('claude-sonnet-5-5'),
  AGENT_MAX_TOKENS_PER_TURN: int(256, 128000).default(8192),
  /** Budgets: each is the ceiling a spawn may ask for, and the budget when it asks for none. */
  AGENT_MAX_TURNS: int(1, 10000).default(50),
  AGENT_MAX_OUTPUT_TOKENS: int(1000, 100_000_000).default(500_000),
  AGENT_MAX_WALL_TIME_SECONDS: int(10, 7 * 24 * 3600).default(3600),
  AGENT_MAX_COST_USD: decimal.pipe(z.number().positive('must be a positive amount of US dollars').max(100_000)).default(10),
  /** Overrides and additions to the built-in price table (domain/pricing.ts). */
  MODEL_PRICES: priceTable.default(DEFAULT_PRICES),
  /** Prompt caching: `5m` (default), `1h` (writes cost 2x input instead of 1.25x; for slow tools), or `off`. */
  PROMPT_CACHE: z.enum(['5m', '1h', 'off'], { error: 'must be one of 5m, 1h, off' }).default('5m'),
  /** The context the service plans requests against (the model's may be larger). */
  CONTEXT_WINDOW_TOKENS: int(10_000, 10_000_000).default(200_000),
  /** Older tool results are shortened when a request would pass this share of the window... */
  CONTEXT_COMPACT_AT: share.default(0.5),
  /**
   * ...down to this share, so the prefix then stays stable (and cached) for several turns. A step
   * rewrites the cache from the first changed message on; it pays for itself after about
   * 12.5 x TO / (AT - TO) turns of smaller reads (cache writes 1.25x, reads 0.1x the input price).
   */
  CONTEXT_COMPACT_TO: share.default(0.2),
  /** The newest turns are always sent whole. */
  CONTEXT_KEEP_RECENT_TURNS: int(0, 100).default(3),
  AGENT_MAX_FEEDBACK_ROUNDS: int(0, 20).default(3),
  MODEL_REQUEST_TIMEOUT_SECONDS: withinActivity(5, 'modelCall', 'a model call').default(600),

  TOOL_TIMEOUT_SECONDS: withinActivity(1, 'toolBatch', 'a tool batch').default(120),
  TOOL_OUTPUT_MAX_BYTES: int(1024, 1_000_000).default(30_000),

  WORKSPACE_ROOT: z.string().default(path.resolve('.data/workspaces')),
  /**
   * Disk budget of one agent (its worktree and home together), held while each command runs and
   * checked after each tool batch; a run over it fails (type WorkspaceTooLarge).
   */
  WORKSPACE_MAX_MB: int(1, 10_000_000).default(2048),
  /** The same budget in files, directories and links: empty files cost the host inodes, not bytes. */
  WORKSPACE_MAX_FILES: int(100, 1_000_000_000).default(1_000_000),
  /**
   * This worker host's id: it names the host's own task queue, its containers and its share of
   * the reapers' work. Defaults to the hostname plus a random id kept in WORKSPACE_ROOT/host-id, so
   * workers sharing a disk share an id and a host that keeps its disk keeps its id.
   */
  WORKER_HOST_ID: z.string().regex(HOST_ID_PATTERN, 'must be 1-63 of [A-Za-z0-9_.-], starting with a letter or digit').optional(),
  /** A workflow bundle made ahead of time (npm run bundle:workflows); without it the worker bundles workflows/ at start. */
  WORKFLOW_BUNDLE_PATH: z.string().optional(),
  /** How long an activity bound to an agent's host waits for that host before the agent moves to another. */
  HOST_FAILOVER_SECONDS: int(2, 3600).default(30),
  /** Largest total of an agent's saved workspace checkpoints (compressed git objects) in Valkey. */
  CHECKPOINT_MAX_BYTES: int(1024, 2 ** 40).default(256 * 1024 * 1024),
  /** Any other scheme has no URL form the API accepts: a typo would refuse every spawn. */
  GIT_ALLOWED_SCHEMES: csv
    .transform((schemes) => schemes.map((s) => s.toLowerCase()))
    .superRefine((schemes, ctx) => {
      if (schemes.length === 0) ctx.addIssue({ code: 'custom', message: 'must name at least one scheme' });
      for (const s of schemes) {
        if (!(GIT_URL_SCHEMES as readonly string[]).includes(s)) ctx.addIssue({ code: 'custom', message: `"${s}" is not a supported scheme (${GIT_URL_SCHEMES.join(', ')})` });
      }
    })
    .default(['https', 'ssh']),
  GIT_AUTHOR_NAME: z.string().default('Orchestrator Agent'),
  GIT_AUTHOR_EMAIL: z.string().email().default('agent@orchestrator.local'),
  /** Token for https remotes, handed to git through a credential helper, never in a URL. */
  GIT_HTTPS_TOKEN: z.string().optional(),
  /** The hosts (`host` or `host:port`) the https token belongs to; no other host ever gets it. Required with GIT_HTTPS_TOKEN. */
  GIT_HTTPS_TOKEN_HOSTS: csv
    .pipe(z.array(z.string().regex(/^[a-z0-9.-]+(:\d{1,5})?$/i, 'must list host or host:port names')))
    .default([]),
  GIT_HTTPS_USERNAME: z.string().default('x-access-token'),
  /** Private key for ssh remotes. */
  GIT_SSH_KEY_PATH: z.string().optional(),
  GIT_PUSH_ENABLED: bool.default(true),

  /** Compatibility: `true` means SANDBOX_RUNTIME=docker. */
  SANDBOX_ENABLED: bool.default(false),
  /**
   * Where agent commands and gates run: `bubblewrap` (a namespace sandbox, the default),
   * `docker` (the default when SANDBOX_ENABLED=true), or `none` (no isolation: an explicit
   * opt-out, logged as a warning at every start).
   */
  SANDBOX_RUNTIME: z.enum(['bubblewrap', 'docker', 'none']).optional(),
  /** Host paths mounted read-only, at the same place, into the namespace sandbox (tool chains outside /usr). */
  SANDBOX_READONLY_PATHS: csv.pipe(z.array(z.string().startsWith('/', 'must list absolute paths'))).default([]),
  SANDBOX_IMAGE: z.string().default('orchestrator-sandbox:latest'),
  SANDBOX_MEMORY_MB: int(16, 1_000_000).default(2048),
  SANDBOX_CPUS: decimal.pipe(z.number().min(0.01).max(512)).default(1),
  SANDBOX_PIDS_LIMIT: int(8, 100_000).default(256),
  /** The cgroup (a directory under a cgroup mount) below which bubblewrap makes each command's pids cgroup; default: the worker's own. */
  SANDBOX_CGROUP_PARENT: z.string().startsWith('/', 'must be an absolute path').optional(),
  SANDBOX_TMPFS_MB: int(1, 100_000).default(256),
  /** Docker network for agent containers; `none` (no network) unless set. */
  SANDBOX_NETWORK: z.string().default('none'),
  SANDBOX_GRACEFUL_STOP_TIMEOUT_SECONDS: withinActivity(0, 'cleanup', 'cleanup (the container stop, then salvage and worktree removal)').default(10),
  /** Owner given to worktrees of sandboxed agents when the worker runs as root, so containers run unprivileged. */
  SANDBOX_UID: int(1, 2 ** 31).default(1000),
  SANDBOX_GID: int(1, 2 ** 31).default(1000),
  DOCKER_SOCKET: z.string().default('/var/run/docker.sock'),

  GATE_TIMEOUT_SECONDS: withinActivity(1, 'gates', 'the gates of a phase').default(600),
  GATE_COVERAGE_THRESHOLD: decimal.pipe(z.number().min(0).max(100)).default(85),

  /** Without credentials: fetch refuses a URL with user:password@, and its error repeats the URL. */
  COORDINATOR_URL: httpUrl.refine((v) => !hasUserinfo(v), 'must not include a user name or password (user:password@)').optional(),
  COORDINATOR_TIMEOUT_SECONDS: withinActivity(1, 'coordinator', 'a report to the coordinator').default(30),

  /**
   * How long a kill waits for the workflow to acknowledge it (a state write) before the API
   * terminates it; capped by KILL_DEADLINE_SECONDS.
   */
  KILL_ACK_TIMEOUT_SECONDS: int(1, 600).default(3),
  /** How long an acknowledged kill waits for the workflow to reach `killed` before the API terminates it. */
  KILL_DEADLINE_SECONDS: int(1, 3600).default(30),
  REAPER_INTERVAL_SECONDS: int(5, 24 * 3600).default(300),
  /** Where the worker serves Temporal's SDK metrics for Prometheus (`host:port`, at /metrics); `off` disables. */
  WORKER_METRICS_ADDRESS: z
    .string()
    .regex(/^(off|[A-Za-z0-9.:[\]-]+:\d{1,5})$/, 'must be host:port (e.g. 0.0.0.0:9464) or off')
    .default('127.0.0.1:9464'),

  /**
   * Slot budgets of one worker process (see README, "Sizing a worker"). Model calls wait minutes
   * on the network and take their own budget on their own task queue; the rest (git, tools,
   * gates, cleanup) share WORKER_ACTIVITY_SLOTS; state writes run as local activities.
   */
  WORKER_MODEL_SLOTS: int(1, 100_000).default(500),
  WORKER_ACTIVITY_SLOTS: int(1, 10_000).default(50),
  WORKER_LOCAL_ACTIVITY_SLOTS: int(1, 10_000).default(200),
  /** Unset: 40, or the cache size when that is smaller (the SDK allows no more while the cache is on). */
  WORKER_WORKFLOW_TASK_SLOTS: int(2, 10_000).optional(),
  /** Workflows kept in the worker's cache; one that is not is replayed from its history on its next task. 0: no cache (the SDK makes 1 into 2). */
  WORKER_MAX_CACHED_WORKFLOWS: int(0, 100_000)
    .refine((n) => n !== 1, 'must be 0 (no cache) or at least 2')
    .default(1000),

  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
}).superRefine((c, ctx) => {
  // Node refuses to start a server whose headers timeout is the longer.
  if (c.ORCHESTRATOR_HEADERS_TIMEOUT_SECONDS > c.ORCHESTRATOR_REQUEST_TIMEOUT_SECONDS) {
    ctx.addIssue({ code: 'custom', path: ['ORCHESTRATOR_HEADERS_TIMEOUT_SECONDS'], message: `must be at most ORCHESTRATOR_REQUEST_TIMEOUT_SECONDS (${c.ORCHESTRATOR_REQUEST_TIMEOUT_SECONDS})` });
  }
  // Each event stream holds a connection: with no room left, every other request would be refused.
  if (c.ORCHESTRATOR_MAX_CONNECTIONS <= c.ORCHESTRATOR_MAX_EVENT_STREAMS) {
    ctx.addIssue({ code: 'custom', path: ['ORCHESTRATOR_MAX_CONNECTIONS'], message: `must be above ORCHESTRATOR_MAX_EVENT_STREAMS (${c.ORCHESTRATOR_MAX_EVENT_STREAMS}): each event stream holds a connection` });
  }
  if (!priceFor(c.MODEL_PRICES, c.AGENT_MODEL)) {
    ctx.addIssue({ code: 'custom', path: ['AGENT_MODEL'], message: 'has no known price; add it to MODEL_PRICES (USD per million tokens)' });
  }
  if (c.CONTEXT_COMPACT_TO >= c.CONTEXT_COMPACT_AT) {
    ctx.addIssue({ code: 'custom', path: ['CONTEXT_COMPACT_TO'], message: `must be below CONTEXT_COMPACT_AT (${c.CONTEXT_COMPACT_AT})` });
  }
  // The models that think refuse a request whose input and max_tokens together pass the window: a
  // turn must leave room for a request at the compaction mark.
  const roomForOutput = Math.floor(c.CONTEXT_WINDOW_TOKENS * (1 - c.CONTEXT_COMPACT_AT));
  if (c.AGENT_MAX_TOKENS_PER_TURN > roomForOutput) {
    ctx.addIssue({
      code: 'custom',
      path: ['AGENT_MAX_TOKENS_PER_TURN'],
      message: `must be at most ${roomForOutput}: a request at CONTEXT_COMPACT_AT (${c.CONTEXT_COMPACT_AT}) of CONTEXT_WINDOW_TOKENS (${c.CONTEXT_WINDOW_TOKENS}) and all a turn may write must fit the window`,
    });
  }
});

/** Rules that span variables; each issue names the variable to fix. */
const crossFieldSchema = configSchema.superRefine((c, ctx) => {
  if (c.GIT_HTTPS_TOKEN && c.GIT_HTTPS_TOKEN_HOSTS.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['GIT_HTTPS_TOKEN_HOSTS'], message: 'required when GIT_HTTPS_TOKEN is set: the hosts the token may be sent to' });
  }
  if (c.SANDBOX_ENABLED && c.SANDBOX_RUNTIME && c.SANDBOX_RUNTIME !== 'docker') {
    ctx.addIssue({ code: 'custom', path: ['SANDBOX_RUNTIME'], message: 'conflicts with SANDBOX_ENABLED=true (which means docker); unset one of them' });
  }
  // buildRuntime gives bubblewrap the host's network for `host` and none for anything else.
  if (sandboxRuntime(c) === 'bubblewrap' && c.SANDBOX_NETWORK !== 'none' && c.SANDBOX_NETWORK !== 'host') {
    ctx.addIssue({
      code: 'custom',
      path: ['SANDBOX_NETWORK'],
      message: "the bubblewrap sandbox has only none or host (the host's network); a Docker network needs SANDBOX_RUNTIME=docker",
    });
  }
  for (const message of readOnlyPathProblems(c)) ctx.addIssue({ code: 'custom', path: ['SANDBOX_READONLY_PATHS'], message });
  for (const [name, message] of systemMountProblems(c)) ctx.addIssue({ code: 'custom', path: [name], message });
  // The SDK would lower it to the cache size itself, with only a log line of its own.
  if (c.WORKER_WORKFLOW_TASK_SLOTS !== undefined && c.WORKER_MAX_CACHED_WORKFLOWS > 0 && c.WORKER_WORKFLOW_TASK_SLOTS > c.WORKER_MAX_CACHED_WORKFLOWS) {
    ctx.addIssue({
      code: 'custom',
      path: ['WORKER_WORKFLOW_TASK_SLOTS'],
      message: `must not exceed WORKER_MAX_CACHED_WORKFLOWS (${c.WORKER_MAX_CACHED_WORKFLOWS}) while the cache is on`,
    });
  }
}).transform((c) => ({
  ...c,
  WORKER_WORKFLOW_TASK_SLOTS: c.WORKER_WORKFLOW_TASK_SLOTS ?? (c.WORKER_MAX_CACHED_WORKFLOWS > 0 ? Math.min(40, c.WORKER_MAX_CACHED_WORKFLOWS) : 40),
}));

export type Config = z.output<typeof crossFieldSchema>;

/**
 * What is wrong with SANDBOX_READONLY_PATHS: each is mounted read-only into every agent's bubblewrap
 * sandbox (as the worker's user when it is not root), so none may hold what agents must not read:
 * the other agents' worktrees and homes, the git key, the Docker socket (connecting needs no write
 * to the mount). Compared by real path (/var/run is a link to /run on Debian). Docker mounts none.
 */
function readOnlyPathProblems(c: z.output<typeof configSchema>): string[] {
  if (c.SANDBOX_READONLY_PATHS.length === 0) return [];
  const runtime = sandboxRuntime(c);
  if (runtime === 'docker') return ['only the bubblewrap sandbox mounts them; build the tools into SANDBOX_IMAGE for docker'];
  if (runtime !== 'bubblewrap') return [];
  const guarded = guardedPaths(c);
  const problems: string[] = [];
  for (const given of c.SANDBOX_READONLY_PATHS) {
    const mounted = real(given);
    if (mounted === '/') {
      problems.push(`must not mount / (the whole host) into the sandbox`);
      continue;
    }
    for (const [name, value, what] of guarded) {
      if (value === undefined) continue;
      const target = real(value);
      if (within(target, mounted)) problems.push(`${given} holds ${name} (${what})`);
      else if (name === 'WORKSPACE_ROOT' && within(mounted, target)) problems.push(`${given} is inside WORKSPACE_ROOT`);
    }
  }
  return problems;
}

/** What agents must not read, by the variable that places it. */
function guardedPaths(c: z.output<typeof configSchema>): [string, string | undefined, string][] {
  return [
    ['WORKSPACE_ROOT', c.WORKSPACE_ROOT, "every agent's worktree and home"],
    ['GIT_SSH_KEY_PATH', c.GIT_SSH_KEY_PATH, 'the git key'],
    ['DOCKER_SOCKET', c.DOCKER_SOCKET, 'the Docker engine'],
  ];
}

const real = (p: string) => {
  try {
    return realpathSync.native(p);
  } catch {
    return path.resolve(p);
  }
};
const within = (inner: string, outer: string) => inner === outer || outer === '/' || inner.startsWith(`${outer}/`);

/**
 * The bubblewrap sandbox mounts /usr and a few system files into every agent's sandbox whatever
 * SANDBOX_READONLY_PATHS says (as the worker's user when it is not root): the git key or the
 * workspaces below one of them would be readable by every agent. Issues by the variable to fix.
 */
function systemMountProblems(c: z.output<typeof configSchema>): [string, string][] {
  if (sandboxRuntime(c) !== 'bubblewrap') return [];
  const problems: [string, string][] = [];
  for (const [name, value, what] of guardedPaths(c)) {
    if (value === undefined) continue;
    const mount = [BUBBLEWRAP_USR, ...BUBBLEWRAP_SYSTEM_FILES].find((m) => within(real(value), real(m)));
    if (mount) problems.push([name, `is below ${mount}, which the bubblewrap sandbox mounts read-only for every agent: ${what} must be kept elsewhere`]);
  }
  return problems;
}

export type SandboxRuntime = NonNullable<Config['SANDBOX_RUNTIME']>;

/** The runtime the configuration asks for: SANDBOX_RUNTIME, else docker with SANDBOX_ENABLED=true, else bubblewrap. */
export function sandboxRuntime(config: Pick<Config, 'SANDBOX_RUNTIME' | 'SANDBOX_ENABLED'>): SandboxRuntime {
  return config.SANDBOX_RUNTIME ?? (config.SANDBOX_ENABLED ? 'docker' : 'bubblewrap');
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; an invalid variable fails fast, naming the variable and the value it got. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset", as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = crossFieldSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '?');
      const shown = isSecretVariable(name) ? '[redacted]' : JSON.stringify(withoutUserinfo(cleaned[name]));
      return `${name}=${shown}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  return parsed.data;
}

/**
 * A value to show in an error, with everything between a URL's scheme and its last `@` hidden:
 * the user name and password, also in a URL too malformed to parse.
 */
function withoutUserinfo(value: string | undefined): string | undefined {
  return value?.replace(/^([a-z][a-z0-9+.-]*:(?:\/\/)?).*@/is, '$1[redacted]@');
}

export function isSecretVariable(name: string): boolean {
  // By suffix: VALKEY_PORT contains "KEY" but is no secret; GIT_SSH_KEY_PATH is a path.
  return /(^|_)(KEY|TOKEN|PASSWORD|SECRET)$/.test(name);
}

/** The model API key: `CLAUDE_API_KEY` (the seed's name) or the SDK's `ANTHROPIC_API_KEY`. */
export function modelApiKey(config: Config): string | undefined {
  return config.CLAUDE_API_KEY ?? config.ANTHROPIC_API_KEY;
}
