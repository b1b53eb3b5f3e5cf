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
});
