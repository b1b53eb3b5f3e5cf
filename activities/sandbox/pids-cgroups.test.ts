/**
 * Each bubblewrap command's pids cgroup, on this host's real cgroups: where it is found, that it
 * goes when the command ends, and that one a dead worker left is swept while a live one stays.
 */
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { localBubblewrapSettings } from '../../test/support/bubblewrap-settings';
import { launchDirectly } from '../host/launch';
import { runProcessGroup } from '../host/process-group';
import { sharedSpawnHelper } from '../host/spawn-helper-client';
import { BubblewrapRunner, bubblewrapCommand, findExecutable } from './bubblewrap-runner';
import { findPidsHierarchy, prepareSandboxCgroups, sandboxCgroups, type SandboxCgroups } from './pids-cgroups';

const asRoot = process.getuid?.() === 0;
const findExecutableOrFail = (name: string) => {
  const file = findExecutable(name);
  if (!file) throw new Error(`${name} is not installed`);
  return file;
};
const opts = { timeoutMs: 20_000, maxOutputBytes: 4096 };

describe('findPidsHierarchy', () => {
  let proc: string;
  beforeEach(() => {
    proc = mkdtempSync(path.join(os.tmpdir(), 'fake-proc-'));
  });
  afterEach(() => rmSync(proc, { recursive: true, force: true }));
  const write = (mountinfo: string[], cgroup: string[]) => {
    writeFileSync(path.join(proc, 'mountinfo'), `${mountinfo.join('\n')}\n`);
    writeFileSync(path.join(proc, 'cgroup'), `${cgroup.join('\n')}\n`);
  };

  it('takes the v1 pids hierarchy when one is mounted (the controller is then not in v2)', () => {
    write(
      ['30 25 0:26 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids', '31 25 0:27 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw'],
      ['8:pids:/docker/abc', '4:memory:/x', '0::/'],
    );
    expect(findPidsHierarchy(proc)).toEqual({ version: 1, own: '/sys/fs/cgroup/pids/docker/abc' });
  });

  it("takes cgroup v2 otherwise, the worker's cgroup relative to the mount's root", () => {
    write(['40 30 0:35 /system.slice /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate'], ['0::/system.slice/orchestrator\\040worker.service']);
    expect(findPidsHierarchy(proc)).toEqual({ version: 2, own: '/sys/fs/cgroup/orchestrator\\040worker.service' });
    write(['40 30 0:35 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw'], ['0::/']);
    expect(findPidsHierarchy(proc)).toEqual({ version: 2, own: '/sys/fs/cgroup' });
  });

  it('says why when there is none', () => {
    write(['20 1 8:1 / / rw - ext4 /dev/root rw'], ['0::/']);
    expect(findPidsHierarchy(proc)).toMatch(/no cgroup v2 and no cgroup v1 pids hierarchy/);
  });
});

