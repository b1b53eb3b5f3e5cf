import { buildContainerSpec, containerNameFor } from './container-spec';
import type { SandboxConfig } from './config';
import { SandboxInvalidInputError } from './errors';

const cfg: SandboxConfig = {
  image: 'img:1',
  memoryMb: 512,
  cpus: 1.5,
  pidsLimit: 128,
  tmpfsMb: 32,
  network: 'none',
  gracefulStopTimeoutSeconds: 7,
  deployment: 'default/test-queue',
};
const input = { agentId: 'a1b2', taskId: 'T-1', workspacePath: '/w/a1b2', user: { uid: 1000, gid: 1001 } };

describe('buildContainerSpec', () => {
  it('locks the container down: read-only root, no capabilities, no new privileges, limits without swap', () => {
    const spec = buildContainerSpec(cfg, input);
    const host = spec.HostConfig!;
    expect(host.ReadonlyRootfs).toBe(true);
    expect(host.CapDrop).toEqual(['ALL']);
    expect(host.SecurityOpt).toEqual(['no-new-privileges']);
    expect(host.Privileged).toBe(false);
    expect(host.Memory).toBe(512 * 1024 * 1024);
    expect(host.MemorySwap).toBe(host.Memory);
    expect(host.NanoCpus).toBe(1_500_000_000);
    expect(host.PidsLimit).toBe(128);
    expect(host.NetworkMode).toBe('none');
    expect(host.Init).toBe(true);
    expect(host.LogConfig).toEqual({ Type: 'none', Config: {} });
  });

  it('limits file size to WORKSPACE_MAX_MB when given', () => {
    expect(buildContainerSpec(cfg, input).HostConfig!.Ulimits).toBeUndefined();
    expect(buildContainerSpec({ ...cfg, maxFileBytes: 20 * 1024 * 1024 }, input).HostConfig!.Ulimits).toEqual([{ Name: 'fsize', Soft: 20971520, Hard: 20971520 }]);
  });

  it('mounts only the worktree at /workspace and a size-limited tmpfs at /tmp', () => {
    const host = buildContainerSpec(cfg, input).HostConfig!;
    expect(host.Mounts).toEqual([{ Type: 'bind', Source: '/w/a1b2', Target: '/workspace', ReadOnly: false }]);
    expect(host.Binds).toBeUndefined();
    expect(host.Tmpfs).toEqual({ '/tmp': 'rw,nosuid,nodev,size=32m,mode=1777' });
  });

  it('runs as the worktree owner with a minimal environment and labels naming agent, task and deployment', () => {
    const spec = buildContainerSpec(cfg, input);
    expect(spec.name).toBe('orchestrator-agent-a1b2');
    expect(spec.User).toBe('1000:1001');
    expect(spec.Env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/workspace', 'LANG=C.UTF-8']);
    expect(spec.Labels).toEqual({
      'orchestrator.agentId': 'a1b2',
      'orchestrator.taskId': 'T-1',
      'orchestrator.managed': 'true',
      'orchestrator.deployment': 'default/test-queue',
      'orchestrator.role': 'agent',
    });
    expect(spec.Cmd).toEqual(['sleep', 'infinity']);
  });

  it("mounts the agent's home at /home/agent and makes it HOME, so tool caches stay out of the worktree", () => {
    const spec = buildContainerSpec(cfg, { ...input, homePath: '/h/a1b2' });
    expect(spec.HostConfig!.Mounts).toEqual([
      { Type: 'bind', Source: '/w/a1b2', Target: '/workspace', ReadOnly: false },
      { Type: 'bind', Source: '/h/a1b2', Target: '/home/agent', ReadOnly: false },
    ]);
    expect(spec.Env).toContain('HOME=/home/agent');
    expect(spec.Env).not.toContain('HOME=/workspace');
  });

  it('mounts the worktree read-only for reviewers, and names gate containers apart', () => {
    const spec = buildContainerSpec(cfg, { ...input, readOnly: true, role: 'gate' });
    expect(spec.HostConfig!.Mounts).toEqual([{ Type: 'bind', Source: '/w/a1b2', Target: '/workspace', ReadOnly: true }]);
    expect(spec.name).toBe('orchestrator-gate-a1b2');
    expect(spec.Labels!['orchestrator.role']).toBe('gate');
  });

  it('joins a named network only when one is configured', () => {
    const spec = buildContainerSpec({ ...cfg, network: 'agents' }, input);
    expect(spec.HostConfig!.NetworkMode).toBe('agents');
    expect(spec.NetworkDisabled).toBe(false);
  });

  it('refuses agent ids that cannot name a container', () => {
    expect(() => containerNameFor('../x')).toThrow(SandboxInvalidInputError);
    expect(() => containerNameFor('')).toThrow(SandboxInvalidInputError);
    expect(containerNameFor('0f8c-1')).toBe('orchestrator-agent-0f8c-1');
  });
});
