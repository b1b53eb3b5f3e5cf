/**
 * Attacks on the worker host through the agent's own tool calls (bash and the text editor, as
 * the scripted model asks for them), against a real worker process, in both sandbox runtimes:
 * code run by the host's git, files outside the worktree, a blocked worker, the worker's
 * environment, the disk. A marker file on the host, or a worker secret anywhere the agent or
 * the remote can see, fails the test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { createRemoteRepo, showFile } from '../support/git-fixtures';
import { eventually } from '../support/harness';
import {
  agentIdOf,
  type AttackHarness,
  bash,
  expectNoWorkerSecret,
  MODES,
  remoteObjects,
  remoteRefs,
  runTrail,
  shellGateRepo,
  toolResults,
  useAttackHarness,
} from './attack-harness';

describe.each(MODES)('host escape attempts through tool calls (%s sandbox)', (mode) => {
  let a!: AttackHarness;
  // Whatever the attack, nothing of the agent's may have run on the host, and the worker's log holds no secret.
  useAttackHarness(mode, (started) => (a = started), { WORKSPACE_MAX_MB: '20', WORKSPACE_MAX_FILES: '5000' });
  const editor = (input: Record<string, unknown>) => ({ name: 'str_replace_based_edit_tool' as const, input });

  /**
   * The agent plants nested repositories with `plant`, the commit is refused and the model told
   * why; it then runs `remove` and the run completes. Returns the final result and what the
   * model was told after its first answer.
   */
  const plantNestedRepositories = async (name: string, plant: string, remove: string) => {
    const remote = createRemoteRepo(shellGateRepo());
    const taskId = `T-${name}-${mode}`;
    a.h.fakeModel.script(taskId, [{ tools: [bash(plant)] }, { text: 'Done.' }, { tools: [bash(remove)] }, { text: 'Removed the nested repositories.' }]);
    const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', maxFeedbackRounds: 2 });
    const final = await handle.result();
    expect(final.status).toBe('completed');
    const told = JSON.stringify(a.h.fakeModel.requestsFor(taskId)[2]!.body.messages.at(-1));
    expect(told).toContain('nested git repositories are not allowed in the worktree');
    return { remote, taskId, handle, final, told };
  };

  it('a rewritten .git (promisor remote, ssh command, fsmonitor, hooks, filter and textconv drivers) runs nothing on the host', async () => {
    const m = a.markerDir;
    const remote = createRemoteRepo(shellGateRepo());
    const taskId = `T-dotgit-${mode}`;
    const config = [
      '[core]', '\\trepositoryformatversion = 1', `\\tsshCommand = touch ${m}/ssh`, `\\tfsmonitor = touch ${m}/fsmonitor`, '\\thooksPath = .git/hooks',
      '[extensions]', '\\tpartialClone = origin',
      '[remote "origin"]', '\\turl = ssh://attacker.invalid/x.git', '\\tpromisor = true',
      '[filter "evil"]', `\\tclean = touch ${m}/filter`, `\\tsmudge = touch ${m}/filter`, '\\trequired = true',
      '[diff "evil"]', `\\ttextconv = touch ${m}/textconv`,
    ].join('\\n');
    a.h.fakeModel.script(taskId, [
      {
        tools: [
          bash(
            `rm -f .git && mkdir -p .git/objects .git/refs/heads .git/hooks && printf 'ref: refs/heads/main\\n' > .git/HEAD && printf '${config}\\n' > .git/config && ` +
              `printf '#!/bin/sh\\ntouch ${m}/hook\\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit && ` +
              `printf '* filter=evil diff=evil\\n' > .gitattributes && echo change > change.txt && cat .git/config | head -3`,
          ),
        ],
      },
      { text: 'Done.' },
    ]);
    const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const final = await handle.result();
    expect(final.status).toBe('completed');
    expect(showFile(remote.dir, final.result!.branch!, 'change.txt')).toBe('change');
    expectNoWorkerSecret(await runTrail(a, taskId, handle));
    expectNoWorkerSecret(remoteObjects(remote.dir));
  });

  it('a nested repository (filter driver, fsmonitor, a FIFO for its HEAD) is refused at staging with a message, and never entered', async () => {
    const m = a.markerDir;
    const { remote, taskId, handle, final, told } = await plantNestedRepositories(
      'nested',
      `mkdir -p vendor/lib/.git/objects vendor/lib/.git/refs && printf 'ref: refs/heads/main\\n' > vendor/lib/.git/HEAD && ` +
        `printf '[core]\\n\\tfsmonitor = touch ${m}/nested-fsmonitor\\n[filter "evil"]\\n\\tclean = touch ${m}/nested-filter\\n\\trequired = true\\n' > vendor/lib/.git/config && ` +
        `printf '* filter=evil\\n' > vendor/lib/.gitattributes && echo lib > vendor/lib/a.txt && ` +
        `mkdir -p trap/d/objects trap/d/refs && mkfifo trap/d/HEAD && printf 'gitdir: d\\n' > trap/.git`,
      'rm -rf vendor/lib/.git trap',
    );
    expect(told).toContain('vendor/lib/.git');
    expect(told).toContain('trap/.git');
    expect(showFile(remote.dir, final.result!.branch!, 'vendor/lib/a.txt')).toBe('lib');
    expectNoWorkerSecret(await runTrail(a, taskId, handle));
  });

  it('thirty nested repositories, the last with a FIFO for its HEAD: the checkpoint leaves every one out and blocks on none; staging names them', async () => {
    const { remote, final, told } = await plantNestedRepositories(
      'many-nested',
      'for i in $(seq -w 0 29); do mkdir -p "v/r$i/.git/refs"; done && mkfifo v/r29/.git/HEAD && echo work > work.txt',
      'rm -rf v',
    );
    expect(told).toContain('and 10 more');
    expect(showFile(remote.dir, final.result!.branch!, 'work.txt')).toBe('work');
  });

  it('the editor follows no link: a dangling one, one into /proc, one flipped while it reads', async () => {
    const m = a.markerDir;
    const remote = createRemoteRepo(shellGateRepo());
    const taskId = `T-links-${mode}`;
    const views = Array.from({ length: 25 }, () => editor({ command: 'view', path: 'f/environ' }));
    a.h.fakeModel.script(taskId, [
      {
        tools: [
          bash(`ln -s ${m}/created-through-link x; ln -s /proc/self d; ln -s /proc/self/environ e; mkdir real && echo harmless > real/environ`),
          editor({ command: 'create', path: 'x', file_text: 'pwned' }),
          editor({ command: 'create', path: 'd/new-file', file_text: 'pwned' }),
          editor({ command: 'view', path: 'd/environ' }),
          editor({ command: 'view', path: 'e' }),
          editor({ command: 'str_replace', path: 'e', old_str: 'PATH', new_str: 'X' }),
          editor({ command: 'view', path: '/proc/self/environ' }),
          editor({ command: 'view', path: '../../../../proc/self/environ' }),
        ],
      },
      {
        tools: [
          // A flipper in a session of its own: both runtimes end it with its command, so the views
          // after it read a tree that holds still (editor.test.ts races the editor against one on the host).
          bash(`setsid sh -c 'while :; do ln -sfn /proc/self f; ln -sfn real f; done' >/dev/null 2>&1 & sleep 0.2; echo flipping`),
          ...views,
        ],
      },
      { text: 'Done.' },
    ]);
    const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const final = await handle.result();
    expect(final.status).toBe('completed');
    const results = toolResults(a, taskId);
    expect(results).toContain('x is a symbolic link; links are not followed');
    expect(results).toContain('is outside the workspace');
    expect(results).not.toContain('PATH=');
    expect(results).not.toContain('HOME=');
    const raceResults = a.h.fakeModel.requestsFor(taskId)[2]!.body.messages.at(-1)!.content as { content: string; is_error?: boolean }[];
    expect(raceResults.slice(1).map((r) => r.content).filter((c) => !/harmless|^Error: /.test(c))).toEqual([]);
    expectNoWorkerSecret(await runTrail(a, taskId, handle));
  });

  it('the editor lists a directory of thousands of long names within TOOL_OUTPUT_MAX_BYTES, as it views a file', async () => {
    const remote = createRemoteRepo(shellGateRepo());
    const taskId = `T-big-listing-${mode}`;
    const long = 'n'.repeat(120);
    a.h.fakeModel.script(taskId, [
      {
        tools: [
          bash(`mkdir many && seq 1 3000 | sed 's/^/many\\/${long}/' | xargs touch && ls many | wc -l`),
          editor({ command: 'view', path: 'many' }),
          bash('rm -rf many && echo work > work.txt'),
        ],
      },
      { text: 'Done.' },
    ]);
    const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const final = await handle.result();
    expect(final.status).toBe('completed');
    const results = a.h.fakeModel.requestsFor(taskId)[1]!.body.messages.at(-1)!.content as { content: string }[];
    expect(results[0]!.content).toContain('3000');
    const listing = results[1]!.content;
    expect(Buffer.byteLength(listing)).toBeLessThanOrEqual(a.h.config.TOOL_OUTPUT_MAX_BYTES + 100);
    expect(listing.startsWith(long)).toBe(true);
    expect(listing).toMatch(/\n\[\.\.\. more entries not listed; use bash \(ls, find\) to see them \.\.\.\]$/);
  });

  it('a process that leaves its command (setsid, churning files) is gone before the host reads the worktree: checkpoints, staging and the next command see none of it', async () => {
    const remote = createRemoteRepo(shellGateRepo());
    const taskId = `T-leftover-${mode}`;
    const procs = bash(`sleep 0.3; for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < "$f" 2>/dev/null; echo; done`);
    a.h.fakeModel.script(taskId, [
      { tools: [bash(`setsid sh -c 'while :; do echo x > churn.tmp; rm -f churn.tmp; done' >/dev/null 2>&1 & sleep 0.5; echo churning`)] },
      { tools: [procs, bash('echo work > work.txt')] },
      { text: 'Done.' },
    ]);
    const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const final = await handle.result();
    expect(final.status).toBe('completed');
    const seen = a.h.fakeModel.requestsFor(taskId)[2]!.body.messages.at(-1)!.content as { content: string }[];
    expect(seen[0]!.content).toContain('[exit code 0]');
    expect(seen[0]!.content).not.toContain('churn');
    expect(showFile(remote.dir, final.result!.branch!, 'work.txt')).toBe('work');
  });

  it('named pipes are refused at once and block nothing, also those named .gitignore and .gitattributes that git opens: the run completes, and so does the next one', async () => {
    const remote = createRemoteRepo(shellGateRepo());
    const taskId = `T-fifo-${mode}`;
    a.h.fakeModel.script(taskId, [
      {
        tools: [
          bash('mkfifo p1 p2 p3 p4 .gitignore .gitattributes && mkdir sub && mkfifo sub/.gitignore && echo pipes > pipes.txt && ls'),
          ...['p1', 'p2', 'p3', 'p4'].map((p) => editor({ command: 'view', path: p })),
          editor({ command: 'create', path: 'p1', file_text: 'x' }),
          editor({ command: 'str_replace', path: 'p2', old_str: 'a', new_str: 'b' }),
          editor({ command: 'insert', path: 'p3', insert_line: 0, insert_text: 'x' }),
        ],
      },
      { text: 'Done.' },
    ]);
    const started = Date.now();
    const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const final = await handle.result();
    expect(final.status).toBe('completed');
    expect(toolResults(a, taskId).match(/not a regular file/g)?.length).toBe(7);
    expect(showFile(remote.dir, final.result!.branch!, 'pipes.txt')).toBe('pipes');

    const nextTask = `T-after-fifo-${mode}`;
    a.h.fakeModel.script(nextTask, [{ tools: [editor({ command: 'create', path: 'after.txt', file_text: 'still working\n' })] }, { text: 'Done.' }]);
    const next = await a.spawn({ taskId: nextTask, repository: remote.url, gateProfile: 'minimal' });
    const nextFinal = await next.result();
    expect(nextFinal.status).toBe('completed');
    expect(showFile(remote.dir, nextFinal.result!.branch!, 'after.txt')).toBe('still working');
    process.stdout.write(`[${mode}] FIFO attack run and the next run completed in ${Date.now() - started} ms\n`);
  });

  /** Activity attempts that failed in a run's history (but the turn a kill stops): none means nothing was retried. */
  const failedAttempts = async (handle: Awaited<ReturnType<AttackHarness['spawn']>>) =>
    ((await handle.fetchHistory()).events ?? [])
      .map((e) => e.activityTaskFailedEventAttributes?.failure)
      .filter((f) => f && f.applicationFailureInfo?.type !== 'TurnStopped')
      .map((f) => `${f!.applicationFailureInfo?.type}: ${f!.message}`);

  it('entries git refuses (a tracked file made a FIFO, .GIT, GIT~1) and a working-tree-encoding it cannot apply: checkpoints keep the rest, finishing tells the agent, nothing is retried, and the fixed work is delivered', async () => {
    const remote = createRemoteRepo(shellGateRepo());
    const taskId = `T-refused-${mode}`;
    a.h.fakeModel.script(taskId, [
      {
        tools: [
          bash(
            "echo work > work.txt && rm README.md && mkfifo README.md && mkdir .GIT && echo '[core]' > .GIT/config && mkdir -p sub/GIT~1 && echo x > sub/GIT~1/f && " +
              "printf '*.txt working-tree-encoding=NOPE\\n' > .gitattributes && echo planted",
          ),
        ],
      },
      { text: 'Done.' },
      { tools: [bash('rm .gitattributes && echo attributes-gone')] },
      { text: 'Done again.' },
      { tools: [bash('rm README.md && echo restored > README.md && rm -rf .GIT sub && echo fixed')] },
      { text: 'Fixed.' },
    ]);
    const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal', maxFeedbackRounds: 3 });
    const final = await handle.result();
    expect(final.status).toBe('completed');
    const requests = a.h.fakeModel.requestsFor(taskId);
    const toldFirst = JSON.stringify(requests[2]!.body.messages.at(-1));
    expect(toldFirst).toContain("failed to encode 'work.txt' from NOPE to UTF-8");
    expect(toldFirst).toContain('fix or remove working-tree-encoding attributes');
    const toldThen = JSON.stringify(requests[4]!.body.messages.at(-1));
    expect(toldThen).toContain('git refuses to stage these entries of the worktree');
    for (const entry of ['README.md: can only add regular files', "invalid path '.GIT/config'", "invalid path 'sub/GIT~1/f'"]) expect(toldThen).toContain(entry);
    const branch = final.result!.branch!;
    expect(showFile(remote.dir, branch, 'work.txt')).toBe('work');
    expect(showFile(remote.dir, branch, 'README.md')).toBe('restored');
    // Every tool batch saved its checkpoint at the first attempt, and no step was retried.
    expect(await failedAttempts(handle)).toEqual([]);
  });

  it('a run killed with 1,001 refused names, 1,001 FIFOs named .gitignore, a tracked file made a FIFO and an encoding git cannot apply: the checkpoint blocks on none, the salvage keeps the work', async () => {
    const remote = createRemoteRepo(shellGateRepo());
    const taskId = `T-refused-salvage-${mode}`;
    const fifos = 'for i in $(seq 1001); do mkfifo d$i/.gitignore; done';
    a.h.fakeModel.script(taskId, [
      {
        tools: [
          bash(
            'echo work > work.txt && rm README.md && mkfifo README.md && for i in $(seq 1001); do mkdir -p d$i/.GIT && echo x > d$i/.GIT/f; done && ' +
              `${fifos} && printf '* working-tree-encoding=NOPE\\n' > .gitattributes && echo planted`,
          ),
        ],
      },
      // The checkpoint after the first batch removed those FIFOs: the salvage meets new ones.
      { tools: [bash(`${fifos}; echo wip > wip.txt; sleep 120`)] },
    ]);
    const started = Date.now();
    const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const agentId = agentIdOf(handle);
    await eventually(async () => existsSync(path.join(a.h.workspaceRoot, 'worktrees', agentId, 'wip.txt')), 120_000, 'the second batch to start');
    await handle.signal('kill', { reason: 'salvage what git refuses' });
    const final = await handle.result();
    expect(final.status).toBe('killed');
    expect(final.result?.salvageRef).toBe(`refs/agents/${agentId}/salvage`);
    const salvaged = execFileSync('git', ['-C', remote.dir, 'ls-tree', '-r', '--name-only', final.result!.salvageRef!], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
    expect(salvaged).toEqual(['.gitattributes', '.orchestrator/gates.json', 'README.md', 'wip.txt', 'work.txt']);
    expect(showFile(remote.dir, final.result!.salvageRef!, 'work.txt')).toBe('work');
    expect(await failedAttempts(handle)).toEqual([]);
    process.stdout.write(`[${mode}] refused-names run planted, checkpointed, killed and salvaged in ${Date.now() - started} ms\n`);
  });

  it("a run killed with repositories nested 110 deep in each other's .git, one holding a FIFO named .gitignore: the salvage blocks on none and keeps the work", async () => {
    const remote = createRemoteRepo(shellGateRepo());
    const taskId = `T-nested-chain-salvage-${mode}`;
    // Renamed to plain files for the salvage, each .git is a directory git walks; the chain took one walk per level.
    const chain = 'p=v; for i in $(seq 110); do p=$p/.git/r; done; mkdir -p $p && echo deep > $p/deep.txt';
    // The checkpoint after the first batch removes the FIFO: the salvage meets a new one.
    a.h.fakeModel.script(taskId, [{ tools: [bash(`echo work > work.txt && ${chain} && echo planted`)] }, { tools: [bash('mkfifo v/.git/.gitignore; echo wip > wip.txt; sleep 120')] }]);
    const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const agentId = agentIdOf(handle);
    await eventually(async () => existsSync(path.join(a.h.workspaceRoot, 'worktrees', agentId, 'wip.txt')), 120_000, 'the second batch to start');
    await handle.signal('kill', { reason: 'salvage a nested chain' });
    const final = await handle.result();
    expect(final.status).toBe('killed');
    const salvaged = execFileSync('git', ['-C', remote.dir, 'ls-tree', '-r', '--name-only', final.result!.salvageRef!], { encoding: 'utf8' }).split('\n');
    expect(salvaged).toEqual(expect.arrayContaining(['wip.txt', 'work.txt']));
    expect(salvaged.find((p) => p.endsWith('/deep.txt'))?.split('/.git-disabled-').length).toBe(111);
    // At the first attempt: a salvage that gave up after 100 walks (or blocked) left its retry to finish what it had renamed.
    const attempts = ((await handle.fetchHistory()).events ?? []).map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 1);
    expect(attempts.filter((n) => n > 1)).toEqual([]);
    expect(await failedAttempts(handle)).toEqual([]);
  });

  it("holds no socket of the worker's: a command's descriptors beyond stdio are none of the worker's or its spawn helper's channels", async () => {
    const remote = createRemoteRepo(shellGateRepo());
    const taskId = `T-fds-${mode}`;
    // The shell lists its own descriptors ($$: not a child's); a channel among them could be written to.
    a.h.fakeModel.script(taskId, [
      {
        tools: [
          bash('for f in /proc/$$/fd/*; do n=${f##*/}; echo "fd $n -> $(readlink "$f")"; done; echo probed && echo listed > fds.txt'),
          // Listed by a child shell while this one only waits (no substitution or pipe open in it):
          // exactly what the command was given.
          bash('sh -c "ls -l /proc/\\$PPID/fd/" > /tmp/fdlist; sed -n "s/.* \\([0-9][0-9]*\\) -> .*/given \\1/p" /tmp/fdlist'),
        ],
      },
      { text: 'Done.' },
    ]);
    const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    expect((await handle.result()).status).toBe('completed');
    const results = toolResults(a, taskId);
    expect(results).toContain('probed');
    const fds = [...results.matchAll(/fd (\d+) -> ([^\s\\]+)/g)].map((m) => ({ fd: Number(m[1]), target: m[2]! }));
    expect(fds.map((f) => f.fd)).toEqual(expect.arrayContaining([0, 1, 2]));
    expect(fds.filter((f) => f.fd > 2 && f.target.startsWith('socket:'))).toEqual([]);
    // Under bubblewrap the command descends from the worker's own processes: nothing beyond stdio,
    // so no channel and nothing the worker inherited from what started it. (In a container, docker
    // exec starts it from containerd, and busybox's sh holds a pipe of its own at fd 10.)
    const given = [...results.matchAll(/given (\d+)/g)].map((m) => Number(m[1])).sort();
    if (mode === 'bubblewrap') expect(given).toEqual([0, 1, 2]);
    else expect(given).toEqual(expect.arrayContaining([0, 1, 2]));
  });

  it("the worker's environment is out of reach: /proc of the worker, of pid 1, of every process", async () => {
    const remote = createRemoteRepo(shellGateRepo());
    const taskId = `T-environ-${mode}`;
    a.h.fakeModel.script(taskId, [
      {
        tools: [
          bash('cat /proc/$PPID/environ; echo; cat /proc/1/environ; echo; for f in /proc/[0-9]*/environ; do cat "$f"; echo; done; env; echo "pids=$(ls -d /proc/[0-9]* | wc -l)"'),
          bash('cat /proc/1/cmdline; echo; ls /proc/1/root/ 2>&1 | head; cat /etc/hostname 2>&1; id; echo looked > looked.txt'),
        ],
      },
      { text: 'Done.' },
    ]);
    const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    expect((await handle.result()).status).toBe('completed');
    const results = toolResults(a, taskId);
    expect(results).toMatch(/pids=\d+/);
    expectNoWorkerSecret(results);
    expectNoWorkerSecret(await runTrail(a, taskId, handle));
  });

  it("the agent's home keeps its caches between commands, stays out of the commit and the gate, and goes with the agent without a planted link being followed", async () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), 'home-outside-'));
    writeFileSync(path.join(outside, 'keep.txt'), 'host file\n');
    try {
      const gates = JSON.stringify({ gates: { tests: { command: 'test ! -e "$HOME/.cache/tool/entry" && echo gate-passed' } } });
      const remote = createRemoteRepo(shellGateRepo({ '.orchestrator/gates.json': gates }));
      const taskId = `T-home-${mode}`;
      a.h.fakeModel.script(taskId, [
        { tools: [bash(`mkdir -p ~/.cache/tool && echo warm > ~/.cache/tool/entry && echo change > change.txt && echo "home=$HOME"`)] },
        {
          tools: [
            bash(
              `cat ~/.cache/tool/entry && ln -s ${outside} ~/outside && ln -s ${outside}/keep.txt ~/keep-link && ln -s / ~/root && ` +
                'mkdir -p ~/locked/inner && echo x > ~/locked/inner/f && chmod 000 ~/locked && echo planted',
            ),
          ],
        },
        { text: 'Done.' },
      ]);
      const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
      const final = await handle.result();
      expect(final.status).toBe('completed');
      const results = toolResults(a, taskId);
      expect(results).toContain('home=/home/agent');
      expect(results).toMatch(/warm\\n.*planted/);
      const branch = final.result!.branch!;
      expect(showFile(remote.dir, branch, 'change.txt')).toBe('change');
      expect(execFileSync('git', ['-C', remote.dir, 'ls-tree', '-r', '--name-only', branch], { encoding: 'utf8' })).not.toMatch(/\.cache|entry/);
      // The home went with the agent; the files its links named did not.
      expect(existsSync(path.join(a.h.env.WORKSPACE_ROOT!, 'homes', agentIdOf(handle)))).toBe(false);
      expect(readFileSync(path.join(outside, 'keep.txt'), 'utf8')).toBe('host file\n');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('a home that outgrows WORKSPACE_MAX_MB with the worktree fails the run with a clear reason, also when the data hides in .git directories', async () => {
    const remote = createRemoteRepo(shellGateRepo());
    const taskId = `T-home-disk-${mode}`;
    const hide = 'mkdir -p ~/.git sub/.git && head -c 12000000 /dev/zero > ~/.git/cache.bin; head -c 12000000 /dev/zero > sub/.git/b.bin; ls -l';
    a.h.fakeModel.script(taskId, [{ tools: [bash(hide)] }, { text: 'Done.' }]);
    const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = err.cause as { type?: string; message: string };
    expect(cause.type).toBe('WorkspaceTooLarge');
    // Seen after the batch, or while the command ran if the machine is slow enough to give the guard a tick.
    expect(cause.message).toMatch(/^the worktree and the agent's home hold more than 20 MB (after the last tool batch|while a command ran) \(WORKSPACE_MAX_MB=20\)/);
  });

  it('a worktree that outgrows WORKSPACE_MAX_MB fails the run with a clear reason', async () => {
    const remote = createRemoteRepo(shellGateRepo());
    const taskId = `T-disk-${mode}`;
    a.h.fakeModel.script(taskId, [{ tools: [bash('head -c 15000000 /dev/zero > a.bin; head -c 15000000 /dev/zero > b.bin; ls -l')] }, { text: 'Done.' }]);
    const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = err.cause as { type?: string; message: string };
    expect(cause.type).toBe('WorkspaceTooLarge');
    expect(cause.message).toMatch(/^the worktree holds more than 20 MB (after the last tool batch|while a command ran) \(WORKSPACE_MAX_MB=20\)/);
    expect(agentIdOf(handle)).toBeTruthy();
  });

  it('ignore rules enough to keep the host\'s git busy for minutes per add (a 1 MB .gitignore of wildcards over 3,000 new files) fail the run before any host git reads them', async () => {
    const remote = createRemoteRepo(shellGateRepo());
    const taskId = `T-gitignore-${mode}`;
    const rules = 'i=0; while [ $i -lt 48000 ]; do echo "pat$i*/x$i?.txt"; i=$((i+1)); done > .gitignore';
    a.h.fakeModel.script(taskId, [{ tools: [bash(`${rules}; mkdir d && cd d && seq 1 3000 | xargs touch; wc -c ../.gitignore`)] }, { text: 'Done.' }]);
    const started = Date.now();
    const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = err.cause as { type?: string; message: string };
    expect(cause.type).toBe('WorkspaceTooLarge');
    expect(cause.message).toMatch(/^the worktree's \.gitignore and \.gitattributes files hold \d+ bytes after the batch, over the 262144 the host's git reads/);
    // No git of the host's ran over the rules: with them, each add alone takes seconds of CPU.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(execFileSync('git', ['-C', remote.dir, 'for-each-ref', '--format=%(refname)', 'refs/agents/'], { encoding: 'utf8' })).toBe('');
  }, 120_000);

  // Each file under the size limit, or no bytes at all: only the watch while the command runs stops these before the host's disk is full.
  it.each([
    ['bytes', 'for i in 1 2 3 4 5 6; do head -c 15000000 /dev/zero > f$i.bin; done; sleep 300; touch finished', 'more than 20 MB while a command ran (WORKSPACE_MAX_MB=20)'],
    ['empty files', 'mkdir many && cd many && seq 1 20000 | xargs touch; sleep 300; touch ../finished', 'more than 5000 files and directories while a command ran (WORKSPACE_MAX_FILES=5000)'],
  ])('one command that fills the disk with %s and goes on running is stopped while it runs', async (what, command, message) => {
    const remote = createRemoteRepo(shellGateRepo());
    const taskId = `T-fill-${what.replace(' ', '-')}-${mode}`;
    a.h.fakeModel.script(taskId, [{ tools: [bash(command)] }, { text: 'Done.' }]);
    const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = err.cause as { type?: string; message: string };
    expect(cause.type).toBe('WorkspaceTooLarge');
    expect(cause.message).toBe(`the worktree holds ${message}; the command and the run are stopped`);
    // Stopped, not left to finish: the model was asked once, and the command's last step never ran.
    expect(a.h.fakeModel.requestsFor(taskId)).toHaveLength(1);
  });

  it("a repository whose test script fills the disk is stopped while the gate runs, and the run fails with the reason", async () => {
    const gates = JSON.stringify({ gates: { tests: { command: 'mkdir many && cd many && seq 1 20000 | xargs touch; sleep 300; echo gate-passed' } } });
    const remote = createRemoteRepo(shellGateRepo({ '.orchestrator/gates.json': gates }));
    const taskId = `T-fill-gate-${mode}`;
    a.h.fakeModel.script(taskId, [{ tools: [bash('echo work > work.txt')] }, { text: 'Done.' }]);
    const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = err.cause as { type?: string; message: string };
    expect(cause.type).toBe('WorkspaceTooLarge');
    expect(cause.message).toBe('the gate checkout holds more than 5000 files and directories while a command ran (WORKSPACE_MAX_FILES=5000); the command and the run are stopped');
    // Not delivered: no branch but main (the failed run's work is kept under refs/agents/, as salvage).
    expect(remoteRefs(remote.dir).filter((ref) => ref.startsWith('refs/heads/'))).toEqual(['refs/heads/main']);
  });
});

