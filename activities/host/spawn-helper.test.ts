/**
 * The spawn helper is who forks git and the agent's commands: these run real processes through
 * runProcessGroup with a helper of their own and check what a caller relies on (bytes in and
 * out, exit codes, stops reaching the whole group, a lost helper failing its processes).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { runProcessGroup } from './process-group';
import { SpawnHelper } from './spawn-helper-client';

const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('processes started through the spawn helper', () => {
  let helper: SpawnHelper;
  beforeEach(() => {
    helper = new SpawnHelper();
  });
  afterEach(() => helper.stop());

  const run = (script: string, extra: Partial<Parameters<typeof runProcessGroup>[2]> = {}) => {
    let out = Buffer.alloc(0);
    let err = '';
    const result = runProcessGroup('sh', ['-c', script], {
      env: ENV,
      timeoutMs: 10_000,
      launcher: helper.launch,
      onOutput: (chunk, stream) => {
        if (stream === 'stdout') out = Buffer.concat([out, chunk]);
        else err += chunk.toString();
      },
      ...extra,
    });
    return result.then((r) => ({ ...r, out, err }));
  };

  it('forks from the helper, not from the worker', async () => {
    const r = await run('echo $PPID');
    expect(helper.pid).toBeDefined();
    expect(Number(r.out.toString().trim())).toBe(helper.pid);
    expect(helper.pid).not.toBe(process.pid);
  });

  it('passes stdin, binary stdout, stderr, the working directory and exit codes through unchanged', async () => {
    const input = Buffer.from([0, 1, 2, 255, 254, 10]);
    const r = await run('cat; printf "\\000\\377" ; pwd; echo oops >&2; exit 3', { input, cwd: '/tmp' });
    expect(r.exitCode).toBe(3);
    expect(r.out).toEqual(Buffer.concat([input, Buffer.from([0, 255]), Buffer.from('/tmp\n')]));
    expect(r.err).toBe('oops\n');
    expect(r.stopReason).toBeUndefined();
  });

  it("never hands a process the helper's channel: a command cannot ask the helper to start another", async () => {
    await run('true');
    const env = readFileSync(`/proc/${helper.pid}/environ`, 'utf8').split('\0');
    const channelFd = env.find((e) => e.startsWith('NODE_CHANNEL_FD='))?.split('=')[1];
    expect(channelFd).toBeDefined();
    const channel = readlinkSync(`/proc/${helper.pid}/fd/${channelFd}`);
    expect(channel).toMatch(/^socket:/);
    const r = await run('for f in /proc/self/fd/*; do readlink "$f"; done; env');
    expect(r.out.toString()).not.toContain(channel);
    expect(r.out.toString()).not.toContain('NODE_CHANNEL');
  });

  it('passes on none of the descriptors the worker inherited: a command sees only its stdio', () => {
    // A "worker" started with an extra pipe at fd 3 (not close-on-exec, as a shell or supervisor
    // may leave one); through its helper, `ls` lists its own descriptors.
    const client = path.join(__dirname, 'spawn-helper-client.ts');
    const processGroup = path.join(__dirname, 'process-group.ts');
    const worker = `
      const { SpawnHelper } = require(${JSON.stringify(client)});
      const { runProcessGroup } = require(${JSON.stringify(processGroup)});
      const helper = new SpawnHelper();
      let out = '';
      runProcessGroup('ls', ['-l', '/proc/self/fd/'], { env: { PATH: process.env.PATH }, timeoutMs: 10000, launcher: helper.launch, onOutput: (c) => (out += c) })
        .then(() => { process.stdout.write(out); helper.stop(); });`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', worker], { cwd: path.join(__dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    const fds = [...r.stdout.matchAll(/ (\d+) -> (\S+)/g)].map((m) => ({ fd: Number(m[1]), target: m[2]! }));
    expect(fds.map((f) => f.fd)).toEqual(expect.arrayContaining([0, 1, 2]));
    // Beyond stdio, only the directory `ls` itself opened to list them.
    expect(fds.filter((f) => f.fd > 2).map((f) => f.target)).toEqual([expect.stringMatching(/^\/proc\/\d+\/fd$/)]);
  });

  it('gives the child only the environment it is given', async () => {
    const r = await run('env | sort', { env: { ...ENV, ONLY_THIS: 'yes' } });
    expect(r.out.toString().split('\n').filter((l) => l && !l.startsWith('PWD=') && !l.startsWith('SHLVL=') && !l.startsWith('_='))).toEqual([`ONLY_THIS=yes`, `PATH=${ENV.PATH}`]);
  });

  it('stops the whole group on timeout, a background grandchild included', async () => {
    const r = await run('sleep 30 & echo $!; wait', { timeoutMs: 500 });
    expect(r.stopReason).toBe('timeout');
    const grandchild = Number(r.out.toString().trim());
    await until(() => !alive(grandchild));
  });

  it('stops a process whose run was aborted before the helper reported its pid', async () => {
    const abort = new AbortController();
    abort.abort();
    const r = await run('sleep 30', { signal: abort.signal });
    expect(r.stopReason).toBe('aborted');
  });

  it('escalates to SIGKILL for a process stopped before its pid was known that ignores SIGTERM', async () => {
    const abort = new AbortController();
    abort.abort();
    const r = await run(`trap '' TERM; sleep 30`, { signal: abort.signal });
    expect(r.stopReason).toBe('aborted');
  });

  it('holds a fast writer back while the worker reads slowly, instead of queueing its output in the helper', async () => {
    const total = 100 * 1024 * 1024;
    let pid = 0;
    let bytes = 0;
    let readWhenWriterEnded: number | undefined;
    const r = await runProcessGroup('head', ['-c', String(total), '/dev/zero'], {
      env: ENV,
      timeoutMs: 60_000,
      launcher: helper.launch,
      onSpawn: (p) => (pid = p),
      onOutput: (chunk) => {
        bytes += chunk.length;
        const until = Date.now() + 2; // a busy worker: 2 ms per chunk
        while (Date.now() < until);
        if (readWhenWriterEnded === undefined && pid && !alive(pid)) readWhenWriterEnded = bytes;
      },
    });
    expect(r.exitCode).toBe(0);
    expect(bytes).toBe(total);
    // The writer could only finish once the worker had read nearly everything: what waited in
    // between was the helper's bound (4 MB) and the pipes. Unbounded, it finished at once.
    expect(readWhenWriterEnded ?? total).toBeGreaterThan(total - 16 * 1024 * 1024);
  }, 60_000);

  it('lets an idle helper go, and starts a new one for the next process', async () => {
    const idle = new SpawnHelper({ idleExitMs: 200 });
    try {
      await runProcessGroup('true', [], { env: ENV, timeoutMs: 5000, launcher: idle.launch });
      const first = idle.pid!;
      await until(() => !alive(first));
      expect(idle.pid).toBeUndefined();
      let out = '';
      await runProcessGroup('echo', ['back'], { env: ENV, timeoutMs: 5000, launcher: idle.launch, onOutput: (c) => (out += c.toString()) });
      expect(out).toBe('back\n');
      expect(idle.pid).not.toBe(first);
    } finally {
      idle.stop();
    }
  });

  it('rejects a program that does not exist, with its errno code', async () => {
    await expect(runProcessGroup('/nonexistent/program', [], { env: ENV, timeoutMs: 5000, launcher: helper.launch })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('fails and stops what ran when the helper dies, and starts a new helper for the next process', async () => {
    let pid = 0;
    const pending = runProcessGroup('sh', ['-c', 'sleep 30'], { env: ENV, timeoutMs: 30_000, launcher: helper.launch, onSpawn: (p) => (pid = p) });
    await until(() => pid > 0);
    const first = helper.pid;
    process.kill(first!, 'SIGKILL');
    await expect(pending).rejects.toThrow(/spawn helper exited/);
    await until(() => !alive(pid));
    const r = await run('echo again');
    expect(r.out.toString()).toBe('again\n');
    expect(helper.pid).not.toBe(first);
  });
});