describe('pids cgroups of bubblewrap commands (this host)', () => {
  let tmp: string;
  let worktree: string;
  let cgroups: SandboxCgroups;
  // Not uid 1000: other test runs on this host run their sandboxes as uid 1000 at the same time.
  const uid = 40_000 + ((process.pid + 7) % 20_000);
  const settings = () => localBubblewrapSettings({ hostUser: { uid, gid: uid }, maxProcesses: 32, cgroups });
  /** The sandbox cgroups holding a process of our test uid. */
  const ours = () =>
    readdirSync(cgroups.root)
      .filter((n) => n.startsWith('sb-'))
      .map((n) => path.join(cgroups.root, n))
      .filter((dir) => {
        const pids = (existsSync(dir) ? readFileSync(path.join(dir, 'cgroup.procs'), 'utf8') : '').split('\n').filter(Boolean);
        return pids.some((pid) => {
          try {
            return new RegExp(`^Uid:\\s+${uid}\\b`, 'm').test(readFileSync(`/proc/${pid}/status`, 'utf8'));
          } catch {
            return false;
          }
        });
      });

  beforeAll(async () => {
    if (asRoot) cgroups = await prepareSandboxCgroups();
  });
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'bwrap-cgroup-'));
    chmodSync(tmp, 0o711);
    worktree = path.join(tmp, 'w');
    mkdirSync(worktree);
    chownSync(worktree, uid, uid);
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('holds every process of the command, up to its pids.max, and is gone when the command ends', async () => {
    if (!asRoot) return;
    const runner = new BubblewrapRunner(settings(), { hostPath: worktree, readOnly: false });
    const ac = new AbortController();
    const run = runner.run(`perl -e '$n = 0; while (defined(my $p = fork)) { if (!$p) { sleep 60; exit } $n++ } open(my $f, ">", "full"); print $f $n; close $f; sleep 60'`, { ...opts, signal: ac.signal });
    try {
      for (let i = 0; i < 200 && !existsSync(path.join(worktree, 'full')); i++) await new Promise((r) => setTimeout(r, 50));
      const [group, ...more] = ours();
      expect(more).toEqual([]);
      expect(readFileSync(path.join(group!, 'pids.max'), 'utf8').trim()).toBe('32');
      expect(Number(readFileSync(path.join(group!, 'pids.current'), 'utf8'))).toBe(32);
      // bwrap's sandbox init and perl (the shell execs it) are 2 of the 32; bwrap's own monitor
      // process, which forks nothing, stays outside (the sandbox is moved in once cloned).
      expect(Number(readFileSync(path.join(worktree, 'full'), 'utf8'))).toBe(30);
      ac.abort();
      expect((await run).aborted).toBe(true);
      expect(existsSync(group!)).toBe(false);
    } finally {
      ac.abort();
      await run;
    }
  });

  it('never runs a command outside its cgroup: one that cannot join fails as a sandbox failure, not as its exit code', async () => {
    if (!asRoot) return;
    const gone: SandboxCgroups = {
      ...cgroups,
      make: async (max) => {
        const dir = await cgroups.make(max);
        await cgroups.remove(dir);
        return dir;
      },
    };
    const runner = new BubblewrapRunner({ ...settings(), cgroups: gone }, { hostPath: worktree, readOnly: false });
    await expect(runner.run('touch ran', opts)).rejects.toMatchObject({ type: 'SandboxCommandFailed', message: expect.stringContaining('into its pids cgroup') });
    expect(existsSync(path.join(worktree, 'ran'))).toBe(false);
  });

  it.each([
    ['the spawn helper', () => sharedSpawnHelper().launch],
    ["the worker's direct launcher (the helper's fallback)", () => launchDirectly],
  ])('moves the sandbox into its cgroup before the command runs, through %s', async (_, launcher) => {
    if (!asRoot) return;
    const group = await cgroups.make(32);
    try {
      const { file, args } = bubblewrapCommand(settings(), { hostPath: worktree, readOnly: false }, {
        command: ['/bin/sh', '-c', 'grep pids /proc/self/cgroup'],
        cwd: '/workspace',
        env: {},
        limitProcesses: false,
        joinsCgroup: true,
      });
      let out = '';
      const run = await runProcessGroup(file, args, { env: {}, user: { uid, gid: uid }, cgroup: group, timeoutMs: 20_000, launcher: launcher(), onOutput: (c) => (out += c.toString()) });
      expect(run.exitCode).toBe(0);
      expect(out).toContain(`/${path.basename(group)}`);
      // Not moved: killed before it ran, and the launch fails with ECGROUPJOIN.
      await cgroups.remove(group);
      await expect(runProcessGroup(file, [...args.slice(0, -1), 'touch ran'], { env: {}, user: { uid, gid: uid }, cgroup: group, timeoutMs: 20_000, launcher: launcher() })).rejects.toMatchObject({ code: 'ECGROUPJOIN' });
      expect(existsSync(path.join(worktree, 'ran'))).toBe(false);
    } finally {
      await cgroups.remove(group);
    }
  });

  it('lets a bwrap that fails before it clones end with its own error, not hang on its wait', async () => {
    if (!asRoot) return;
    const group = await cgroups.make(32);
    try {
      let out = '';
      const run = await runProcessGroup(findExecutableOrFail('bwrap'), ['--info-fd', '3', '--block-fd', '4', '--no-such-option', '--', '/bin/true'], { env: {}, cgroup: group, timeoutMs: 10_000, onOutput: (c) => (out += c.toString()) });
      expect(run.stopReason).toBeUndefined();
      expect(run.exitCode).not.toBe(0);
      expect(out).toMatch(/no-such-option/);
    } finally {
      await cgroups.remove(group);
    }
  });

  it("leaves the command none of the descriptors the sandbox was moved through (bwrap's info and block pipes)", async () => {
    if (!asRoot) return;
    const runner = new BubblewrapRunner(settings(), { hostPath: worktree, readOnly: false });
    const res = await runner.run('ls /proc/self/fd; grep pids /proc/self/cgroup', opts);
    expect(res.exitCode).toBe(0);
    // 0-2, and the descriptor ls reads /proc/self/fd through.
    expect(res.output.split('\n').filter((l) => /^\d+$/.test(l)).map(Number)).toEqual([0, 1, 2, 3]);
    expect(res.output).toMatch(/pids:\/(.*\/)?sb-[0-9a-f-]+$/m);
  });

  it("is swept after the worker dies mid-command, while another worker's live one stays", async () => {
    if (!asRoot) return;
    // A "worker" process that runs one long command in its sandbox, then is SIGKILLed.
    const script =
      `const { BubblewrapRunner } = require(${JSON.stringify(require.resolve('./bubblewrap-runner'))});` +
      `const { sandboxCgroups } = require(${JSON.stringify(require.resolve('./pids-cgroups'))});` +
      `const { localBubblewrapSettings } = require(${JSON.stringify(require.resolve('../../test/support/bubblewrap-settings'))});` +
      `const cgroups = sandboxCgroups(${cgroups.version}, ${JSON.stringify(cgroups.root)});` +
      `new BubblewrapRunner(localBubblewrapSettings({ hostUser: { uid: ${uid}, gid: ${uid} }, cgroups }), { hostPath: ${JSON.stringify(worktree)}, readOnly: false })` +
      `.run('touch started; sleep 120', { timeoutMs: 120000, maxOutputBytes: 100 });`;
    const worker = spawn(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: path.resolve(__dirname, '../..'), stdio: 'ignore' });
    const liveDir = path.join(tmp, 'live');
    mkdirSync(liveDir);
    chownSync(liveDir, uid, uid);
    const ac = new AbortController();
    const live = new BubblewrapRunner(settings(), { hostPath: liveDir, readOnly: false }).run('touch started; sleep 60; echo survived', { ...opts, signal: ac.signal });
    try {
      for (let i = 0; i < 300 && !(existsSync(path.join(worktree, 'started')) && existsSync(path.join(liveDir, 'started'))); i++) await new Promise((r) => setTimeout(r, 50));
      const both = ours();
      expect(both).toHaveLength(2);
      worker.kill('SIGKILL');
      // Its sandbox dies with it (the spawn helper exits with the worker, bwrap with the helper).
      let left: string[] = both;
      for (let i = 0; i < 100 && left.length > 1; i++) {
        await new Promise((r) => setTimeout(r, 100));
        left = ours();
      }
      expect(left).toHaveLength(1);
      const dead = both.find((d) => d !== left[0])!;
      expect(existsSync(dead)).toBe(true); // nobody removed it
      const removed = await sandboxCgroups(cgroups.version, cgroups.root, { sweepMinAgeMs: 0 }).sweep();
      expect(removed).toBeGreaterThanOrEqual(1);
      expect(existsSync(dead)).toBe(false);
      expect(existsSync(left[0]!)).toBe(true);
      // A young empty one is not swept by default: another worker may have made it and not joined it yet.
      const fresh = await cgroups.make(8);
      await cgroups.sweep();
      expect(existsSync(fresh)).toBe(true);
      expect(await cgroups.remove(fresh)).toBe(true);
    } finally {
      worker.kill('SIGKILL');
      ac.abort();
      await live;
    }
  });
});

describe('prepareSandboxCgroups', () => {
  it('refuses a parent that is no cgroup (SANDBOX_CGROUP_PARENT on a plain file system): writes there would limit nothing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'not-a-cgroup-'));
    try {
      await expect(prepareSandboxCgroups(dir, { version: 1, own: '/sys/fs/cgroup/pids' })).rejects.toThrow(`${dir} is not a cgroup`);
      await expect(prepareSandboxCgroups(dir, { version: 2, own: '/sys/fs/cgroup' })).rejects.toThrow(`${dir} is not a cgroup`);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
