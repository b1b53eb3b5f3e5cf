/**
 * Command line: `npm run --silent scan -- [--format json|sarif] [--threads N] (PATH | --staged)`, which runs
 * the compiled JavaScript in dist/ (scripts/scan.mjs compiles it first when it is missing or stale).
 *
 * PATH: scans the file tree (honouring .gitignore, skipping .git/ and node_modules/) on all
 * cores (worker threads, reads concurrent), paths in the output relative to PATH. --staged: scans the lines added by `git diff --cached` in the
 * repository of the current directory. The allowlist `.secretsignore` is read from PATH (or the
 * repository root). Output: one JSON object per finding per line, or a SARIF 2.1.0 document.
 * Exit status: 0 no finding, 1 findings, 2 error (one line on stderr).
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ALLOWLIST_FILE, EMPTY_ALLOWLIST, loadAllowlist } from './allow';
import { scanAddedLines } from './diff';
import { RULES } from './rules';
import { scanFile } from './file-scan';
import { scanFilesInParallel } from './parallel';
import { toSarif } from './sarif';
import type { Allowlist, ScanResult } from './types';
import { walkFiles } from './walk';

const run = promisify(execFile);

type Format = 'json' | 'sarif';

interface Args {
  readonly staged: boolean;
  readonly target?: string;
  readonly format: Format;
  readonly help: boolean;
  /** Worker threads for PATH scans; default: the available parallelism. */
  readonly threads?: number;
}

/** A failure reported as exit status 2; messages name paths and options, never file content. */
class UsageError extends Error {}

const USAGE = 'usage: scan [--format json|sarif] [--threads N] (PATH | --staged)';

function parseArgs(argv: readonly string[]): Args {
  let staged = false;
  let format: Format = 'json';
  let help = false;
  let threads: number | undefined;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    } else if (arg === '--staged') {
      staged = true;
    } else if (arg === '--help' || arg === '-h') {
      help = true;
    } else if (arg === '--format' || arg.startsWith('--format=')) {
      const value = arg === '--format' ? argv[++i] : arg.slice('--format='.length);
      if (value !== 'json' && value !== 'sarif') throw new UsageError(`--format must be json or sarif`);
      format = value;
    } else if (arg === '--threads' || arg.startsWith('--threads=')) {
      const value = arg === '--threads' ? argv[++i] : arg.slice('--threads='.length);
      if (value === undefined || !/^[0-9]{1,2}$/.test(value) || Number(value) < 1) throw new UsageError('--threads must be a whole number from 1 to 99');
      threads = Number(value);
    } else if (arg.startsWith('-') && arg !== '-') {
      throw new UsageError(`unknown option ${arg}; ${USAGE}`);
    } else {
      positional.push(arg);
    }
  }
  if (help) return { staged, format, help };
  if (staged && positional.length > 0) throw new UsageError(`give either PATH or --staged, not both; ${USAGE}`);
  if (!staged && positional.length !== 1) throw new UsageError(USAGE);
  return { staged, target: positional[0], format, help, threads };
}

/** The allowlist file's text ('' when there is none): worker threads parse it themselves. */
async function readAllowlistText(root: string): Promise<string> {
  return fs.readFile(path.join(root, ALLOWLIST_FILE), 'utf8').catch(() => '');
}

async function readAllowlist(root: string): Promise<Allowlist> {
  const text = await readAllowlistText(root);
  return text === '' ? EMPTY_ALLOWLIST : loadAllowlist(text);
}

async function scanPath(target: string, threads: number | undefined): Promise<ScanResult> {
  const stat = await fs.stat(target).catch(() => undefined);
  if (stat === undefined) throw new UsageError(`no such file or directory: ${target}`);
  const result: ScanResult = { findings: [], skipped: [] };
  if (stat.isFile()) {
    scanFile(target, path.basename(target), await readAllowlist(path.dirname(target)), result);
    return result;
  }
  if (!stat.isDirectory()) throw new UsageError(`not a file or directory: ${target}`);
  const allowlistText = await readAllowlistText(target);
  const allowlist = loadAllowlist(allowlistText);
  // The walk runs lazily, as the worker threads ask for files.
  function* files(): Generator<string> {
    for (const relative of walkFiles(target)) if (!allowlist.allowsPath(relative)) yield relative;
  }
  return scanFilesInParallel(target, files(), allowlistText, { threads });
}

async function git(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run('git', [...args], { maxBuffer: 1 << 30, encoding: 'utf8' });
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    const detail = stderr.split('\n').find((l) => l.trim() !== '') ?? (err as Error).message.split('\n')[0];
    throw new UsageError(`git ${args.find((a) => !a.startsWith('-') && !a.includes('=')) ?? ''} failed: ${detail}`);
  }
}

async function scanStaged(): Promise<ScanResult> {
  const root = (await git(['rev-parse', '--show-toplevel'])).trim();
  const diff = await git([
    '-c', 'core.quotepath=off', 'diff', '--cached', '-U0', '--no-color', '--no-ext-diff', '--src-prefix=a/', '--dst-prefix=b/',
  ]);
  return scanAddedLines(diff, { allowlist: await readAllowlist(root) });
}

function render(result: ScanResult, format: Format): string {
  if (format === 'sarif') return JSON.stringify(toSarif(result, RULES), null, 2) + '\n';
  return result.findings
    .map((f) => JSON.stringify({ file: f.file, line: f.line, column: f.column, ruleId: f.ruleId, description: f.description, match: f.match, fingerprint: f.fingerprint }) + '\n')
    .join('');
}

/** Runs the CLI; resolves to the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const result = args.staged ? await scanStaged() : await scanPath(args.target as string, args.threads);
    result.findings.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
    for (const s of result.skipped) process.stderr.write(`scan: skipped ${s.file}: ${s.reason}\n`);
    process.stdout.write(render(result, args.format));
    return result.findings.length > 0 ? 1 : 0;
  } catch (err) {
    const io = err as NodeJS.ErrnoException;
    const message =
      err instanceof UsageError ? err.message : io.code !== undefined && io.path !== undefined ? `${io.code}: ${io.path}` : `internal error: ${io.name}`;
    process.stderr.write(`scan: ${message}\n`);
    return 2;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
