/**
 * An agent with the Docker sandbox on: tool calls and gates run inside a hardened container
 * (real Docker engine, the locally built busybox test image), changes land in the worktree.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { createRemoteRepo, showFile } from './support/git-fixtures';
import { eventually, startHarness, TEST_MODEL_KEY, type Harness } from './support/harness';

const GATES_JSON = JSON.stringify({ gates: { tests: { command: 'test ! -e broken.txt && echo gate-ran-in-$(hostname)' } } });

describe('agentRun with the Docker sandbox', () => {
  let h: Harness;
  const docker = new Docker();
  beforeAll(async () => {
    h = await startHarness({ SANDBOX_ENABLED: 'true', SANDBOX_IMAGE: 'orchestrator-sandbox-test:busybox', SANDBOX_GRACEFUL_STOP_TIMEOUT_SECONDS: '2', SANDBOX_MEMORY_MB: '128' });
  });
  afterAll(async () => {
    await h?.close();
  });

  const containersOf = (agentId: string) => docker.listContainers({ all: true, filters: { label: [`orchestrator.agentId=${agentId}`] } });

  it('runs tool calls inside the container and commits what they changed', async () => {
    const remote = createRemoteRepo({ '.orchestrator/gates.json': GATES_JSON, 'README.md': '# sandboxed\n' });
    const taskId = 'T-sandbox-1';
    h.fakeModel.script(taskId, [
      {
        tools: [
          {
            name: 'bash',
            input: {
              command:
                'echo "host=$(hostname) uid=$(id -u) pwd=$(pwd)"; touch /etc/x 2>/dev/null && echo root-writable || echo root-readonly; ls /sys/class/net; echo "key=${CLAUDE_API_KEY:-none}${ANTHROPIC_API_KEY:-}"; echo from-container > made-in-container.txt',
            },
          },
          { name: 'str_replace_based_edit_tool', input: { command: 'create', path: '/workspace/notes.md', file_text: 'edited through the tool\n' } },
        ],
      },
      { tools: [{ name: 'bash', input: { command: 'cat notes.md && echo appended >> notes.md' } }] },
      { text: 'Done.' },
    ]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const agentId = handle.workflowId.replace('agent-', '');
    const final = await handle.result();
    expect(final.status).toBe('completed');

    const output = JSON.stringify(h.fakeModel.requestsFor(taskId)[1]!.body.messages[2]);
    expect(output).not.toContain(`host=${os.hostname()}`);
    expect(output).toContain('uid=1000');
    expect(output).toContain('pwd=/workspace');
    expect(output).toContain('root-readonly');
    expect(output).toMatch(/\\nlo\\n/);
    expect(output).not.toContain('eth0');
    expect(output).toContain('key=none');
    expect(output).not.toContain(TEST_MODEL_KEY);
    expect(JSON.stringify(h.fakeModel.requestsFor(taskId)[2]!.body.messages[4])).toContain('edited through the tool');

    const branch = final.result!.branch!;
    expect(showFile(remote.dir, branch, 'made-in-container.txt')).toBe('from-container');
    expect(showFile(remote.dir, branch, 'notes.md')).toBe('edited through the tool\nappended');
    expect(final.result?.gates?.[0]).toMatchObject({ name: 'tests', outcome: 'passed' });
    expect(final.result?.gates?.[0]?.outputTail).toContain('gate-ran-in-');
    expect(final.result?.gates?.[0]?.outputTail).not.toContain(os.hostname());
    expect(await containersOf(agentId)).toHaveLength(0);
  });

  it('is killed during a long command: the container is stopped and removed, the agent ends killed', async () => {
    const remote = createRemoteRepo({ '.orchestrator/gates.json': GATES_JSON, 'README.md': '# sandboxed\n' });
    const taskId = 'T-sandbox-kill';
    h.fakeModel.script(taskId, [{ tools: [{ name: 'bash', input: { command: "trap '' TERM; echo started > started.txt; sleep 120" } }] }]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const agentId = handle.workflowId.replace('agent-', '');
    await eventually(async () => existsSync(path.join(h.workspaceRoot, 'worktrees', agentId, 'started.txt')), 60_000, 'the command to start');
    expect(await containersOf(agentId)).toHaveLength(1);
    const t0 = Date.now();
    await handle.signal('kill', { reason: 'sandbox kill test' });
    const final = await handle.result();
    expect(final.status).toBe('killed');
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(await containersOf(agentId)).toHaveLength(0);
    expect(final.result?.salvageRef).toBe(`refs/agents/${agentId}/salvage`);
  });

  it('keeps the model key and the docker socket out of the container', async () => {
    const remote = createRemoteRepo({ '.orchestrator/gates.json': GATES_JSON, 'README.md': '# sandboxed\n' });
    const taskId = 'T-sandbox-inspect';
    h.fakeModel.script(taskId, [{ text: 'waiting', delayMs: 60_000 }]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const agentId = handle.workflowId.replace('agent-', '');
    await eventually(async () => h.fakeModel.requestsFor(taskId).length === 1, 60_000, 'the model call');
    const [summary] = await containersOf(agentId);
    const inspect = await docker.getContainer(summary!.Id).inspect();
    const text = JSON.stringify(inspect);
    expect(text).not.toContain(TEST_MODEL_KEY);
    expect(text).not.toContain('docker.sock');
    expect(inspect.HostConfig.Privileged).toBe(false);
    expect(inspect.HostConfig.ReadonlyRootfs).toBe(true);
    expect(inspect.HostConfig.CapDrop).toEqual(['ALL']);
    expect(inspect.HostConfig.NetworkMode).toBe('none');
    expect(inspect.Config.User).toBe('1000:1000');
    await handle.signal('kill', { reason: 'done inspecting' });
    await handle.result();
  });
});

describe('agentRun whose sandbox cannot start', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ SANDBOX_ENABLED: 'true', SANDBOX_IMAGE: 'orchestrator-sandbox-test:never-built' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('fails before any model call and leaves no worktree behind (set-up removes what it made)', async () => {
    const remote = createRemoteRepo({ '.orchestrator/gates.json': GATES_JSON, 'README.md': '# no image\n' });
    const taskId = 'T-sandbox-no-image';
    h.fakeModel.script(taskId, [{ text: 'never asked' }]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const agentId = handle.workflowId.replace('agent-', '');
    const err = (await handle.result().catch((e: unknown) => e)) as { cause?: { type?: string } };
    expect(err.cause?.type).toBe('SandboxImageMissing');
    expect(h.fakeModel.requestsFor(taskId)).toHaveLength(0);
    expect(existsSync(path.join(h.workspaceRoot, 'worktrees', agentId))).toBe(false);
  });
});
