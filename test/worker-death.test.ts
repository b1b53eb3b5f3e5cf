/**
 * A worker killed with SIGKILL, its node process alone (the kernel's OOM killer, a `kill -9` of its
 * pid) or its whole process group (as crash-recovery.test.ts does): the processes its spawn helper
 * was running for it, each in a process group of its own, must not outlive it. Here a push waits
 * on the remote's pre-receive hook when the worker dies, and the run is then terminated (what the
 * API's forced kill does when no worker answers): a push left running would land the branch on
 * the remote after `killed` was recorded, and nobody would be left to stop it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRemoteRepo, nodeProjectFiles, remoteBranches } from './support/git-fixtures';
import { eventually, startHarness, type Harness } from './support/harness';
import { parents } from './support/processes';
import { WorkerProcess, workflowBundleFile } from './support/worker-process';

const bash = (command: string) => ({ name: 'bash' as const, input: { command } });

/** The worker's node process: the descendant of `root` whose child runs spawn-helper.cjs. */
function workerNodePid(root: number): number {
  const ppid = parents();
  const below = (pid: number) => {
    for (let p = ppid.get(pid); p !== undefined && p > 1; p = ppid.get(p)) if (p === root) return true;
    return false;
  };
  for (const [pid, parent] of ppid) {
    if (!below(pid)) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    if (cmdline.includes('spawn-helper.cjs')) return parent;
  }
  throw new Error(`no spawn helper below process ${root}`);
}

describe('a worker killed with SIGKILL during a push', () => {
  let h: Harness;
  let tmp: string;
  let worker: WorkerProcess | undefined;
  beforeAll(async () => {
    h = await startHarness({}, { worker: false });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'worker-death-'));
  });
  afterEach(async () => {
    await worker?.kill();
    worker = undefined;
  });
  afterAll(async () => {
    await h?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it.each([
    ['its node process alone', 'alone'],
    ['its whole process group', 'group'],
  ] as const)('killed as %s, takes the push it had on the wire with it: the branch never lands after the run was terminated', async (_, how) => {
    const remote = createRemoteRepo(nodeProjectFiles());
    const taskId = `T-worker-died-during-push-${how}`;
    const started = path.join(tmp, `${taskId}-started`);
    // pre-receive runs before the remote updates the ref: while it waits, the push has not landed.
    writeFileSync(path.join(remote.dir, 'hooks', 'pre-receive'), `#!/bin/sh\ncat > /dev/null; touch ${started}; sleep 8\n`, { mode: 0o755 });
    h.fakeModel.script(taskId, [{ tools: [bash('echo work > work.txt')] }, { text: 'Done.' }]);
    worker = new WorkerProcess(h.host.id, h.workspaceRoot, { ...h.env, LOG_LEVEL: 'info', WORKFLOW_BUNDLE_PATH: await workflowBundleFile(tmp) });
    worker.start();
    await worker.started(90_000);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'minimal' });
    const agentId = handle.workflowId.replace('agent-', '');
    await eventually(
      async () => {
        if (!worker!.running) throw new Error(`the worker exited before the push:\n${worker!.output}`);
        return existsSync(started);
      },
      90_000,
      'the push to reach the remote',
    );

    if (how === 'alone') process.kill(workerNodePid(worker.pid!), 'SIGKILL');
    else await worker.kill();
    await handle.terminate('killed: forced');
    // Past the hook's wait: a push left running would have landed by now.
    await new Promise((r) => setTimeout(r, 12_000));

    expect(remoteBranches(remote.dir)).not.toContain(`refs/heads/agent/${taskId}/${agentId.slice(0, 8)}`);
    const hooks = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((c) => c.includes(remote.dir));
    expect(hooks).toEqual([]);
  }, 240_000);
});
