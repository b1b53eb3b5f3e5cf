/** The bubblewrap runtime's start-up probe on this host, with the real bwrap; which HOME each runtime gives. */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { localBubblewrapSettings } from '../../test/support/bubblewrap-settings';
import { agentHomes } from '../host/agent-homes';
import { processScratch } from '../host/scratch';
import { createBubblewrapRuntime, createUnsandboxedRuntime } from './runtime';

const settings = localBubblewrapSettings({ maxFileBytes: 1024 * 1024 });
const asRoot = process.getuid?.() === 0;

describe('bubblewrap runtime probe', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'bwrap-runtime-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('runs sandboxes as the sandbox user when it can reach the worktrees', async () => {
    chmodSync(tmp, 0o711);
    const runtime = createBubblewrapRuntime(settings, path.join(tmp, 'worktrees'));
    expect(await runtime.probe()).toEqual({});
    expect(runtime.sandboxUser).toEqual(settings.hostUser);
    expect(statSync(path.join(tmp, 'worktrees')).mode & 0o777).toBe(0o711);
  });

  it('falls back to running bwrap as the worker (with a warning) when a directory above the worktrees is closed to the sandbox user', async () => {
    if (!asRoot) return;
    chmodSync(tmp, 0o700); // like /root
    const runtime = createBubblewrapRuntime(settings, path.join(tmp, 'worktrees'));
    const { warning } = await runtime.probe();
    expect(warning).toContain('the sandbox user uid 1000 cannot run a sandbox over');
    expect(warning).toContain('chmod o+x');
    expect(runtime.sandboxUser).toBeUndefined();
    const worktree = path.join(tmp, 'worktrees', 'a');
    mkdirSync(worktree);
    const res = await runtime.runner(worktree, undefined, { readOnly: false }).run('id -u; echo ok > f; cat f', { timeoutMs: 20_000, maxOutputBytes: 1000 });
    expect(res.output).toBe('1000\nok\n');
  });

  it('warns at start-up when sandboxes cannot have a pids cgroup of their own, and runs them under the shared RLIMIT_NPROC', async () => {
    if (!asRoot) return;
    chmodSync(tmp, 0o711);
    const noCgroups = async () => {
      throw new Error('the pids controller is not available in cgroup /sys/fs/cgroup/x');
    };
    const runtime = createBubblewrapRuntime(settings, path.join(tmp, 'worktrees'), undefined, noCgroups);
    const { warning } = await runtime.probe();
    expect(warning).toContain('sandboxes get no pids cgroup of their own (the pids controller is not available in cgroup /sys/fs/cgroup/x)');
    expect(warning).toContain('RLIMIT_NPROC 4096, counted for uid 1000 across all of them');
    expect(warning).toContain("one agent's fork bomb can keep every other agent's commands and gates on this host from starting");
    const worktree = path.join(tmp, 'worktrees', 'a');
    mkdirSync(worktree);
    chownSync(worktree, 1000, 1000);
    const res = await runtime.runner(worktree, undefined, { readOnly: false }).run('grep processes /proc/self/limits', { timeoutMs: 20_000, maxOutputBytes: 1000 });
    expect(res.output).toMatch(/^Max processes\s+4096\s+4096/);
    // With a cgroup (this host) the uid-wide limit is not set: it would again be one budget for all.
    const withCgroups = createBubblewrapRuntime(settings, path.join(tmp, 'worktrees'));
    expect(await withCgroups.probe()).toEqual({});
    const inCgroup = await withCgroups.runner(worktree, undefined, { readOnly: false }).run('grep processes /proc/self/limits', { timeoutMs: 20_000, maxOutputBytes: 1000 });
    expect(inCgroup.output).not.toMatch(/^Max processes\s+4096\s/);
  });

  it('says how to fix a host without bwrap', async () => {
    const runtime = createBubblewrapRuntime({ ...settings, bwrapPath: 'bwrap' }, tmp);
    await expect(runtime.probe()).rejects.toThrow('bwrap is not installed (not found in PATH)');
  });
});

