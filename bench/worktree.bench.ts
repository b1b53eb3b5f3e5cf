/**
 * Worktree from a warm mirror versus a full clone, on a generated ~50 MB repository.
 * Run: npx tsx bench/worktree.bench.ts   (prints one JSON line on stdout; progress on stderr)
 *
 * The repository is random (incompressible) content across many files and a few commits, so
 * its packed size on disk really is ~50 MB. Both sides read the same bare repository through
 * a file:// URL, which forces the pack protocol (no hardlinking shortcut) for the clone.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createGitWorkspaces } from '../activities/git';

const run = promisify(execFile);
const TARGET_MB = 50;
const FILE_BYTES = 16 * 1024;
const COMMITS = 4;
const WARM_RUNS = 5;
const CLONE_RUNS = 3;

const GIT_ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: os.tmpdir(),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.test',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.test',
};

function git(args: string[], cwd?: string): Promise<{ stdout: string }> {
  return run('git', args, { cwd, env: GIT_ENV, maxBuffer: 64 * 1024 * 1024 });
}

const progress = (msg: string) => process.stderr.write(`${msg}\n`);

/** First commit holds 60% of the bytes in new files; each later one rewrites a slice of them. */
async function generateRepository(dir: string): Promise<void> {
  await git(['init', '--quiet', '--initial-branch=main', dir]);
  const totalFiles = Math.round((TARGET_MB * 1024 * 1024) / FILE_BYTES);
  const initialFiles = Math.round(totalFiles * 0.6);
  const perLaterCommit = Math.round((totalFiles - initialFiles) / (COMMITS - 1));
  const fileName = (i: number) => path.join(dir, `pkg${i % 40}`, `mod${Math.floor(i / 40) % 10}`, `file${i}.bin`);
  for (let c = 0; c < COMMITS; c++) {
    const indices = c === 0 ? [...Array(initialFiles).keys()] : [...Array(perLaterCommit).keys()].map((k) => (k * 7 + c * 131) % initialFiles);
    for (const i of indices) {
      mkdirSync(path.dirname(fileName(i)), { recursive: true });
      writeFileSync(fileName(i), randomBytes(FILE_BYTES));
    }
    await git(['add', '--all'], dir);
    await git(['commit', '--quiet', '-m', `bench commit ${c + 1}`], dir);
    progress(`commit ${c + 1}/${COMMITS}: ${indices.length} files`);
  }
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? await directoryBytes(full) : (await stat(full)).size;
  }
  return total;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'worktree-bench-'));
  try {
    const source = path.join(tmp, 'source');
    const remote = path.join(tmp, 'remote.git');
    const generatedAt = Date.now();
    await generateRepository(source);
    await git(['clone', '--quiet', '--bare', '--no-local', source, remote]);
    const repoMB = (await directoryBytes(remote)) / (1024 * 1024);
    progress(`generated ${repoMB.toFixed(1)} MB in ${((Date.now() - generatedAt) / 1000).toFixed(1)} s`);
    const url = `file://${remote}`;

    const workspaces = createGitWorkspaces({
      workspaceRoot: path.join(tmp, 'workspaces'),
      host: { id: 'bench', taskQueue: 'bench@bench' },
      allowedSchemes: ['file'],
      author: { name: 'Bench', email: 'bench@example.test' },
      credentials: { httpsUsername: 'x-access-token' },
      pushEnabled: false,
    });
    const request = () => ({ agentId: randomUUID(), taskId: 'BENCH-1', repository: url, baseBranch: 'main' });
    const coldMs = await timed(() => workspaces.prepare(request())); // creates the mirror; not part of the result
    progress(`cold prepare (mirror clone + worktree): ${coldMs.toFixed(0)} ms`);

    // Interleaved, so disk write-back from one kind of run does not land on the other kind only.
    const warmMs: number[] = [];
    const cloneMs: number[] = [];
    for (let i = 0; i < Math.max(WARM_RUNS, CLONE_RUNS); i++) {
      if (i < WARM_RUNS) {
        warmMs.push(await timed(() => workspaces.prepare(request())));
        progress(`warm prepare ${i + 1}: ${warmMs[i]!.toFixed(0)} ms`);
      }
      if (i < CLONE_RUNS) {
        const dest = path.join(tmp, `clone-${i}`);
        // Same parallel checkout as prepare, so the difference is the mirror, not a checkout setting.
        cloneMs.push(await timed(() => git(['-c', 'checkout.workers=0', 'clone', '--quiet', '--', url, dest])));
        progress(`full clone ${i + 1}: ${cloneMs[i]!.toFixed(0)} ms`);
        rmSync(dest, { recursive: true, force: true });
      }
    }

    const warmWorktreeMs = Math.round(median(warmMs));
    const fullCloneMs = Math.round(median(cloneMs));
    const result = {
      repoMB: Math.round(repoMB * 10) / 10,
      warmWorktreeMs,
      fullCloneMs,
      speedup: Math.round((fullCloneMs / warmWorktreeMs) * 10) / 10,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
