/**
 * A corpus of real source code for the whole-process scan benchmark: non-minified .js/.ts
 * files from the project's own node_modules, copied (once, then reused) into a directory whose
 * paths contain no `node_modules` segment, so that every scanner scans every file.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

const SOURCE_EXT = /\.(?:js|mjs|cjs|ts|mts|cts)$/;

/** Minified or generated: long lines on average, or any very long line. */
function minified(text: string): boolean {
  if (/\.min\.[cm]?js$/.test(text)) return true;
  let lines = 1;
  let longest = 0;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
    longest = Math.max(longest, i - start);
    start = i + 1;
    lines++;
  }
  longest = Math.max(longest, text.length - start);
  return text.length / lines > 300 || longest > 5000;
}

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) yield* sourceFiles(full);
    else if (e.isFile() && SOURCE_EXT.test(e.name) && !/\.min\.[cm]?js$/.test(e.name)) yield full;
  }
}

export interface RealSource {
  readonly dir: string;
  readonly files: number;
  readonly bytes: number;
}

/**
 * Copies up to `targetBytes` of non-minified source from `nodeModules` into `dir` (kept between
 * runs: a marker file records what is there).
 */
export async function realSourceCorpus(nodeModules: string, dir: string, targetBytes: number): Promise<RealSource> {
  const marker = path.join(dir, '.corpus.json');
  const existing = await fs.readFile(marker, 'utf8').then((t) => JSON.parse(t) as RealSource & { targetBytes: number }, () => undefined);
  if (existing !== undefined && existing.targetBytes === targetBytes) return { dir, files: existing.files, bytes: existing.bytes };
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  let bytes = 0;
  let files = 0;
  for await (const file of sourceFiles(nodeModules)) {
    const text = await fs.readFile(file, 'utf8');
    if (text.length < 200 || minified(text) || text.includes('\0')) continue;
    const relative = path.relative(nodeModules, file).split(path.sep).map((s) => (s === 'node_modules' ? 'nm' : s));
    const target = path.join(dir, ...relative);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, text);
    bytes += Buffer.byteLength(text);
    files++;
    if (bytes >= targetBytes) break;
  }
  await fs.writeFile(marker, JSON.stringify({ files, bytes, targetBytes }));
  return { dir, files, bytes };
}
