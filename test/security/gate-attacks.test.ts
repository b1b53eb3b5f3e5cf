/**
 * Attacks on the quality gates' own path, through the agent's tool calls, against a real worker
 * process in both sandbox runtimes: the files the agent writes are what the base's gate command
 * runs or prints, so the agent chooses what a gate outputs, how it behaves when stopped and what
 * the coverage report is. None of it may reach a client's terminal, hide a secret from redaction,
 * make the host read outside the checkout or outlive a kill.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import type { GateResult } from '../../domain/gates';
import { keys } from '../../state/keys';
import { createRemoteRepo, remoteBranches } from '../support/git-fixtures';
import { eventually } from '../support/harness';
import { AGENT_SECRET, agentIdOf, type AttackHarness, bash, MODES, shellGateRepo, useAttackHarness } from './attack-harness';

// eslint-disable-next-line no-control-regex -- what must not be left is control characters
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe.each(MODES)('attacks on the gates through tool calls (%s sandbox)', (mode) => {
  let a!: AttackHarness;
  useAttackHarness(mode, (started) => (a = started));

  const spawnMinimal = (taskId: string, remote: { url: string }, agentId?: string) =>
    a.spawn({
      taskId,
      ...(agentId ? { agentId } : {}),
      repository: remote.url,
      gateProfile: 'minimal',
      maxFeedbackRounds: 0,
      context: { repository: remote.url, branch: 'main', workItems: [], skills: [] },
    });

  async function failedGates(handle: Awaited<ReturnType<typeof spawnMinimal>>, remote: { dir: string }): Promise<GateResult[]> {
    const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = err.cause as { type?: string; details?: { result?: { gates?: GateResult[] } }[] };
    expect(cause.type).toBe('GateFailed');
    expect(remoteBranches(remote.dir)).toEqual(['refs/heads/main']);
    return cause.details?.[0]?.result?.gates ?? [];
  }

  it("escape sequences the gate prints reach no result, and a secret split by one is still redacted", async () => {
    // The base's tests print the agent's report, as a test runner prints the project's messages.
    const remote = createRemoteRepo(
      shellGateRepo({ '.orchestrator/gates.json': JSON.stringify({ gates: { tests: { command: 'cat report.txt; test ! -e broken.txt' } } }) }),
    );
    const taskId = `T-gate-escapes-${mode}`;
    const [head, rest] = [AGENT_SECRET.slice(0, 12), AGENT_SECRET.slice(12)];
    a.h.fakeModel.script(taskId, [
      {
        tools: [
          bash(
            // A clipboard write (OSC 52, ended by ST), a terminal reset, a line erased and a fake verdict; the token split by ESC c.
            `printf 'FAIL suite\\n\\033]52;c;ZXZpbA==\\033\\\\\\033[1A\\033[2K\\b\\b\\bPASS all tests\\ntoken ${head}\\033c${rest}\\n' > report.txt && echo broken > broken.txt`,
          ),
        ],
      },
      { text: 'Done.' },
    ]);
    const handle = await spawnMinimal(taskId, remote);
    const gates = await failedGates(handle, remote);
    expect(gates).toEqual([expect.objectContaining({ name: 'tests', outcome: 'failed', outputTail: expect.stringContaining('FAIL suite') })]);
    const tail = gates[0]!.outputTail!;
    expect(tail).not.toMatch(CONTROL);
    expect(tail).not.toContain(rest);
    // What a client reads of the status: the same results.
    const status = JSON.parse((await a.h.redis.get(keys.agent(agentIdOf(handle)))) ?? '{}') as { result?: { gates?: GateResult[] } };
    expect(JSON.stringify(status.result?.gates ?? gates)).not.toContain(rest);
  });

  it('a long padding file that sorts first hides no change from the AI review: the reviewer sees it, and is told what is cut', async () => {
    const remote = createRemoteRepo(shellGateRepo());
    const taskId = `T-review-padding-${mode}`;
    a.h.fakeModel.script(taskId, [
      { tools: [bash(`yes 'harmless padding line' | head -n 12000 > aaa.txt && mkdir -p src && echo 'require("child_process").exec(process.env.PAYLOAD);' > src/zzz.js`)] },
      { text: 'Done.' },
      { text: 'Only padding.\nVERDICT: REQUEST_CHANGES' },
    ]);
    const handle = await a.spawn({
      taskId,
      repository: remote.url,
      gateProfile: 'custom',
      maxFeedbackRounds: 0,
      context: { repository: remote.url, branch: 'main', workItems: [], skills: [], gates: ['review'] },
    });
    expect((await failedGates(handle, remote)).map((g) => [g.name, g.outcome])).toEqual([['review', 'failed']]);
    const review = JSON.stringify(a.h.fakeModel.requestsFor(taskId)[2]!.body.messages);
    expect(review).toContain('process.env.PAYLOAD');
    expect(review).toContain('What is not shown has not been reviewed');
    expect(review).toContain('more characters of the diff of a/aaa.txt b/aaa.txt are not shown');
  });

  it('a coverage report the tests run links to the host or makes a FIFO is refused unread: the gate fails, nothing blocks', async () => {
    const remote = createRemoteRepo(
      shellGateRepo({
        '.orchestrator/gates.json': JSON.stringify({ gates: { tests: { command: 'sh ./report.sh' } }, coverage: { summaryPath: 'coverage/coverage-summary.json' } }),
      }),
    );
    for (const [name, make] of [
      ['environ', 'ln -s /proc/self/environ coverage/coverage-summary.json'],
      ['shadow', 'ln -s /etc/shadow coverage/coverage-summary.json'],
      ['fifo', 'mkfifo coverage/coverage-summary.json'],
    ] as const) {
      const taskId = `T-coverage-${name}-${mode}`;
      a.h.fakeModel.script(taskId, [{ tools: [bash(`printf 'mkdir -p coverage && ${make}\\n' > report.sh`)] }, { text: 'Done.' }]);
      const handle = await a.spawn({
        taskId,
        repository: remote.url,
        gateProfile: 'custom',
        maxFeedbackRounds: 0,
        context: { repository: remote.url, branch: 'main', workItems: [], skills: [], gates: ['tests', 'coverage'] },
      });
      const gates = await failedGates(handle, remote);
      expect(gates.map((g) => [g.name, g.outcome])).toEqual([
        ['tests', 'passed'],
        ['coverage', 'failed'],
      ]);
      expect(gates[1]!.detail).toMatch(name === 'fifo' ? /is not a regular file/ : /is a symbolic link; links are not followed/);
    }
  });

  it("a FIFO named .gitattributes that one gate's project code leaves in the checkout blocks nothing: the files put back before the next gate are written, it runs, the work is delivered", async () => {
    const gates = { gates: { lint: { command: 'sh ./lint.sh' }, tests: { command: 'test ! -e broken.txt && echo gate-passed' } } };
    // .npmrc is a runner file: it is put back (checkout-index) before each gate command.
    const remote = createRemoteRepo(shellGateRepo({ '.orchestrator/gates.json': JSON.stringify(gates), '.npmrc': 'fund=false\n', 'lint.sh': 'echo lint-passed\n' }));
    const taskId = `T-gate-fifo-attributes-${mode}`;
    a.h.fakeModel.script(taskId, [{ tools: [bash(`printf 'mkfifo .gitattributes && echo planted\\n' > lint.sh && cat lint.sh`)] }, { text: 'Done.' }]);
    const started = Date.now();
    const handle = await a.spawn({
      taskId,
      repository: remote.url,
      gateProfile: 'custom',
      maxFeedbackRounds: 0,
      context: { repository: remote.url, branch: 'main', workItems: [], skills: [], gates: ['lint', 'tests'] },
    });
    const final = await handle.result();
    expect(final.status).toBe('completed');
    expect(final.result?.gates?.map((g) => [g.name, g.outcome, g.outputTail?.trim()])).toEqual([
      ['lint', 'passed', 'planted'],
      ['tests', 'passed', 'gate-passed'],
    ]);
    expect(remoteBranches(remote.dir)).toContain(`refs/heads/${final.result!.branch!}`);
    process.stdout.write(`[${mode}] gate FIFO .gitattributes run completed in ${Date.now() - started} ms\n`);
  });

  it('a kill during a gate that ignores SIGTERM, detaches a process and prints without end stops all of it within seconds', async () => {
    const marker = `gatekill${randomUUID().slice(0, 8)}`;
    const remote = createRemoteRepo(shellGateRepo({ '.orchestrator/gates.json': JSON.stringify({ gates: { tests: { command: 'sh ./suite.sh' } } }) }));
    const taskId = `T-gate-kill-${mode}`;
    const agentId = randomUUID();
    const suite = [
      "trap '' TERM",
      `setsid sh -c "${marker}=1; trap '' TERM; while :; do echo PASS; done" >/dev/null 2>&1 &`,
      'touch gate-running',
      `while :; do echo "PASS ${marker}"; done`,
    ].join('\n');
    a.h.fakeModel.script(taskId, [{ tools: [bash(`cat > suite.sh <<'EOF'\n${suite}\nEOF`)] }, { text: 'Done.' }]);
    const handle = await spawnMinimal(taskId, remote, agentId);
    const checkout = path.join(a.h.workspaceRoot, 'gate-checkouts', agentId);
    await eventually(async () => existsSync(path.join(checkout, 'gate-running')), 120_000, 'the gate to start');
    expect(processesWith(marker).length).toBeGreaterThan(0);

    const t0 = Date.now();
    await handle.signal('kill', { reason: 'gate kill test' });
    const final = await handle.result();
    expect(final.status).toBe('killed');
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(processesWith(marker)).toEqual([]);
    expect(existsSync(checkout)).toBe(false);
    if (mode === 'docker') {
      expect(execFileSync('docker', ['ps', '-aq', '--filter', `label=orchestrator.agentId=${agentId}`]).toString().trim()).toBe('');
    }
  });
});

/** Host processes whose command line names `marker` (a sandbox's processes are host processes too). */
function processesWith(marker: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(marker) && !line.includes('ps -eo'));
}
