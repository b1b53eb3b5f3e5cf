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
import { FakeModelServer, type ScriptedReply } from '../test/support/fake-model';

async function main(): Promise<void> {
  const file = process.argv[2];
  const scripts = file ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, ScriptedReply[]>) : {};
  const fake = new FakeModelServer();
  for (const [taskId, replies] of Object.entries(scripts)) fake.script(taskId, replies);
  const url = await fake.start(Number(process.env.FAKE_MODEL_PORT ?? 3002));
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
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
