/**
 * Sandbox latency with the busybox test image: container start to the first command's result,
 * the same command through LocalRunner for comparison, a command in an already running
 * container, and stopping a container whose main process honours SIGTERM. Medians of 5.
 * Prints one JSON line. Run: npx tsx bench/sandbox.bench.ts
 */
import { randomUUID } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { createDockerSandbox } from '../activities/sandbox';
import { ensureTestImage, TEST_IMAGE } from '../test/support/sandbox-test-image';
import { LocalRunner } from '../activities/tools/local-runner';
import type { RunOptions } from '../activities/tools/runner';

const RUNS = 5;
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

  console.log(
    JSON.stringify({
      bench: 'sandbox',
      image: TEST_IMAGE,
      runs: RUNS,
      startToFirstResultMs: median(startToFirstResult),
      localFirstResultMs: median(local),
      warmCommandMs: median(warmCommand),
      stopHonouringSigtermMs: median(stop),
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
