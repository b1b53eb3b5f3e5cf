/**
 * Replaying recorded agentRun histories against workflow code: the check that a change to
 * workflows/ keeps running workflows (and the recorded fixtures) deterministic. Used by the
 * replay CLI, the replay test and the script that records the fixtures.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils';
import { Worker, type ReplayResult, type ReplayWorkerOptions } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';

export type { History };

export interface NamedHistory {
  workflowId: string;
  history: History;
}

/** Where the worker's workflows live; replays bundle this unless given a bundle. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/** The history of one workflow execution (the latest run unless `runId` is given). */
export async function fetchWorkflowHistory(client: Client, workflowId: string, runId?: string): Promise<History> {
  return client.workflow.getHandle(workflowId, runId).fetchHistory();
}

/**
 * Proto-JSON text, the format `temporal workflow show --output json` and the Web UI export read
 * and write, with one event per line: compact, and a re-recorded fixture diffs event by event.
 */
export function historyToJson(history: History): string {
  const { events = [], ...rest } = JSON.parse(historyToJSON(history)) as { events?: unknown[] };
  const head = Object.entries(rest).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)},`).join('');
  return `{${head}"events":[\n${events.map((e) => JSON.stringify(e)).join(',\n')}\n]}`;
}

/** Parses proto-JSON history text (as written by {@link saveHistory} or exported by the CLI / Web UI). */
export function historyFromJson(text: string): History {
  const parsed = JSON.parse(text) as unknown;
  if (!parsed || typeof parsed !== 'object' || !Array.isArray((parsed as { events?: unknown }).events)) {
    throw new Error('not a workflow history: expected a JSON object with an "events" array');
  }
  return historyFromJSON(parsed);
}

export async function saveHistory(file: string, history: History): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, historyToJson(history) + '\n');
}

/** Reads a history file; the workflow id (histories do not carry it) defaults to the file's base name. */
export async function loadHistoryFile(file: string, workflowId = path.basename(file, '.json')): Promise<NamedHistory> {
  return { workflowId, history: historyFromJson(await readFile(file, 'utf8')) };
}

/** Every `*.json` history in `dir`, sorted by name. */
export async function loadHistoryDir(dir: string): Promise<NamedHistory[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(files.map((f) => loadHistoryFile(path.join(dir, f))));
}

export interface ReplayOutcome {
  workflowId: string;
  /** Absent when the history replayed cleanly. */
  error?: Error;
  /** The current code issues different commands than the history recorded. */
  nondeterministic: boolean;
}

/**
 * Replays each history in one replay worker and collects one outcome per history (never throws
 * for a failed replay; throws when the worker cannot be built, e.g. the bundle does not compile).
 */
export async function replayHistories(histories: NamedHistory[], options: Partial<ReplayWorkerOptions> = {}): Promise<ReplayOutcome[]> {
  const workerOptions: ReplayWorkerOptions = options.workflowBundle ? options : { workflowsPath: WORKFLOWS_PATH, ...options };
  const outcomes: ReplayOutcome[] = [];
  const results: AsyncIterableIterator<ReplayResult> = Worker.runReplayHistories(workerOptions, histories);
  for await (const r of results) {
    outcomes.push({ workflowId: r.workflowId, error: r.error, nondeterministic: r.error instanceof DeterminismViolationError });
  }
  return outcomes;
}
