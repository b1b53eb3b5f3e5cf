/**
 * Prometheus metrics of the API (`GET /metrics`).
 *
 * Where each figure comes from:
 * - HTTP latency, spawns, retries, forks and kills: counted here, where they happen.
 * - Runs, turns, tokens, cost and gate durations: derived from the global event stream (the same
 *   events the SSE endpoints serve). Those events are written exactly once even when an activity
 *   is retried, so these counters are exact; counted in the worker they would count retries twice,
 *   and one API process sees every worker's agents. Counters start at zero when the process starts
 *   (as Prometheus expects); with several API replicas each one reports the whole deployment, so
 *   aggregate with `max`, not `sum`.
 * - Active agents: counted from Temporal visibility at scrape time, so the value is right
 *   after a restart too.
 * Temporal's own SDK metrics come from the worker's Prometheus endpoint (WORKER_METRICS_ADDRESS).
 */
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AGENT_TYPES, type AgentType } from '../domain/agent';
import type { AgentEvent } from '../domain/agent-events';
import { isTerminal } from '../domain/lifecycle';

export interface ApiMetricsOptions {
  /** Running agent workflows of one type on this deployment's task queue (for the active-agents gauge). */
  countActiveAgents?: (agentType: AgentType) => Promise<number>;
  /**
   * How long one count of active agents answers later scrapes. Scrapes meanwhile share it, and
   * scrapes during a count wait for it: 200 concurrent scrapes made 600 visibility queries.
   * @default 2000
   */
  activeAgentsMaxAgeMs?: number;
  /**
   * How long a scrape waits for a count: one that never ended (a query on a connection that died
   * without a reset) was shared by every later scrape, so all of them hung until the API restarted.
   * @default 5000
   */
  activeAgentsTimeoutMs?: number;
  now?: () => number;
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const GATE_SECONDS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 10800];

