/**
 * Runs against the real Docker engine on /var/run/docker.sock with the busybox test image.
 * Every container gets a fresh agent id and is removed after its test.
 */
import { randomUUID } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import type { SandboxInfo } from '../../domain/agent';
import { PathOutsideWorkspaceError } from '../host/paths';
import type { CommandRunner, RunOptions } from '../tools/runner';
import type { SandboxConfig } from './config';
import { createDockerSandbox, type DockerSandbox } from './docker-sandbox';
import { SandboxGoneError, SandboxImageMissingError, SandboxUnavailableError } from './errors';
import { ensureTestImage, TEST_IMAGE } from '../../test/support/sandbox-test-image';

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const baseConfig: SandboxConfig = {
  image: TEST_IMAGE,
  memoryMb: 64,
  cpus: 1,
  pidsLimit: 64,
  tmpfsMb: 16,
  network: 'none',
  gracefulStopTimeoutSeconds: 2,
  deployment: `default/sandbox-test-${process.pid}`,
};
const opts: RunOptions = { timeoutMs: 20_000, maxOutputBytes: 20_000 };
const AGENT_UID = 1000;

const usedAgentIds: string[] = [];
const worktrees: string[] = [];

/** A worktree owned by uid/gid 1000, as the workspace module would leave it for a non-root agent. */
function makeWorktree(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sandbox-worktree-'));
  chownSync(dir, AGENT_UID, AGENT_UID);
  worktrees.push(dir);
  return dir;
}

async function startAgent(
  sandbox: DockerSandbox,
  workspacePath = makeWorktree(),
): Promise<{ info: SandboxInfo; agentId: string; workspacePath: string }> {
  const agentId = randomUUID();
  usedAgentIds.push(agentId);
  const info = await sandbox.start({ agentId, taskId: 'T-test', workspacePath });
  return { info, agentId, workspacePath };
}

async function processList(runner: CommandRunner): Promise<string> {
  return (await runner.run('ps -o pid,args', opts)).output;
}

async function containerExists(id: string): Promise<boolean> {
  try {
    await docker.getContainer(id).inspect();
    return true;
  } catch {
    return false;
  }
}

const sandbox = createDockerSandbox(docker, baseConfig);

beforeAll(async () => {
  await ensureTestImage();
});

afterEach(async () => {
  const ids = usedAgentIds.splice(0);
  await Promise.all(ids.map((id) => sandbox.removeAgentContainers(id)));
});

