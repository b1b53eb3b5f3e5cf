/**
 * Command line: `tsx scanner/cli.ts [--format json|sarif] (PATH | --staged)`.
 *
 * PATH: scans the file tree (honouring .gitignore, skipping .git/ and node_modules/), paths in
 * the output relative to PATH. --staged: scans the lines added by `git diff --cached` in the
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
import { toSarif } from './sarif';
import { DEFAULT_MAX_FILE_BYTES, scanText } from './scan';
import type { Allowlist, ScanResult } from './types';
import { walkFiles } from './walk';

const run = promisify(execFile);

type Format = 'json' | 'sarif';

interface Args {
  readonly staged: boolean;
  readonly target?: string;
  readonly format: Format;
  readonly help: boolean;
}

/** A failure reported as exit status 2; messages name paths and options, never file content. */
class UsageError extends Error {}

const USAGE = 'usage: scan [--format json|sarif] (PATH | --staged)';

function parseArgs(argv: readonly string[]): Args {
  let staged = false;
  let format: Format = 'json';
  let help = false;
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
    } else if (arg.startsWith('-') && arg !== '-') {
      throw new UsageError(`unknown option ${arg}; ${USAGE}`);
    } else {
      positional.push(arg);
    }
  }
  if (help) return { staged, format, help };
  if (staged && positional.length > 0) throw new UsageError(`give either PATH or --staged, not both; ${USAGE}`);
  if (!staged && positional.length !== 1) throw new UsageError(USAGE);
  return { staged, target: positional[0], format, help };
}

async function readAllowlist(root: string): Promise<Allowlist> {
  const text = await fs.readFile(path.join(root, ALLOWLIST_FILE), 'utf8').catch(() => undefined);
  return text === undefined ? EMPTY_ALLOWLIST : loadAllowlist(text);
}

/** True when the first bytes contain NUL, as git decides a file is binary. */
function isBinary(buf: Buffer): boolean {
  return buf.subarray(0, 8000).includes(0);
}

async function scanFile(absolute: string, relative: string, allowlist: Allowlist, result: ScanResult): Promise<void> {
  if (allowlist.allowsPath(relative)) return;
  const stat = await fs.stat(absolute);
  if (stat.size > DEFAULT_MAX_FILE_BYTES) {
    result.skipped.push({ file: relative, reason: `file larger than ${DEFAULT_MAX_FILE_BYTES} bytes` });
    return;
  }
  const buf = await fs.readFile(absolute);
  if (isBinary(buf)) return;
  const { findings, skipped } = scanText(buf.toString('utf8'), relative, { allowlist });
  result.findings.push(...findings);
  result.skipped.push(...skipped);
}

async function scanPath(target: string): Promise<ScanResult> {
  const stat = await fs.stat(target).catch(() => undefined);
  if (stat === undefined) throw new UsageError(`no such file or directory: ${target}`);
  const result: ScanResult = { findings: [], skipped: [] };
  if (stat.isFile()) {
    await scanFile(target, path.basename(target), await readAllowlist(path.dirname(target)), result);
    return result;
  }
  if (!stat.isDirectory()) throw new UsageError(`not a file or directory: ${target}`);
  const allowlist = await readAllowlist(target);
  for await (const relative of walkFiles(target)) {
    await scanFile(path.join(target, relative), relative, allowlist, result);
  }
  return result;
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
    const result = args.staged ? await scanStaged() : await scanPath(args.target as string);
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
