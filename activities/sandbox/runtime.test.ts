/** The bubblewrap runtime's start-up probe on this host, with the real bwrap; which HOME each runtime gives. */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
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
