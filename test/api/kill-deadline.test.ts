import { readKillAudit } from '../../state/audit-log';
import { eventually, spawnBody, startTestApi, type TestApi } from './api-harness';

/**
 * Kills the run answers between two checks of the killswitch (KILL_POLL apart): it must never be
 * forced over an answer it already gave, since a termination cuts the run's cleanup short (the
 * run writes `killed` first, then cleans up) and overwrites what it recorded.
 */
describe('a kill the run answers just before the killswitch would force it', () => {
  const start = (pollMs: number, env: Record<string, string>) =>
    startTestApi({ env: { KILL_ACK_TIMEOUT_SECONDS: '1', ...env }, deps: { tuning: { statusQueryTimeoutMs: 2000, killPollIntervalMs: pollMs } } });
  const apis: TestApi[] = [];
  afterAll(async () => {
    await Promise.all(apis.map((a) => a.close()));
  });

  /** Kills an agent while playing its workflow's writes: the acknowledgement at once, `killed` `killedAfterMs` later. */
  async function killAnswered(api: TestApi, killedAfterMs: number) {
    const body = spawnBody();
    const agentId = (await api.request('POST', '/agents/spawn', { body })).body.agentId as string;
    const handle = api.client.workflow.getHandle(`agent-${agentId}`);
    const view = { agentId, taskId: body.taskId as string, agentType: 'worker' as const, spawnedAt: new Date().toISOString() };
    const workflowWrites = (async () => {
      await eventually(async () => (await handle.fetchHistory()).events?.some((e) => e.workflowExecutionSignaledEventAttributes), 'the kill signal');
      await api.store.write({ seq: 1, view: { ...view, status: 'running', phase: 'stopping' }, at: new Date().toISOString() });
      await new Promise((r) => setTimeout(r, killedAfterMs));
      await api.store.write({ seq: 2, view: { ...view, status: 'killed', phase: 'cleanup', error: 'killed: by the run' }, at: new Date().toISOString() });
    })();
    const res = await api.request('POST', `/agents/${agentId}/kill`, { body: { reason: 'answered' } });
    await workflowWrites;
    const closed = (await handle.describe()).status.name;
    const audit = (await readKillAudit(api.redis, 2000)).filter((r) => r.agentId === agentId).map((r) => r.outcome);
    const stored = await api.store.getAgent(agentId);
    if (closed === 'RUNNING') await handle.terminate('test over');
    return { res, closed, audit, stored };
  }

  it('an acknowledgement written since the last check is seen before the kill is forced for want of one', async () => {
    // Checks 1.5 s apart, the acknowledgement timeout 1 s: the run acknowledges just after the first check.
    const api = await start(1500, { KILL_DEADLINE_SECONDS: '3600' });
    apis.push(api);
    const { res, closed, audit } = await killAnswered(api, 2500);
    expect(res.body).toMatchObject({ status: 'killed', forced: false, error: 'killed: by the run' });
    expect(closed).toBe('RUNNING'); // its cleanup was left to finish
    expect(audit).toEqual(['killed']);
  });

  it("a final status written since the last check stands at the deadline: the run's cleanup is not cut short", async () => {
    // Checks 0.5 s apart (the acknowledgement is seen at the first), the deadline 2 s: `killed` lands after the check before it.
    const api = await start(500, { KILL_DEADLINE_SECONDS: '2' });
    apis.push(api);
    const { res, closed, audit, stored } = await killAnswered(api, 1550);
    expect(res.body).toMatchObject({ status: 'killed', forced: false, error: 'killed: by the run' });
    expect(closed).toBe('RUNNING');
    expect(stored).toMatchObject({ seq: 2, error: 'killed: by the run' });
    expect(audit).toEqual(['killed']);
  });
});