describe.each(MODES)('an editor path too deep for the host to walk (%s sandbox)', (mode) => {
  let a!: AttackHarness;
  // Answers long enough (32,000 tokens) for a path of 25,000 levels, more than the worker may hold descriptors on this project's machine (20,000).
  useAttackHarness(mode, (started) => (a = started), { AGENT_MAX_TOKENS_PER_TURN: '32000' });
  const editor = (input: Record<string, unknown>) => ({ name: 'str_replace_based_edit_tool' as const, input });

  it('is refused before the host opens a descriptor per level: no EMFILE, and no tree deeper than the host walks is made', async () => {
    const remote = createRemoteRepo(shellGateRepo());
    const taskId = `T-deep-path-${mode}`;
    const deep = `${'a/'.repeat(25_000)}f`;
    const past = `${'b/'.repeat(2049)}f`;
    a.h.fakeModel.script(taskId, [
      {
        tools: [
          editor({ command: 'create', path: deep, file_text: 'x' }),
          editor({ command: 'view', path: deep }),
          editor({ command: 'create', path: past, file_text: 'x' }),
          editor({ command: 'create', path: `${'c/'.repeat(1000)}f`, file_text: 'deep, but a path git can store\n' }),
          bash('echo work > work.txt; ls'),
        ],
      },
      { text: 'Done.' },
    ]);
    const handle = await a.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const outcome = await handle.result().then(
      (final) => final.status,
      (err: WorkflowFailedError) => String((err.cause as Error | undefined)?.message),
    );
    const results = (a.h.fakeModel.requestsFor(taskId)[1]?.body.messages.at(-1)?.content ?? []) as { content: string }[];
    expect(results.slice(0, 4).map((r) => r.content.slice(0, 100))).toEqual([
      'Error: a/a/a/… is 25000 directories deep; paths go at most 2048 deep',
      'Error: a/a/a/… is 25000 directories deep; paths go at most 2048 deep',
      'Error: b/b/b/… is 2049 directories deep; paths go at most 2048 deep',
      `File created: ${'c/'.repeat(43)}`,
    ]);
    expect(results[4]!.content.split('\n').sort()).toEqual(['README.md', '[exit code 0]', 'c', 'work.txt'].sort());
    expect(outcome).toBe('completed');
  });
});
