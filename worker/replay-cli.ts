/**
 * Replays one agentRun history against the current workflow code:
 *
 *   npm run replay -- <workflowId> [--run-id ID] [--save PATH]   (history fetched from Temporal)
 *   npm run replay -- --file history.json [--workflow-id ID]      (a saved or exported history)
 *
 * Exit 0: replay ok. Exit 1: the code does not replay the history (nondeterminism, or a workflow
 * task that fails on replay). Exit 2: usage, configuration, connection or bundling error.
 */
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { loadConfig } from '../config';
import { fetchWorkflowHistory, loadHistoryFile, replayHistories, saveHistory, type NamedHistory } from './replay';

const USAGE = `usage: replay <workflowId> [--run-id ID] [--save PATH]
       replay --file history.json [--workflow-id ID]`;

class UsageError extends Error {}

function parse(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        file: { type: 'string' },
        'run-id': { type: 'string' },
        'workflow-id': { type: 'string' },
        save: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true as const };
  if (positionals.length > 1) throw new UsageError(`one workflow id expected, got ${positionals.length}`);
  const workflowId = positionals[0];
  if (values.file) {
    if (workflowId) throw new UsageError('give either a workflow id or --file, not both');
    if (values['run-id'] || values.save) throw new UsageError('--run-id and --save apply to a history fetched from Temporal, not to --file');
    return { file: values.file, workflowId: values['workflow-id'] };
  }
  if (!workflowId) throw new UsageError('a workflow id or --file is required');
  return { workflowId, runId: values['run-id'], save: values.save };
}

async function loadHistory(args: { file?: string; workflowId?: string; runId?: string; save?: string }): Promise<NamedHistory> {
  if (args.file) return loadHistoryFile(args.file, args.workflowId);
  const config = loadConfig(process.env);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const history = await fetchWorkflowHistory(client, args.workflowId!, args.runId);
    if (args.save) {
      await saveHistory(args.save, history);
      process.stderr.write(`history saved: ${args.save} (${history.events?.length ?? 0} events)\n`);
    }
    return { workflowId: args.workflowId!, history };
  } finally {
    await connection.close();
  }
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`replay: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  if ('help' in args) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const named = await loadHistory(args);
  // Bundler and worker chatter stays out of the output; warnings and errors still show.
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });
  const [outcome] = await replayHistories([named]);
  if (!outcome) throw new Error('the replay worker returned no result');
  if (!outcome.error) {
    process.stdout.write(`replay ok: ${named.workflowId}\n`);
    return 0;
  }
  const kind = outcome.nondeterministic ? 'nondeterminism' : 'replay failed';
  process.stderr.write(`${kind}: ${named.workflowId}\n${outcome.error.name}: ${outcome.error.message}\n`);
  return 1;
}

// Exits explicitly: the SDK's native runtime can keep the event loop alive after a failure.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`replay: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
