/** Real git repositories in temp dirs, used as remotes (file:// URLs) by the tests. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Fixture',
  GIT_AUTHOR_EMAIL: 'fixture@example.com',
  GIT_COMMITTER_NAME: 'Fixture',
  GIT_COMMITTER_EMAIL: 'fixture@example.com',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/**
 * Remotes made in the temp dir are removed after the test file (a day of test runs left
 * thousands), or when a script that made them exits. Registered when this module loads, as a test
 * file is collected: jest refuses hooks added later, and its `process` is not the one that exits.
 */
const madeHere = new Set<string>();
const removeMade = () => madeHere.forEach((d) => rmSync(d, { recursive: true, force: true }));
const jestAfterAll = (globalThis as { afterAll?: (fn: () => void) => void }).afterAll;
if (typeof jestAfterAll === 'function') jestAfterAll(removeMade);
else process.once('exit', removeMade);

function tempParent(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'remote-'));
  madeHere.add(dir);
  return dir;
}

/** A bare repository with one commit of `files` on `main`; returns its path and file:// URL. */
export function createRemoteRepo(files: Record<string, string>, parent = tempParent()): { dir: string; url: string } {
  const work = path.join(parent, 'seed');
  mkdirSync(work, { recursive: true });
  git(work, 'init', '-q', '-b', 'main');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(work, name)), { recursive: true });
    writeFileSync(path.join(work, name), content);
  }
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'initial');
  const bare = path.join(parent, 'remote.git');
  git(parent, 'clone', '-q', '--bare', work, bare);
  return { dir: bare, url: `file://${bare}` };
}

/** A repository with a passing `npm test` (node script), the usual fixture for agent runs. */
export function nodeProjectFiles(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: 'fixture', version: '1.0.0', scripts: { test: 'node test.js' } }, null, 2),
    'test.js': "const fs = require('fs');\nif (fs.existsSync('broken.txt')) { console.error('FAIL: broken.txt exists'); process.exit(1); }\nconsole.log('ok');\n",
    'README.md': '# fixture\n',
    ...extra,
  };
}

export function remoteBranches(bareDir: string): string[] {
  return git(bareDir, 'for-each-ref', '--format=%(refname)', 'refs/heads').split('\n').filter(Boolean);
}

export function showFile(bareDir: string, ref: string, file: string): string {
  return git(bareDir, 'show', `${ref}:${file}`);
}