export function createApiMetrics(options: ApiMetricsOptions = {}) {
  const registry = new Registry();
  const registers = [registry];

  const httpDuration = new Histogram({
    name: 'orchestrator_http_request_duration_seconds',
    help: 'HTTP request latency by route and status (for event streams: how long the client stayed connected)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: SECONDS,
    registers,
  });
  const spawns = new Counter({
    name: 'orchestrator_spawns_total',
    help: 'Spawn requests by agent type and result (created: a new agent; existing: a live agent already owned the task)',
    labelNames: ['agent_type', 'result'] as const,
    registers,
  });
  const retries = new Counter({
    name: 'orchestrator_retries_total',
    help: 'Retries of finished runs by agent type and result',
    labelNames: ['agent_type', 'result'] as const,
    registers,
  });
  const forks = new Counter({
    name: 'orchestrator_forks_total',
    help: 'Forks of finished runs at one of their turns, by agent type and result',
    labelNames: ['agent_type', 'result'] as const,
    registers,
  });
  const kills = new Counter({
    name: 'orchestrator_kills_total',
    help: 'Kills by outcome (killed, forced, already-finished, not-found, failed)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const runs = new Counter({
    name: 'orchestrator_runs_total',
    help: 'Finished agent runs by agent type and outcome (completed, failed, killed)',
    labelNames: ['agent_type', 'outcome'] as const,
    registers,
  });
  const turns = new Counter({ name: 'orchestrator_turns_total', help: 'Model turns by agent type', labelNames: ['agent_type'] as const, registers });
  const tokens = new Counter({
    name: 'orchestrator_tokens_total',
    help: 'Model tokens by agent type and direction (input: at the full price, cache_read, cache_write, output)',
    labelNames: ['agent_type', 'direction'] as const,
    registers,
  });
  const cost = new Counter({ name: 'orchestrator_cost_usd_total', help: 'Model cost in USD by agent type, where a price is known', labelNames: ['agent_type'] as const, registers });
  const gateDuration = new Histogram({
    name: 'orchestrator_gate_duration_seconds',
    help: 'Quality gate durations by gate and outcome',
    labelNames: ['gate', 'outcome'] as const,
    buckets: GATE_SECONDS,
    registers,
  });
  const activeCounts = options.countActiveAgents && sharedCounts(options.countActiveAgents, options.activeAgentsMaxAgeMs ?? 2000, options.activeAgentsTimeoutMs ?? 5000, options.now ?? Date.now);
  new Gauge({
    name: 'orchestrator_active_agents',
    help: 'Agent runs whose workflow is running on this deployment, by agent type',
    labelNames: ['agent_type'] as const,
    registers,
    async collect() {
      if (!activeCounts) return;
      const counts = await activeCounts();
      for (const [i, agentType] of AGENT_TYPES.entries()) {
        const n = counts[i];
        if (n !== undefined) this.set({ agent_type: agentType }, n);
      }
    },
  });

  // Agent types of runs seen in this process, for events that do not name it.
  const typeOf = new Map<string, AgentType>();
  const MAX_REMEMBERED = 100_000;

  function observe(event: AgentEvent): void {
    switch (event.type) {
      case 'lifecycle': {
        if (event.agentType) remember(event.agentId, event.agentType);
        const agentType = event.agentType ?? typeOf.get(event.agentId) ?? 'unknown';
        if (isTerminal(event.to)) {
          runs.inc({ agent_type: agentType, outcome: event.to });
          typeOf.delete(event.agentId);
        }
        return;
      }
      case 'turn': {
        const agentType = event.agentType ?? typeOf.get(event.agentId) ?? 'unknown';
        turns.inc({ agent_type: agentType });
        tokens.inc({ agent_type: agentType, direction: 'input' }, event.inputTokens);
        tokens.inc({ agent_type: agentType, direction: 'output' }, event.outputTokens);
        if (event.cacheReadInputTokens) tokens.inc({ agent_type: agentType, direction: 'cache_read' }, event.cacheReadInputTokens);
        if (event.cacheCreationInputTokens) tokens.inc({ agent_type: agentType, direction: 'cache_write' }, event.cacheCreationInputTokens);
        if (event.costUsd !== undefined) cost.inc({ agent_type: agentType }, event.costUsd);
        return;
      }
      case 'gates':
        for (const gate of event.gates) gateDuration.observe({ gate: gate.name, outcome: gate.outcome }, gate.durationMs / 1000);
        return;
      default:
        return;
    }
  }

  function remember(agentId: string, agentType: AgentType): void {
    if (typeOf.size >= MAX_REMEMBERED) typeOf.clear();
    typeOf.set(agentId, agentType);
  }

  /** Times every request; the route is the matched pattern (`/agents/:agentId/status`), never the raw path. */
  const httpMiddleware: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    let done = false;
    const record = () => {
      if (done) return;
      done = true;
      const route = req.route ? `${req.baseUrl}${String((req.route as { path: unknown }).path)}` : 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
    };
    res.once('finish', record);
    res.once('close', record);
    next();
  };

  return {
    registry,
    httpMiddleware,
    observe,
    spawned: (agentType: AgentType, created: boolean) => spawns.inc({ agent_type: agentType, result: created ? 'created' : 'existing' }),
    retried: (agentType: AgentType, created: boolean) => retries.inc({ agent_type: agentType, result: created ? 'created' : 'existing' }),
    forked: (agentType: AgentType, created: boolean) => forks.inc({ agent_type: agentType, result: created ? 'created' : 'existing' }),
    killed: (outcome: string) => kills.inc({ outcome }),
  };
}

/**
 * The active-agent counts, one computation at a time: a scrape during a count waits for it, and a
 * count answers every scrape for `maxAgeMs` after it finished. Prometheus scrapes every 15 s or
 * more, so two seconds cost a scraper nothing, while a client scraping in a loop (the endpoint is
 * unauthenticated) makes at most one set of queries per period; visibility itself lags by about a
 * second. An undefined count (visibility failed or is slow) leaves the gauge's last value.
 */
function sharedCounts(count: (agentType: AgentType) => Promise<number>, maxAgeMs: number, timeoutMs: number, now: () => number): () => Promise<(number | undefined)[]> {
  let inFlight: Promise<(number | undefined)[]> | undefined;
  let last: { at: number; counts: (number | undefined)[] } | undefined;
  // A count that does not end in time is undefined (the gauge keeps its value) and no longer shared.
  const inTime = (agentType: AgentType): Promise<number | undefined> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      timer.unref();
      count(agentType).then(
        (n) => resolve(n),
        () => resolve(undefined),
      ).finally(() => clearTimeout(timer));
    });
  return () => {
    if (last && now() - last.at < maxAgeMs) return Promise.resolve(last.counts);
    inFlight ??= Promise.all(AGENT_TYPES.map(inTime))
      .then((counts) => {
        last = { at: now(), counts };
        return counts;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
}
