import type { AgentRunInput } from '../domain/agent';
import { requestOf } from './agent-reruns';

const input: AgentRunInput = {
  agentId: 'a0000000-0000-0000-0000-000000000001',
  taskId: 'T-1',
  agentType: 'worker',
  gateProfile: 'minimal',
  missingGates: 'skip',
  priority: 3,
  context: { repository: 'https://git.example.com/r.git', branch: 'main', workItems: ['US-1'], skills: ['ts'], gates: ['tests'] },
  spawnedAt: '2026-01-01T00:00:00.000Z',
  budgets: { maxTurns: 80, maxOutputTokens: 500_000, maxWallTimeSeconds: 3600 },
  maxFeedbackRounds: 3,
};

describe('the spawn request a retry repeats', () => {
  it('is the old run input: profile, missing-gates policy, priority and context; budgets held under the ceilings of today', () => {
    const ceilings = { maxTurns: 50, maxOutputTokens: 1_000_000, maxWallTimeSeconds: 1800, maxCostUsd: 5 };
    expect(requestOf(input, ceilings)).toEqual({
      taskId: 'T-1',
      agentType: 'worker',
      gateProfile: 'minimal',
      missingGates: 'skip',
      priority: 3,
      budgets: { maxTurns: 50, maxOutputTokens: 500_000, maxWallTimeSeconds: 1800, maxCostUsd: 5 },
      context: { repository: 'https://git.example.com/r.git', branch: 'main', workItems: ['US-1'], skills: ['ts'], gates: ['tests'] },
    });
  });
});
