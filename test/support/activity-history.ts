/** What a workflow's history says about its activities: where each was scheduled, who ran it, what it returned. */
import type { WorkflowHandle } from '@temporalio/client';

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

export interface ActivityRecord {
  type: string;
  taskQueue: string;
  /** Identity of the worker that started the last attempt; undefined when it never started. */
  startedBy?: string;
  result?: unknown;
  /** How it ended: completed, failed, timed-out (with the timeout type), canceled; undefined while open. */
  outcome?: string;
  scheduledAtMs: number;
  startedAtMs?: number;
  /** When its last attempt closed (completed, failed, timed out or canceled). */
  closedAtMs?: number;
}

const decode = (payloads?: { data?: Uint8Array | null }[] | null): unknown => {
  const data = payloads?.[0]?.data;
  return data ? JSON.parse(Buffer.from(data).toString('utf8')) : undefined;
};

const ms = (t?: { seconds?: unknown; nanos?: number | null } | null): number => (t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0);

export async function activityRecords(handle: WorkflowHandle): Promise<ActivityRecord[]> {
  const history = await handle.fetchHistory();
  const bySchedule = new Map<string, ActivityRecord>();
  for (const e of history.events ?? []) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) {
      const a = e.activityTaskScheduledEventAttributes;
      bySchedule.set(id, { type: a.activityType?.name ?? '', taskQueue: a.taskQueue?.name ?? '', scheduledAtMs: ms(e.eventTime) });
      continue;
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const r = bySchedule.get(String(started.scheduledEventId));
      if (r) Object.assign(r, { startedBy: started.identity ?? undefined, startedAtMs: ms(e.eventTime) });
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) Object.assign(bySchedule.get(String(done.scheduledEventId)) ?? {}, { outcome: 'completed', result: decode(done.result?.payloads), closedAtMs: ms(e.eventTime) });
    const failed = e.activityTaskFailedEventAttributes;
    if (failed) Object.assign(bySchedule.get(String(failed.scheduledEventId)) ?? {}, { outcome: 'failed', closedAtMs: ms(e.eventTime) });
    const timedOut = e.activityTaskTimedOutEventAttributes;
    if (timedOut) Object.assign(bySchedule.get(String(timedOut.scheduledEventId)) ?? {}, { outcome: `timed-out ${String(timedOut.failure?.timeoutFailureInfo?.timeoutType ?? '')}`, closedAtMs: ms(e.eventTime) });
    const canceled = e.activityTaskCanceledEventAttributes;
    if (canceled) Object.assign(bySchedule.get(String(canceled.scheduledEventId)) ?? {}, { outcome: 'canceled', closedAtMs: ms(e.eventTime) });
  }
  return [...bySchedule.values()];
}

/** The results of the local activities of `type` the workflow recorded (its marker events), in order. */
export async function localActivityResults(handle: WorkflowHandle, type: string): Promise<unknown[]> {
  return localActivityResultsIn((await handle.fetchHistory()).events ?? [], type);
}

/** The same, from the given events of a fetched history. */
export function localActivityResultsIn(events: HistoryEvent[], type: string): unknown[] {
  return events.flatMap((e) => {
    const details = e.markerRecordedEventAttributes?.details;
    const data = decode(details?.data?.payloads) as { activity_type?: string } | undefined;
    return data?.activity_type === type ? [decode(details?.result?.payloads)] : [];
  });
}

/**
 * A run's whole history as text, every payload's data decoded. `fetchHistory()` gives payloads
 * base64-encoded, so JSON.stringify of it shows failure messages but no activity's input or
 * result, heartbeat or memo: a check that a secret is not in the history must read this instead.
 */
export async function historyText(handle: WorkflowHandle): Promise<string> {
  const history = await handle.fetchHistory();
  return JSON.stringify(history, (key, value: unknown) => (key === 'data' && typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : value));
}
