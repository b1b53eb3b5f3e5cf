/**
 * Workflow history size per turn: one agent with the real `agentRun` workflow on an in-process
 * worker (test/support/harness: real Temporal dev server, real Valkey, real git, the scripted fake
 * model) takes TURNS turns, each one bash call printing 4 KB, then ends; the minimal gate passes.
 * Prints one JSON line: the history's events and bytes (`temporal workflow show -o json` is the
 * same JSON), the part spent in the agent loop, and bytes per turn, so activity summaries and
 * result digests can be held against the per-turn budget. Progress on stderr.
 * Run: npm run bench:history (-- --turns=N, default 20)
 */
import { randomUUID } from 'node:crypto';
import { createRemoteRepo, nodeProjectFiles } from '../test/support/git-fixtures';
import { startHarness } from '../test/support/harness';

const TURNS = Number(/--turns=(\d+)/.exec(process.argv.join(' '))?.[1] ?? 20);
const progress = (msg: string) => process.stderr.write(`${msg}\n`);

async function main(): Promise<void> {
  const h = await startHarness();
  try {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = `T-hist-${randomUUID().slice(0, 8)}`;
    const turn = (i: number) => ({ tools: [{ name: 'bash' as const, input: { command: `head -c 3000 /dev/zero | tr '\\0' x; echo; echo turn ${i} > turn-${i}.txt` } }] });
    h.fakeModel.script(taskId, [...Array.from({ length: TURNS - 1 }, (_, i) => turn(i + 1)), { text: `Done after ${TURNS} turns.` }]);
    progress(`running one agent for ${TURNS} turns`);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', budgets: { maxTurns: TURNS + 5, maxOutputTokens: 1_000_000, maxWallTimeSeconds: 600 } });
    const final = await handle.result();
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const bytes = Buffer.byteLength(JSON.stringify(history));
    // The agent loop: from the first model turn scheduled to the last tool batch completed.
    const isLoopActivity = (name: string | null | undefined) => name === 'modelTurn' || name === 'executeTools' || name === 'toolsThenModel';
    const scheduledName = new Map<number, string>();
    let loopBytes = 0;
    for (const e of events) {
      const scheduled = e.activityTaskScheduledEventAttributes;
      if (scheduled) scheduledName.set(Number(e.eventId), scheduled.activityType?.name ?? '');
      const refId = Number(
        e.activityTaskStartedEventAttributes?.scheduledEventId ?? e.activityTaskCompletedEventAttributes?.scheduledEventId ?? (scheduled ? e.eventId : undefined) ?? 0,
      );
      if (isLoopActivity(scheduledName.get(refId))) loopBytes += Buffer.byteLength(JSON.stringify(e));
    }
    const turns = final.result?.turns ?? 0;
    console.log(
      JSON.stringify({
        status: final.status,
        turns,
        historyEvents: events.length,
        historyBytes: bytes,
        historyBytesPerTurn: Math.round(bytes / turns),
        agentLoopBytes: loopBytes,
        agentLoopBytesPerTurn: Math.round(loopBytes / turns),
      }),
    );
  } finally {
    await h.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