afterAll(() => {
  for (const dir of worktrees.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('a command in the sandbox', () => {
  let runner: CommandRunner;
  let info: SandboxInfo;
  let workspacePath: string;
  let agentId: string;

  beforeAll(async () => {
    const started = await startAgent(sandbox);
    // Kept for the whole block: remove it from the per-test cleanup list.
    usedAgentIds.splice(usedAgentIds.indexOf(started.agentId), 1);
    ({ agentId, workspacePath, info } = started);
    runner = sandbox.runner(info);
  });
  afterAll(async () => {
    await sandbox.removeAgentContainers(agentId);
  });

  it('runs in its own container, as the worktree owner, in /workspace', async () => {
    const res = await runner.run('hostname; id -u; id -g; pwd; echo "home=$HOME"', opts);
    const [hostname, uid, gid, pwd, home] = res.output.trim().split('\n');
    expect(res.exitCode).toBe(0);
    expect(hostname).not.toBe(os.hostname());
    expect(uid).toBe(String(AGENT_UID));
    expect(gid).toBe(String(AGENT_UID));
    expect(pwd).toBe('/workspace');
    expect(home).toBe('home=/workspace');
    expect(runner.workspaceDir).toBe('/workspace');
  });

  it('limits the size of a file a command writes (WORKSPACE_MAX_MB), as bubblewrap does', async () => {
    const limited = createDockerSandbox(docker, { ...baseConfig, maxFileBytes: 1024 * 1024 });
    const { info, workspacePath } = await startAgent(limited);
    const res = await limited.runner(info).run('head -c 3000000 /dev/zero > big.bin; echo "exit=$?"', opts);
    expect(res.output).toMatch(/exit=(153|1)\b/); // SIGXFSZ, or the write error
    expect(statSync(path.join(workspacePath, 'big.bin')).size).toBeLessThanOrEqual(1024 * 1024);
  });

  it('keeps no log of the container on the host: writing to PID 1\'s output fills nothing', async () => {
    // With docker's default json-file driver, these 5 MB became a 24 MB log under /var/lib/docker, outside every budget.
    const res = await runner.run('head -c 5000000 /dev/zero > /proc/1/fd/1; echo "exit=$?"', opts);
    expect(res.output).toMatch(/exit=\d+/);
    const inspected = await docker.getContainer(info.containerId).inspect();
    expect(inspected.HostConfig.LogConfig?.Type).toBe('none');
    expect(inspected.LogPath).toBe('');
  });

  it('cannot write to the root filesystem', async () => {
    const res = await runner.run('echo x > /owned; echo x > /bin/owned', opts);
    expect(res.exitCode).not.toBe(0);
    expect(res.output).toMatch(/Read-only file system/);
  });

  it('writes to /workspace land in the worktree on the host, owned by its owner', async () => {
    const res = await runner.run('mkdir -p sub && echo hello > sub/out.txt', opts);
    expect(res.exitCode).toBe(0);
    expect(readFileSync(path.join(workspacePath, 'sub/out.txt'), 'utf8')).toBe('hello\n');
  });

  it('runs in a subdirectory given as cwd and refuses one outside /workspace', async () => {
    mkdirSync(path.join(workspacePath, 'pkg'));
    const res = await runner.run('pwd', { ...opts, cwd: 'pkg' });
    expect(res.output.trim()).toBe('/workspace/pkg');
    await expect(runner.run('pwd', { ...opts, cwd: '../etc' })).rejects.toThrow(PathOutsideWorkspaceError);
    await expect(runner.run('pwd', { ...opts, cwd: '/etc' })).rejects.toThrow(PathOutsideWorkspaceError);
  });

  it('has no network: only loopback, and connections fail', async () => {
    expect((await runner.run('ls /sys/class/net', opts)).output).toBe('lo\n');
    const wget = await runner.run('wget -T 3 -q -O- http://1.1.1.1/', opts);
    expect(wget.exitCode).not.toBe(0);
    const nc = await runner.run('nc -w 3 8.8.8.8 53 </dev/null', opts);
    expect(nc.exitCode).not.toBe(0);
    expect(nc.output).toContain('Network is unreachable');
  });

  it('reports the exit code, interleaves stderr and passes extra environment', async () => {
    const res = await runner.run('echo out; echo err >&2; echo "$GREETING"; exit 3', {
      ...opts,
      env: { GREETING: 'hi' },
    });
    expect(res.exitCode).toBe(3);
    expect(res.output).toContain('out\n');
    expect(res.output).toContain('err\n');
    expect(res.output).toContain('hi\n');
    expect(res).toMatchObject({ timedOut: false, aborted: false, truncated: false, oomKilled: false });
  });

  it('keeps head and tail of oversized output', async () => {
    const res = await runner.run('echo START; seq 1 100000; echo END', { ...opts, maxOutputBytes: 1000 });
    expect(res.truncated).toBe(true);
    expect(res.output.startsWith('START')).toBe(true);
    expect(res.output.trimEnd().endsWith('END')).toBe(true);
    expect(res.output.length).toBeLessThan(1200);
  });

  it('calls onProgress while the command runs', async () => {
    const progressRunner = sandbox.runner(info, { progressIntervalMs: 100 });
    let ticks = 0;
    await progressRunner.run('sleep 1', { ...opts, onProgress: () => ticks++ });
    expect(ticks).toBeGreaterThanOrEqual(5);
  });

  it('stops a command that outlives its timeout, with its children', async () => {
    const res = await runner.run('(sleep 41; touch late) & sleep 42', { ...opts, timeoutMs: 500 });
    expect(res.timedOut).toBe(true);
    expect(res.exitCode).not.toBe(0);
    expect(res.durationMs).toBeLessThan(5000);
    const ps = await processList(runner);
    expect(ps).not.toContain('sleep 41');
    expect(ps).not.toContain('sleep 42');
  });

  it('stops a command when its signal aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const res = await runner.run('sleep 43', { ...opts, signal: ac.signal });
    expect(res.aborted).toBe(true);
    expect(res.timedOut).toBe(false);
    expect(res.durationMs).toBeLessThan(5000);
    expect(await processList(runner)).not.toContain('sleep 43');
  });

  it('kills a command that ignores SIGTERM after the grace period', async () => {
    const res = await runner.run("trap '' TERM; sleep 44; sleep 44", { ...opts, timeoutMs: 300 });
    expect(res.timedOut).toBe(true);
    expect(res.exitCode).toBe(137);
    expect(res.oomKilled).toBe(false);
    expect(await processList(runner)).not.toContain('sleep 44');
  });

  it('leaves the worktree alone after a command: a file named like a process state survives the sweep, whose PID file goes', async () => {
    await runner.run('for f in S R D T Z; do echo kept > $f; done', opts);
    await runner.run('true', opts);
    expect(readdirSync(workspacePath).sort()).toEqual(expect.arrayContaining(['D', 'R', 'S', 'T', 'Z']));
    // Only the PID file of the command that lists them.
    expect((await runner.run("ls -a /tmp | grep -c '^\\.exec-.*\\.pid$'", opts)).output).toBe('1\n');
  });

  it('leaves nothing behind that the command started in the background', async () => {
    const res = await runner.run('sleep 45 >/dev/null 2>&1 & echo started', opts);
    expect(res.output).toBe('started\n');
    expect(await processList(runner)).not.toContain('sleep 45');
  });

  it('leaves nothing behind that left its process group: setsid, a double-forked daemon, a forking loop, a name that fakes /proc/PID/stat', async () => {
    const res = await runner.run(
      [
        'setsid sleep 46 >/dev/null 2>&1 &',
        '(setsid sh -c "sleep 47" >/dev/null 2>&1 &) &',
        'setsid sh -c "while :; do sleep 48 & sleep 0.01; done" >/dev/null 2>&1 &',
        // comm "x) S 1 1 1 1": a parser that stops at the first ") " reads session 1, the keep-alive's.
        'ln -sf /bin/sleep "/tmp/x) S 1 1 1 1" && setsid "/tmp/x) S 1 1 1 1" 49 >/dev/null 2>&1 &',
        'sleep 0.3; echo started',
      ].join('\n'),
      opts,
    );
    expect(res.output).toBe('started\n');
    const ps = await processList(runner);
    for (const left of ['sleep 46', 'sleep 47', 'sleep 48', 'while :', ' 49']) expect(ps).not.toContain(left);
    // The container's own processes are spared: it keeps serving.
    expect(ps).toMatch(/^\s*1 \S*docker-init -- sleep infinity$/m);
    expect((await runner.run('echo alive', opts)).output).toBe('alive\n');
  });
});

describe('limits', () => {
  it('kills a command that allocates past the memory limit and reports it as OOM', async () => {
    const { info } = await startAgent(sandbox);
    const runner = sandbox.runner(info);
    // busybox tail keeps the whole (newline-free) 200 MB line in memory.
    const res = await runner.run('head -c 200m /dev/zero | tail', opts);
    expect(res.exitCode).toBe(137);
    expect(res.oomKilled).toBe(true);
    // Only the command died; the container keeps serving.
    expect((await runner.run('echo alive', opts)).output).toBe('alive\n');
  });

  it('stops a fork bomb at the pids limit; the container survives', async () => {
    const { info } = await startAgent(sandbox);
    const runner = sandbox.runner(info);
    // The classic bomb; the trailing sleep keeps the command alive until the timeout stops it
    // (should its fork lose the race to the bomb, busybox sh gives up with exit 2 instead).
    const res = await runner.run('f(){ f|f& }; f; sleep 20', { ...opts, timeoutMs: 3000 });
    expect(res.exitCode).not.toBe(0);
    expect(res.durationMs).toBeLessThan(10_000);
    expect(res.output).toMatch(/can't fork|Resource temporarily unavailable/);
    const after = await runner.run('echo alive; ps -o pid | wc -l', opts);
    expect(after.output.startsWith('alive\n')).toBe(true);
    // docker-init, sleep infinity, this shell, ps, wc and the header: nothing of the bomb is left.
    expect(Number(after.output.split('\n')[1])).toBeLessThan(10);
  });
});

describe('a fork bomb in a session of its own', () => {
  // The default pids limit: the bomb refills every slot a kill frees, more than 64 allow.
  const roomy = createDockerSandbox(docker, { ...baseConfig, memoryMb: 1024, pidsLimit: 256, cpus: 2 });

  it('is gone when its command returns, every time: nothing of it runs between commands, while the host reads the directory', async () => {
    const { info } = await startAgent(roomy);
    const runner = roomy.runner(info);
    const container = docker.getContainer(info.containerId);
    try {
      for (let i = 0; i < 6; i++) {
        // What the command itself prints depends on whether it still finds a free pid for its sleep.
        await runner.run("setsid sh -c 'h(){ while :; do h & done; }; h' >/dev/null 2>&1 & sleep 1; echo started", { ...opts, timeoutMs: 60_000 });
        // docker-init and sleep infinity only, seen from the host (an exec would need a free pid); a zombie runs nothing.
        const commands = ((await container.top()).Processes as string[][]).map((p) => p.at(-1)!);
        expect(commands.filter((c) => !c.endsWith('<defunct>'))).toEqual(['/sbin/docker-init -- sleep infinity', 'sleep infinity']);
      }
    } finally {
      await roomy.stop(info);
    }
  }, 300_000);
});

describe('graceful stop', () => {
  it('stops a container that honours SIGTERM well before the timeout', async () => {
    const { info } = await startAgent(sandbox);
    // docker-init is PID 1 and forwards SIGTERM to `sleep infinity`.
    expect(await processList(sandbox.runner(info))).toMatch(/^\s*1 \S*docker-init -- sleep infinity$/m);
    const result = await sandbox.stop(info);
    expect(result).toMatchObject({ stopped: true, forced: false, oomKilled: false, alreadyExited: false });
    // Ended by SIGTERM, not by the SIGKILL that follows the timeout.
    expect(result.exitCode).not.toBe(137);
    expect(await containerExists(info.containerId)).toBe(false);
  });

  it('removes a container that ignores SIGTERM once the timeout has passed', async () => {
    const stubborn = createDockerSandbox(docker, {
      ...baseConfig,
      keepAliveCommand: ['sh', '-c', "trap '' TERM; while :; do sleep 1; done"],
    });
    const { info } = await startAgent(stubborn);
    const t0 = Date.now();
    const result = await stubborn.stop(info);
    const elapsed = Date.now() - t0;
    expect(result).toMatchObject({ stopped: true, forced: false, exitCode: 137 });
    // SIGKILL came only after the 2 s the container was given.
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    expect(await containerExists(info.containerId)).toBe(false);
  });

  it('is idempotent and reports a container that had already crashed', async () => {
    const crashing = createDockerSandbox(docker, { ...baseConfig, keepAliveCommand: ['sh', '-c', 'exit 3'] });
    const { info } = await startAgent(crashing);
    await docker.getContainer(info.containerId).wait();
    expect(await crashing.stop(info)).toMatchObject({ stopped: true, alreadyExited: true, exitCode: 3 });
    expect(await crashing.stop(info)).toEqual({ stopped: false, forced: false, oomKilled: false, alreadyExited: false });
  });
});

describe('finding and removing managed containers', () => {
  it('reaps the container of a closed agent and keeps the one of a live agent', async () => {
    const closed = await startAgent(sandbox);
    const live = await startAgent(sandbox);
    const reaped = await sandbox.reap(async (agentId) => agentId === closed.agentId);
    expect(reaped).toBe(1);
    const agents = (await sandbox.listManaged()).map((c) => c.agentId);
    expect(agents).not.toContain(closed.agentId);
    expect(agents).toContain(live.agentId);
  });

  it('lists managed containers with their agent, task and state', async () => {
    const { agentId, info } = await startAgent(sandbox);
    const entry = (await sandbox.listManaged()).find((c) => c.agentId === agentId);
    expect(entry).toEqual({
      containerId: info.containerId,
      name: info.containerName,
      agentId,
      taskId: 'T-test',
      host: '',
      state: 'running',
    });
  });

  it('never touches another deployment\'s containers on a shared engine', async () => {
    const other = createDockerSandbox(docker, { ...baseConfig, deployment: `other/queue-${process.pid}` });
    const theirs = await startAgent(other);
    try {
      // Their workflow is unknown to us: our reaper would remove it if it were ours.
      expect(await sandbox.reap(async () => true)).toBeGreaterThanOrEqual(0);
      expect(await containerExists(theirs.info.containerId)).toBe(true);
      expect((await sandbox.listManaged()).map((c) => c.agentId)).not.toContain(theirs.agentId);
      expect(await sandbox.removeAgentContainers(theirs.agentId)).toBe(0);
      expect(await containerExists(theirs.info.containerId)).toBe(true);
    } finally {
      await other.removeAgentContainers(theirs.agentId);
    }
  });

  it('mounts a reviewer\'s worktree read-only', async () => {
    const workspacePath = makeWorktree();
    const agentId = randomUUID();
    usedAgentIds.push(agentId);
    const info = await sandbox.start({ agentId, taskId: 'T-review', workspacePath, readOnly: true });
    const res = await sandbox.runner(info).run('echo x > /workspace/f 2>&1; echo "exit=$?"', opts);
    expect(res.output).toMatch(/Read-only file system/);
    expect(await containerExists(info.containerId)).toBe(true);
  });

  it("gives each host its own container for an agent that moved; a live run's stay, a closed run's go whichever host made them", async () => {
    const onX = createDockerSandbox(docker, { ...baseConfig, hostId: 'host-x' });
    const onY = createDockerSandbox(docker, { ...baseConfig, hostId: 'host-y' });
    const x = await startAgent(onX);
    const agentId = x.agentId;
    const y = await onY.start({ agentId, taskId: 'T-test', workspacePath: makeWorktree() });
    expect(y.containerId).not.toBe(x.info.containerId);
    expect([x.info.containerName, y.containerName]).toEqual([`orchestrator-agent-${agentId}.host-x`, `orchestrator-agent-${agentId}.host-y`]);
    expect((await onX.listManaged()).filter((c) => c.agentId === agentId).map((c) => c.host).sort()).toEqual(['host-x', 'host-y']);

    // The run is live (it moved to host-y): host-y's reaper leaves host-x's container, and its own.
    expect(await onY.reap(async () => false)).toBe(0);
    expect(await containerExists(x.info.containerId)).toBe(true);
    expect(await containerExists(y.containerId)).toBe(true);

    // The run is closed and host-x is gone for good (no worker uses its id): host-y removes both.
    expect(await onY.reap(async (id) => id === agentId)).toBe(2);
    expect(await containerExists(x.info.containerId)).toBe(false);
    expect(await containerExists(y.containerId)).toBe(false);
  });

  it('removes every container of an agent by label', async () => {
    const { agentId, info } = await startAgent(sandbox);
    expect(await sandbox.removeAgentContainers(agentId)).toBe(1);
    expect(await containerExists(info.containerId)).toBe(false);
    expect(await sandbox.removeAgentContainers(agentId)).toBe(0);
  });
});

describe('container hardening', () => {
  it('puts nothing secret into the container: no host environment, no docker socket, no privileges', async () => {
    const fakeKey = 'sk-ant-api03-test-0123456789abcdefghijklmnopqrstuvwxyz';
    process.env.CLAUDE_API_KEY = fakeKey;
    try {
      const { info } = await startAgent(sandbox);
      const inspected = await docker.getContainer(info.containerId).inspect();
      const json = JSON.stringify(inspected);
      expect(json).not.toContain(fakeKey);
      expect(json).not.toContain('docker.sock');
      expect(inspected.Config.Env.map((e) => e.split('=')[0]).sort()).toEqual(['HOME', 'LANG', 'PATH']);
      expect(inspected.Mounts.map((m) => m.Destination)).toEqual(['/workspace']);
      expect(inspected.HostConfig.Privileged).toBe(false);
      expect(inspected.HostConfig.CapDrop).toEqual(['ALL']);
      expect(inspected.HostConfig.ReadonlyRootfs).toBe(true);
      expect(inspected.HostConfig.SecurityOpt).toEqual(['no-new-privileges']);
      expect(inspected.HostConfig.NetworkMode).toBe('none');
      expect(inspected.HostConfig.MemorySwap).toBe(inspected.HostConfig.Memory);
      const env = await sandbox.runner(info).run('env', opts);
      expect(env.output).not.toContain(fakeKey);
    } finally {
      delete process.env.CLAUDE_API_KEY;
    }
  });
});

describe('start', () => {
  it('is idempotent: a retried or concurrent start returns the same container', async () => {
    const workspacePath = makeWorktree();
    const agentId = randomUUID();
    usedAgentIds.push(agentId);
    const input = { agentId, taskId: 'T-test', workspacePath };
    const first = await sandbox.start(input);
    const [second, third] = await Promise.all([sandbox.start(input), sandbox.start(input)]);
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    expect((await sandbox.listManaged()).filter((c) => c.agentId === agentId)).toHaveLength(1);
  });

  it('starts the container again when a retry finds it stopped', async () => {
    const { info, agentId, workspacePath } = await startAgent(sandbox);
    await docker.getContainer(info.containerId).stop({ t: 0 });
    const again = await sandbox.start({ agentId, taskId: 'T-test', workspacePath });
    expect(again.containerId).toBe(info.containerId);
    expect((await docker.getContainer(info.containerId).inspect()).State.Running).toBe(true);
  });

  it('names a missing image instead of trying to pull it', async () => {
    const noImage = createDockerSandbox(docker, { ...baseConfig, image: 'orchestrator-sandbox-test:missing' });
    const agentId = randomUUID();
    usedAgentIds.push(agentId);
    await expect(noImage.start({ agentId, taskId: 'T-test', workspacePath: makeWorktree() })).rejects.toThrow(
      SandboxImageMissingError,
    );
  });

  it('fails a running command clearly when its container is removed under it', async () => {
    const { info } = await startAgent(sandbox);
    const outcome = expect(sandbox.runner(info).run('sleep 46', opts)).rejects.toThrow(SandboxGoneError);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await docker.getContainer(info.containerId).remove({ force: true });
    await outcome;
  });

  it('fails a command clearly once the container is gone', async () => {
    const { info } = await startAgent(sandbox);
    await sandbox.stop(info);
    await expect(sandbox.runner(info).run('true', opts)).rejects.toThrow(SandboxGoneError);
  });
});

describe('ping', () => {
  it('resolves when the engine answers', async () => {
    await expect(sandbox.ping()).resolves.toBeUndefined();
  });

  it('rejects with SandboxUnavailable when nothing listens on the socket', async () => {
    const nowhere = createDockerSandbox(new Docker({ socketPath: '/nonexistent/docker.sock' }), baseConfig);
    const err = await nowhere.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SandboxUnavailableError);
    expect((err as SandboxUnavailableError).type).toBe('SandboxUnavailable');
  });
});