describe.each(['bubblewrap', 'none'] as const)("the agent's home (%s runtime)", (kind) => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'runtime-home-'));
    chmodSync(tmp, 0o711);
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it("is HOME for the agent's commands and for none of a gate's", async () => {
    const homes = agentHomes(path.join(tmp, 'homes'));
    const scratch = processScratch(path.join(tmp, 'tmp'));
    const runtime = kind === 'none' ? createUnsandboxedRuntime(homes, scratch) : createBubblewrapRuntime(settings, path.join(tmp, 'worktrees'), homes);
    const worktree = path.join(tmp, 'worktrees', 'agent-1');
    mkdirSync(worktree, { recursive: true });
    if (asRoot) chownSync(worktree, 1000, 1000);
    const run = { timeoutMs: 20_000, maxOutputBytes: 1000 };
    const agent = await runtime.runner(worktree, undefined, { readOnly: false }).run('touch "$HOME/planted.npmrc"; echo "$HOME"', run);
    expect(agent.output.trim()).toBe(kind === 'none' ? homes.pathFor('agent-1') : '/home/agent');
    expect(existsSync(path.join(homes.pathFor('agent-1'), 'planted.npmrc'))).toBe(true);
    const gate = await runtime.withRunner({ agentId: 'agent-1', taskId: 'T-1', dir: worktree }, (runner) =>
      runner.run(`echo "$HOME"; ls -A "$HOME"; test -e /home/agent || echo no-agent-home; test -e ${homes.pathFor('agent-1')} || echo no-host-home`, run),
    );
    expect(gate.output).not.toContain('planted.npmrc');
    if (kind === 'bubblewrap') expect(gate.output).toContain('no-agent-home\nno-host-home');
    expect(gate.output.trim().split('\n')[0]).not.toBe(kind === 'none' ? homes.pathFor('agent-1') : '/home/agent');
    if (kind === 'none') {
      // Under the workspace root, where the reaper finds it if the worker dies mid-gate; gone after the gate.
      const gateHome = gate.output.trim().split('\n')[0]!;
      expect(path.relative(path.join(tmp, 'tmp'), gateHome)).toMatch(/^\d+-[0-9a-f]{8}\/agent-1\.gate-home-[0-9a-f]{12}$/);
      expect(existsSync(gateHome)).toBe(false);
    }
    await scratch.close();
  });
});

describe('process budget of a bubblewrap sandbox', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'bwrap-nproc-'));
    chmodSync(tmp, 0o711);
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it("is its own: one agent's fork bomb, holding all it could fork, leaves another agent's command running", async () => {
    if (!asRoot) return; // bwrap runs as the sandbox user only when the worker is root
    // Not uid 1000: other test runs on this host run their sandboxes as uid 1000 at the same time.
    const uid = 40_000 + (process.pid % 20_000);
    const runtime = createBubblewrapRuntime(localBubblewrapSettings({ hostUser: { uid, gid: uid }, maxProcesses: 64 }), path.join(tmp, 'worktrees'));
    await runtime.probe();
    const worktree = (agent: string) => {
      const dir = path.join(tmp, 'worktrees', agent);
      mkdirSync(dir, { recursive: true });
      chownSync(dir, uid, uid);
      return dir;
    };
    const bomber = worktree('agent-bomb');
    const other = worktree('agent-other');
    const stopBomb = new AbortController();
    // Forks until the kernel refuses, says how many it got, then holds them all.
    const bomb = runtime
      .runner(bomber, undefined, { readOnly: false })
      .run(
        `perl -e '$n = 0; while (defined(my $p = fork)) { if (!$p) { sleep 120; exit } $n++ } open(my $f, ">", "full.tmp"); print $f $n; close $f; rename "full.tmp", "full"; sleep 120'`,
        { timeoutMs: 60_000, maxOutputBytes: 4096, signal: stopBomb.signal },
      );
    try {
      const full = path.join(bomber, 'full');
      for (let i = 0; i < 300 && !existsSync(full); i++) await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(full)).toBe(true);
      // As many as its own budget allows, and no more.
      expect(Number(readFileSync(full, 'utf8'))).toBeGreaterThan(50);
      expect(Number(readFileSync(full, 'utf8'))).toBeLessThan(64);
      const res = await runtime.runner(other, undefined, { readOnly: false }).run('sh -c "echo alive"; echo "exit=$?"', { timeoutMs: 20_000, maxOutputBytes: 4096 });
      expect([res.exitCode, res.output]).toEqual([0, 'alive\nexit=0\n']);
    } finally {
      stopBomb.abort();
      await bomb;
    }
    expect((await bomb).aborted).toBe(true);
  });
});
