import { loadConfig } from '../config';
import { keys } from './keys';

describe('keys.spawnClaim', () => {
  it("keeps the name from before queues for the default queue, so a claim made before an upgrade is still seen", () => {
    const { TEMPORAL_TASK_QUEUE } = loadConfig({});
    expect(keys.spawnClaim('T-1', 'worker', undefined, TEMPORAL_TASK_QUEUE)).toBe('orchestrator:spawn:T-1:worker');
  });

  it("is another queue's own", () => {
    expect(keys.spawnClaim('T-1', 'worker', undefined, 'team-b')).toBe('orchestrator:spawn:T-1:worker@team-b');
    expect(keys.spawnClaim('T-1', 'worker', 'prod', 'team-b')).toBe('orchestrator:ns:prod:spawn:T-1:worker@team-b');
  });

  it("names, for another queue, the claim from before queues, and none for the default queue (its claim has that name)", () => {
    const { TEMPORAL_TASK_QUEUE } = loadConfig({});
    expect(keys.spawnClaimBeforeQueues('T-1', 'worker', undefined, 'team-b')).toBe('orchestrator:spawn:T-1:worker');
    expect(keys.spawnClaimBeforeQueues('T-1', 'worker', 'prod', 'team-b')).toBe('orchestrator:ns:prod:spawn:T-1:worker');
    expect(keys.spawnClaimBeforeQueues('T-1', 'worker', undefined, TEMPORAL_TASK_QUEUE)).toBeUndefined();
  });
});
