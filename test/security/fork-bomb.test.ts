/**
 * One agent's fork bomb against the other agents on the same host, through its own tool call,
 * against a real worker process with the bubblewrap sandbox. Every sandbox runs as the same host
 * uid, and RLIMIT_NPROC is counted per uid: the bomb used to take every process the uid may have,
 * and the other agent's commands and gates failed to start until the bomb's timeout. Each command
 * now has a pids cgroup of its own. (Docker gives each container its own pids limit.)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRemoteRepo, showFile } from '../support/git-fixtures';
import { type AttackHarness, bash, shellGateRepo, toolResults, useAttackHarness } from './attack-harness';

describe('a fork bomb in one agent (bubblewrap sandbox)', () => {
  let a!: AttackHarness;
  const asRoot = process.getuid?.() === 0;
  // Not uid 1000: other test runs on this host run their sandboxes as uid 1000 at the same time.
  const uid = String(40_000 + ((process.pid + 13) % 20_000));
  useAttackHarness('bubblewrap', (started) => (a = started), { SANDBOX_UID: uid, SANDBOX_GID: uid, SANDBOX_PIDS_LIMIT: '16' });

  it("holds only its own sandbox's processes: another agent's command and gates run meanwhile", async () => {
    if (!asRoot) return; // not root: bwrap runs as the worker's user, with no process limit to share
    const worktrees = path.join(a.h.env.WORKSPACE_ROOT!, 'worktrees');
    const bombRemote = createRemoteRepo(shellGateRepo());
    a.h.fakeModel.script('T-bomb', [
      {
        tools: [
          bash(`perl -e '$n = 0; while (defined(my $p = fork)) { if (!$p) { sleep 40; exit } $n++ } open(my $f, ">", "full.tmp"); print $f $n; close $f; rename "full.tmp", "full"; sleep 40'`),
        ],
      },
      { text: 'Done.' },
    ]);
    const bomb = await a.spawn({ taskId: 'T-bomb', repository: bombRemote.url, gateProfile: 'minimal' });
    let full: string | undefined;
    for (let i = 0; i < 600 && !full; i++) {
      await new Promise((r) => setTimeout(r, 100));
      full = existsSync(worktrees) ? readdirSync(worktrees).map((d) => path.join(worktrees, d, 'full')).find((f) => existsSync(f)) : undefined;
    }
    expect(full).toBeDefined();
    expect(Number(readFileSync(full!, 'utf8'))).toBeGreaterThan(5);

    // While the bomb holds all it could fork, another agent works and passes its gates.
    const remote = createRemoteRepo(shellGateRepo());
    a.h.fakeModel.script('T-other', [{ tools: [bash('sh -c "echo alive" && echo change > change.txt')] }, { text: 'Changed.' }]);
    const other = await a.spawn({ taskId: 'T-other', repository: remote.url, gateProfile: 'minimal' });
    const final = await other.result();
    expect(toolResults(a, 'T-other')).toContain('alive');
    expect(toolResults(a, 'T-other')).not.toContain('Resource temporarily unavailable');
    expect(final.status).toBe('completed');
    expect(showFile(remote.dir, final.result!.branch!, 'change.txt')).toBe('change');
    // The bomb was still holding all the while: its command had not ended.
    expect((await bomb.describe()).status.name).toBe('RUNNING');
    await bomb.result();
  });
});
