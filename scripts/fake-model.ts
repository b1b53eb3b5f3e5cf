/**
 * The tests' scripted fake of the Anthropic Messages API (test/support/fake-model.ts) as a server of
 * its own, to watch whole agent runs without an Anthropic key:
 *
 *   npm run fake-model -- [replies.json]     # then: ANTHROPIC_BASE_URL=http://127.0.0.1:3002 npm run dev
 *
 * replies.json maps a task id to the replies its agents get, in order (ScriptedReply: tool calls,
 * final text, or an HTTP error); any other agent, and one whose replies are used up, is answered
 * "Done.". Listens on FAKE_MODEL_PORT (3002); Ctrl-C stops it.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { FakeModelServer, type ScriptedReply } from '../test/support/fake-model';

/** A start-up refusal: printed as one line, no stack. */
class UsageError extends Error {}

const toolCall = z.strictObject({ name: z.enum(['bash', 'str_replace_based_edit_tool']), input: z.record(z.string(), z.unknown()) });
const common = { delayMs: z.number().int().nonnegative().optional(), outputTokens: z.number().int().nonnegative().optional(), thinking: z.string().optional() };
const reply = z.union([
  z.strictObject({ tools: z.array(toolCall).min(1), text: z.string().optional(), ...common }),
  z.strictObject({ text: z.string(), ...common }),
  z.strictObject({ status: z.number().int().min(100).max(599), body: z.unknown().optional(), headers: z.record(z.string(), z.string()).optional() }),
]);

/**
 * The replies file, checked: a slip in it (a reply misspelt, a task's replies not in a list) was
 * served as "Done." to the agent, whose run then failed NothingToCommit, far from the cause.
 */
function readReplies(file: string): Record<string, ScriptedReply[]> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file} ${err instanceof SyntaxError ? `is not JSON: ${err.message}` : `cannot be read: ${(err as Error).message}`}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UsageError(`${file} must be a JSON object of task ids to lists of replies`);
  for (const [taskId, replies] of Object.entries(json)) {
    if (!Array.isArray(replies)) throw new UsageError(`${file}: ${taskId}: must be a list of replies`);
    for (const [i, r] of replies.entries()) {
      if (!reply.safeParse(r).success) throw new UsageError(`${file}: ${taskId}.${i}: must be { tools, text? }, { text } or { status, body? } (tools: bash or str_replace_based_edit_tool)`);
    }
  }
  return json as Record<string, ScriptedReply[]>;
}

function port(value: string | undefined): number {
  if (value === undefined) return 3002;
  const n = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new UsageError(`FAKE_MODEL_PORT=${JSON.stringify(value)}: must be a port number (1-65535)`);
  return n;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  const listenOn = port(process.env.FAKE_MODEL_PORT);
  const scripts = file ? readReplies(file) : {};
  const fake = new FakeModelServer();
  for (const [taskId, replies] of Object.entries(scripts)) fake.script(taskId, replies);
  const url = await fake.start(listenOn);
  console.log(`fake Messages API on ${url} (scripted tasks: ${Object.keys(scripts).join(', ') || 'none'}); set ANTHROPIC_BASE_URL=${url}`);
  let seen = 0;
  const report = setInterval(() => {
    for (const r of fake.requests.slice(seen)) console.log(`request for task ${r.key}: ${r.body.messages.length} message(s)`);
    seen = fake.requests.length;
  }, 500);
  const stop = () => {
    clearInterval(report);
    void fake.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`fake-model: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
