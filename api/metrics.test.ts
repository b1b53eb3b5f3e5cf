import type { AgentEvent } from '../domain/agent-events';
import { parsePrometheus, sample } from '../test/support/prometheus';
import { createApiMetrics } from './metrics';

const at = '2026-01-01T00:00:00.000Z';
const agentId = 'a0000000-0000-0000-0000-000000000001';

describe('API metrics derived from agent events', () => {
  it('counts runs by outcome and type, turns, tokens, cost and gate durations exactly once per event', async () => {
    const metrics = createApiMetrics();
    const events: AgentEvent[] = [
      { type: 'lifecycle', agentId, taskId: 'T', agentType: 'tester', from: null, to: 'spawning', at },
      { type: 'turn', agentId, turn: 1, stopReason: 'tool_use', inputTokens: 100, outputTokens: 40, cacheCreationInputTokens: 900, costUsd: 0.01, tools: ['bash: npm test'], at },
      { type: 'turn', agentId, turn: 2, stopReason: 'end_turn', inputTokens: 150, outputTokens: 10, cacheReadInputTokens: 900, tools: [], at },
      { type: 'gates', agentId, phase: 'pre-commit', round: 1, passed: false, gates: [{ name: 'tests', outcome: 'failed', durationMs: 2500 }], at },
      { type: 'lifecycle', agentId, taskId: 'T', agentType: 'tester', from: 'running', to: 'failed', at },
    ];
    for (const event of events) metrics.observe(event);
    metrics.spawned('tester', true);
    metrics.killed('already-finished');
    const s = parsePrometheus(await metrics.registry.metrics());
    expect(sample(s, 'orchestrator_runs_total', { agent_type: 'tester', outcome: 'failed' })).toBe(1);
    expect(sample(s, 'orchestrator_turns_total', { agent_type: 'tester' })).toBe(2);
    expect(sample(s, 'orchestrator_tokens_total', { agent_type: 'tester', direction: 'input' })).toBe(250);
    expect(sample(s, 'orchestrator_tokens_total', { agent_type: 'tester', direction: 'output' })).toBe(50);
    expect(sample(s, 'orchestrator_tokens_total', { agent_type: 'tester', direction: 'cache_write' })).toBe(900);
    expect(sample(s, 'orchestrator_tokens_total', { agent_type: 'tester', direction: 'cache_read' })).toBe(900);
    expect(sample(s, 'orchestrator_cost_usd_total', { agent_type: 'tester' })).toBeCloseTo(0.01);
    expect(sample(s, 'orchestrator_gate_duration_seconds_count', { gate: 'tests', outcome: 'failed' })).toBe(1);
    expect(sample(s, 'orchestrator_gate_duration_seconds_sum', { gate: 'tests', outcome: 'failed' })).toBe(2.5);
    expect(sample(s, 'orchestrator_spawns_total', { agent_type: 'tester', result: 'created' })).toBe(1);
    expect(sample(s, 'orchestrator_kills_total', { outcome: 'already-finished' })).toBe(1);
  });

  it('reports active agents from the counter it is given, per agent type', async () => {
    const metrics = createApiMetrics({ countActiveAgents: async (t) => ({ worker: 3, reviewer: 1, tester: 0 })[t] });
    const s = parsePrometheus(await metrics.registry.metrics());
    expect(sample(s, 'orchestrator_active_agents', { agent_type: 'worker' })).toBe(3);
    expect(sample(s, 'orchestrator_active_agents', { agent_type: 'reviewer' })).toBe(1);
  });

  it('counts active agents once for concurrent scrapes, and again once the count is older than its max age', async () => {
    let clock = 0;
    let calls = 0;
    let active = 2;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const metrics = createApiMetrics({
      countActiveAgents: async () => {
        calls += 1;
        await gate;
        return active;
      },
      activeAgentsMaxAgeMs: 1000,
      now: () => clock,
    });
    const scrapes = Array.from({ length: 5 }, () => metrics.registry.metrics());
    release();
    for (const text of await Promise.all(scrapes)) expect(sample(parsePrometheus(text), 'orchestrator_active_agents', { agent_type: 'worker' })).toBe(2);
    expect(calls).toBe(3); // one per agent type

    active = 4;
    clock = 999;
    expect(sample(parsePrometheus(await metrics.registry.metrics()), 'orchestrator_active_agents', { agent_type: 'worker' })).toBe(2);
    expect(calls).toBe(3);
    clock = 1000;
    expect(sample(parsePrometheus(await metrics.registry.metrics()), 'orchestrator_active_agents', { agent_type: 'worker' })).toBe(4);
    expect(calls).toBe(6);
  });

  it('keeps the last active counts when visibility fails', async () => {
    let clock = 0;
    let fail = false;
    const metrics = createApiMetrics({
      countActiveAgents: async () => {
        if (fail) throw new Error('visibility unavailable');
        return 7;
      },
      now: () => clock,
    });
    await metrics.registry.metrics();
    fail = true;
    clock = 10_000;
    expect(sample(parsePrometheus(await metrics.registry.metrics()), 'orchestrator_active_agents', { agent_type: 'worker' })).toBe(7);
  });

  it('does not let one count that never ends hang every later scrape: it gives up on it, and a later scrape counts again', async () => {
    let clock = 0;
    let hang = true;
    const metrics = createApiMetrics({
      // A visibility query stuck on a connection that died without a reset.
      countActiveAgents: async () => (hang ? new Promise<number>(() => undefined) : 5),
      activeAgentsTimeoutMs: 100,
      now: () => clock,
    });
    const hung = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 2000).unref());
    expect(await Promise.race([metrics.registry.metrics().then(() => 'answered'), hung])).toBe('answered');
    hang = false;
    clock = 10_000;
    const later = await Promise.race([metrics.registry.metrics(), hung]);
    expect(later).not.toBe('hung');
    expect(sample(parsePrometheus(later), 'orchestrator_active_agents', { agent_type: 'worker' })).toBe(5);
  });
});
