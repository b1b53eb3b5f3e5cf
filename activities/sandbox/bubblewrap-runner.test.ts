/**
 * The namespace sandbox with the real bwrap: what a command inside can see and reach, and that
 * nothing it starts outlives it.
 */
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { localBubblewrapSettings } from '../../test/support/bubblewrap-settings';
import { agentHomes } from '../host/agent-homes';
import { BubblewrapRunner, probeBubblewrap, visibleSearchPath } from './bubblewrap-runner';

const settings = localBubblewrapSettings();
const opts = { timeoutMs: 20_000, maxOutputBytes: 64_000 };
const asRoot = process.getuid?.() === 0;

describe('BubblewrapRunner', () => {
  let dir: string;
  let runner: BubblewrapRunner;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bwrap-'));
    if (asRoot) chownSync(dir, 1000, 1000);
    runner = new BubblewrapRunner(settings, { hostPath: dir, readOnly: false });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs as uid 1000 in /workspace; what it writes lands in the worktree, owned by the sandbox user', async () => {
    const res = await runner.run('id -u; pwd; echo made > made.txt; exit 4', opts);
    expect(res.exitCode).toBe(4);
    expect(res.output).toBe('1000\n/workspace\n');
    expect(readFileSync(path.join(dir, 'made.txt'), 'utf8')).toBe('made\n');
    if (asRoot) expect(statSync(path.join(dir, 'made.txt')).uid).toBe(1000);
  });

  it('sees no host process, no host environment and no network but loopback', async () => {
    const secret = `host-secret-${Date.now()}`;
    // A "worker" on the host with a secret in its environment.
    const host = spawn('sleep', ['30'], { env: { PATH: '/usr/bin:/bin', HOST_SECRET: secret }, stdio: 'ignore' });
    try {
      const res = await runner.run(
        'echo "pids=$(ls -d /proc/[0-9]* | wc -l)"; cat /proc/*/environ 2>/dev/null | tr "\\0" "\\n"; echo "--env"; env | sort; echo "--net"; tail -n +3 /proc/net/dev | cut -d: -f1; ls /root /home /etc/passwd 2>&1 | head -3',
        opts,
      );
      expect(res.output).not.toContain(secret);
      expect(Number(/pids=(\d+)/.exec(res.output)?.[1])).toBeLessThanOrEqual(6);
      const env = res.output.split('--env\n')[1]!.split('--net\n')[0]!.trim().split('\n');
      // Only what the runner sets, plus what bash itself adds.
      const allowed = new Set(['CI', 'GIT_TERMINAL_PROMPT', 'HOME', 'LANG', 'PATH', 'TERM', 'PWD', 'OLDPWD', 'SHLVL', '_']);
      expect(env.map((l) => l.split('=')[0]).filter((name) => !allowed.has(name!))).toEqual([]);
      expect(res.output.split('--net\n')[1]).toMatch(/^\s*lo\n/);
      expect(res.output).not.toMatch(/eth0|ens\d/);
      expect(res.output).toContain('No such file or directory');
    } finally {
      host.kill('SIGKILL');
    }
  });

  it("with the host's network, resolves names as the host does", async () => {
    const hostAnswer = execFileSync('getent', ['hosts', 'localhost'], { encoding: 'utf8' });
    const shared = new BubblewrapRunner({ ...settings, network: 'host' }, { hostPath: dir, readOnly: false });
    const res = await shared.run('getent hosts localhost; echo "exit=$?"; cat /etc/resolv.conf', opts);
    // Before: exit=2 and no /etc/resolv.conf: the network was shared, yet no name resolved.
    expect(res.output).toContain(`${hostAnswer}exit=0\n`);
    if (existsSync('/etc/resolv.conf')) expect(res.output).toContain(readFileSync('/etc/resolv.conf', 'utf8'));
    // Without it, none of that is there.
    expect((await runner.run('getent hosts localhost; echo "exit=$?"; ls /etc/resolv.conf', opts)).output).toMatch(/exit=2\n.*No such file/s);
  });

  (existsSync('/usr/share/maven/bin/m2.conf') ? it : it.skip)("starts Debian's Maven, whose configuration is in /etc/maven, without Maven's global settings", async () => {
    const res = await runner.run('mvn -v; echo "exit=$?"; cat /etc/maven/settings.xml; ls /etc/java-*-openjdk/management', opts);
    // Before: java.nio.file.NoSuchFileException: /usr/share/maven/bin/m2.conf, exit 1.
    expect(res.output).toMatch(/Apache Maven [\d.]+/);
    expect(res.output).toContain('exit=0\n');
    expect(res.output).toMatch(/settings\.xml: No such file/);
    // Nor JMX's password file: the JDK's management/ stays the host's.
    expect(res.output).toMatch(/management'?: No such file/);
  });

  it('gives bwrap itself (pid 1 inside) an empty environment', async () => {
    const res = await runner.run('tr "\\0" "\\n" < /proc/1/environ | wc -c', opts);
    expect(res.output.trim()).toBe('0');
  });

  it('keeps /usr read-only and a read-only worktree read-only', async () => {
    writeFileSync(path.join(dir, 'keep.txt'), 'original\n');
    const ro = new BubblewrapRunner(settings, { hostPath: dir, readOnly: true });
    const res = await ro.run('echo x > keep.txt; echo x > /usr/pwned; cat keep.txt', opts);
    expect(res.output).toMatch(/Read-only file system/);
    expect(res.output).toContain('original');
    expect(readFileSync(path.join(dir, 'keep.txt'), 'utf8')).toBe('original\n');
  });

  it('stops the command and everything it started, detached or not, on timeout', async () => {
    const tag = `bwrap-orphan-${Date.now()}`;
    const res = await runner.run(`setsid sh -c 'sleep 60 # ${tag}' & nohup sleep 61 & sleep 30`, { ...opts, timeoutMs: 500 });
    expect(res.timedOut).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(execFileSync('ps', ['-eo', 'args']).toString()).not.toContain(tag);
  });

  it('ends background processes when the command exits', async () => {
    const tag = `bwrap-bg-${Date.now()}`;
    const res = await runner.run(`(setsid sleep 45 & echo started) # ${tag}`, opts);
    expect(res.output).toContain('started');
    await new Promise((r) => setTimeout(r, 300));
    expect(execFileSync('ps', ['-eo', 'args']).toString()).not.toContain('sleep 45');
  });

  it('stops when the signal aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const res = await runner.run('sleep 30', { ...opts, signal: ac.signal });
    expect(res.aborted).toBe(true);
    expect(res.durationMs).toBeLessThan(10_000);
  });

  it('limits the size of a file a command writes', async () => {
    const res = await runner.run('head -c 9000000 /dev/zero > big.bin; echo "exit=$?"; wc -c < big.bin', opts);
    expect(res.output).toMatch(/exit=(153|1)\b/); // SIGXFSZ, or the write error
    expect(statSync(path.join(dir, 'big.bin')).size).toBeLessThanOrEqual(settings.maxFileBytes);
  });

  it("holds no more of the host's memory in /dev or / than in /tmp: both are read-only, /dev/shm a tmpfs of /tmp's size", async () => {
    // 16 MB of /tmp in these settings; bwrap's own /dev and root are tmpfs of half the host's memory.
    const res = await runner.run(
      'for i in 1 2 3 4; do head -c 8M /dev/zero > /dev/shm/f$i || break; done; du -sm /dev/shm | cut -f1; ' +
        'for f in /dev/planted /planted /etc/planted; do echo x > $f 2>/dev/null && echo "wrote $f"; done; mkdir /d 2>/dev/null && echo "made /d"; ' +
        'echo ok > /dev/null && echo null-works; echo ok > /tmp/t && echo tmp-works',
      opts,
    );
    expect(res.output).toMatch(/No space left on device/);
    expect(Number(/^(\d+)$/m.exec(res.output)?.[1])).toBeLessThanOrEqual(16);
    expect(res.output).not.toMatch(/wrote|made/);
    expect(res.output).toContain('null-works');
    expect(res.output).toContain('tmp-works');
  });

  it('passes the caller environment and refuses a bad variable name', async () => {
    expect((await runner.run('echo "$npm_config_cache"', { ...opts, env: { npm_config_cache: '/tmp/c' } })).output).toBe('/tmp/c\n');
    await expect(runner.run('true', { ...opts, env: { 'A B': 'x' } })).rejects.toThrow(/invalid environment variable name/);
  });

  it("keeps the agent's home across commands, outside the worktree; a command without one has HOME=/tmp and no /home", async () => {
    const homes = agentHomes(path.join(dir, '..', `${path.basename(dir)}-homes`));
    const agentId = 'agent-home-test';
    const withHome = new BubblewrapRunner(settings, { hostPath: dir, readOnly: false, home: () => homes.ensure(agentId, settings.hostUser) });
    try {
      const first = await withHome.run('echo "$HOME"; mkdir -p ~/.cache/tool && echo warm > ~/.cache/tool/entry && id -u', opts);
      expect(first.output).toBe('/home/agent\n1000\n');
      expect((await withHome.run('cat ~/.cache/tool/entry', opts)).output).toBe('warm\n');
      const onHost = path.join(homes.pathFor(agentId), '.cache/tool/entry');
      expect(readFileSync(onHost, 'utf8')).toBe('warm\n');
      if (asRoot) expect(statSync(onHost).uid).toBe(1000);
      expect(execFileSync('find', [dir, '-name', 'entry']).toString()).toBe('');
      // A gate's runner (no home): nothing of the agent's home, and HOME is the tmpfs.
      expect((await runner.run('echo "$HOME"; ls /home 2>&1 | head -1', opts)).output).toMatch(/^\/tmp\n.*No such file or directory/);
      await homes.remove(agentId);
      expect(existsSync(homes.pathFor(agentId))).toBe(false);
    } finally {
      rmSync(homes.root, { recursive: true, force: true });
    }
  });

  it('passes the start-up probe on this host', async () => {
    await expect(probeBubblewrap(settings, dir)).resolves.toBeUndefined();
    await expect(probeBubblewrap({ ...settings, bwrapPath: '/bin/false' }, dir)).rejects.toThrow(/does not work on this host/);
  });

  it('finds a tool chain outside the standard directories by name when the worker finds it there', async () => {
    expect(visibleSearchPath('/usr/local/go/bin:/root/.cargo/bin:/usr/bin:relative/bin:/usr/local/go/bin/', [])).toEqual(['/usr/local/go/bin']);
    // Below /tmp, where the sandbox has a tmpfs of its own: the mount goes on top of it.
    const tools = mkdtempSync(path.join(os.tmpdir(), 'bwrap-tools-'));
    try {
      mkdirSync(path.join(tools, 'bin'));
      writeFileSync(path.join(tools, 'bin', 'hello-tool'), '#!/bin/sh\necho hello from the tool chain\n');
      chmodSync(path.join(tools, 'bin', 'hello-tool'), 0o755);
      chmodSync(tools, 0o755);
      const hostPath = `${path.join(tools, 'bin')}:/usr/bin`;
      // Not mounted: not on the sandbox's PATH either.
      expect(visibleSearchPath(hostPath, [])).toEqual([]);
      const withTools = { ...settings, readOnlyPaths: [tools], extraPath: visibleSearchPath(hostPath, [tools]) };
      const res = await new BubblewrapRunner(withTools, { hostPath: dir, readOnly: false }).run('hello-tool', opts);
      expect([res.exitCode, res.output]).toEqual([0, 'hello from the tool chain\n']);
      expect((await runner.run('hello-tool', opts)).exitCode).toBe(127);
    } finally {
      rmSync(tools, { recursive: true, force: true });
    }
  });
});
