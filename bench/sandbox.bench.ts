/**
 * The cost of isolation per tool call: one `echo ready` through each runtime (SANDBOX_RUNTIME=none:
 * a host child process; bubblewrap: a fresh namespace sandbox per command; docker: an exec in the
 * agent's running container), medians of 25 after a warm-up. Also, for Docker, container start to
 * the first command's result and a graceful stop (a Docker gate phase pays both). Prints a table
 * and one JSON line. Run: npm run bench:sandbox
 */
import { randomUUID } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { BubblewrapRunner, createDockerSandbox } from '../activities/sandbox';
import type { CommandRunner } from '../activities/tools/runner';
import { localBubblewrapSettings } from '../test/support/bubblewrap-settings';
import { ensureTestImage, TEST_IMAGE } from '../test/support/sandbox-test-image';
import { LocalRunner } from '../activities/tools/local-runner';
import type { RunOptions } from '../activities/tools/runner';

const RUNS = 5;
const CALLS = 25;
const COMMAND = 'echo ready';
const runOptions: RunOptions = { timeoutMs: 30_000, maxOutputBytes: 10_000 };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)]! * 10) / 10;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await fn();
  return [value, performance.now() - t0];
}

async function main(): Promise<void> {
  await ensureTestImage();
  const docker = new Docker({ socketPath: process.env.DOCKER_SOCKET ?? '/var/run/docker.sock' });
  const sandbox = createDockerSandbox(docker, {
    image: TEST_IMAGE,
    memoryMb: 256,
    cpus: 1,
    pidsLimit: 128,
    tmpfsMb: 64,
    network: 'none',
    gracefulStopTimeoutSeconds: 10,
    deployment: 'default/bench',
  });
  const worktree = mkdtempSync(path.join(os.tmpdir(), 'sandbox-bench-'));
  // As root, hand the worktree to an ordinary uid so the container does not run as root.
  if (process.getuid?.() === 0) chownSync(worktree, 1000, 1000);

  const startToFirstResult: number[] = [];
  const warmCommand: number[] = [];
  const stop: number[] = [];
  const local: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const agentId = randomUUID();
      try {
        const [, firstMs] = await timed(async () => {
          const info = await sandbox.start({ agentId, taskId: 'bench', workspacePath: worktree });
          const res = await sandbox.runner(info).run(COMMAND, runOptions);
          if (res.exitCode !== 0) throw new Error(`first command failed: ${res.output}`);
          return info;
        });
        startToFirstResult.push(firstMs);
        const info = await sandbox.start({ agentId, taskId: 'bench', workspacePath: worktree });
        warmCommand.push((await timed(() => sandbox.runner(info).run(COMMAND, runOptions)))[1]);
        const [result, stopMs] = await timed(() => sandbox.stop(info));
        if (result.forced) throw new Error('stop had to force');
        stop.push(stopMs);
      } finally {
        await sandbox.removeAgentContainers(agentId);
      }
      local.push((await timed(() => new LocalRunner(worktree, path.join(worktree, '.home')).run(COMMAND, runOptions)))[1]);
    }
  } finally {
    rmSync(worktree, { recursive: true, force: true });
  }

  const perCall = await perToolCall(sandbox);
  console.log('cost of one tool call (`echo ready`), median of %d:', CALLS);
  console.log('  none (host child process)      %s ms', perCall.none.toFixed(1));
  console.log('  bubblewrap (namespace sandbox) %s ms  (+%s ms)', perCall.bubblewrap.toFixed(1), (perCall.bubblewrap - perCall.none).toFixed(1));
  console.log('  docker (exec, warm container)  %s ms  (+%s ms)', perCall.docker.toFixed(1), (perCall.docker - perCall.none).toFixed(1));
  console.log('docker container start to first result %s ms, graceful stop %s ms (median of %d)', median(startToFirstResult), median(stop), RUNS);
  console.log(
    JSON.stringify({
      bench: 'sandbox',
      image: TEST_IMAGE,
      runs: RUNS,
      perToolCallMs: { none: perCall.none, bubblewrap: perCall.bubblewrap, docker: perCall.docker, calls: CALLS },
      startToFirstResultMs: median(startToFirstResult),
      localFirstResultMs: median(local),
      warmCommandMs: median(warmCommand),
      stopHonouringSigtermMs: median(stop),
    }),
  );
}

/** Median latency of one command per runtime, each over its own worktree. */
async function perToolCall(sandbox: ReturnType<typeof createDockerSandbox>): Promise<{ none: number; bubblewrap: number; docker: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sandbox-bench-calls-'));
  if (process.getuid?.() === 0) chownSync(dir, 1000, 1000);
  const agentId = randomUUID();
  try {
    const bubblewrap = new BubblewrapRunner(
      localBubblewrapSettings({ tmpfsMb: 64, maxFileBytes: 1024 * 1024 * 1024 }),
      { hostPath: dir, readOnly: false },
    );
    const info = await sandbox.start({ agentId, taskId: 'bench', workspacePath: dir });
    const runners: Record<'none' | 'bubblewrap' | 'docker', CommandRunner> = { none: new LocalRunner(dir, path.join(os.tmpdir(), 'sandbox-bench-home')), bubblewrap, docker: sandbox.runner(info) };
    const samples: Record<string, number[]> = { none: [], bubblewrap: [], docker: [] };
    for (let i = 0; i < CALLS + 2; i++) {
      // Interleaved, so machine load hits all three alike; the first two rounds warm up.
      for (const [name, runner] of Object.entries(runners)) {
        const [res, ms] = await timed(() => runner.run(COMMAND, runOptions));
        if (res.exitCode !== 0 || res.output.trim() !== 'ready') throw new Error(`${name}: ${res.output}`);
        if (i >= 2) samples[name]!.push(ms);
      }
    }
    return { none: median(samples.none!), bubblewrap: median(samples.bubblewrap!), docker: median(samples.docker!) };
  } finally {
    await sandbox.removeAgentContainers(agentId);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
