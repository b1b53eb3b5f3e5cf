/** File-tree walk for the CLI: honours nested .gitignore files, skips .git/ and node_modules/. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';

const ALWAYS_SKIPPED = new Set(['.git', 'node_modules']);

interface Scope {
  /** Directory of the .gitignore, relative to the root ('' for the root), '/'-separated. */
  readonly base: string;
  readonly matcher: Ignore;
}

function ignoredBy(scopes: readonly Scope[], relative: string, isDir: boolean): boolean {
  for (const { base, matcher } of scopes) {
    const local = base === '' ? relative : relative.slice(base.length + 1);
    if (matcher.ignores(isDir ? `${local}/` : local)) return true;
  }
  return false;
}

/**
 * Yields the files under `root` (paths relative to it, '/'-separated) that git would not
 * ignore. Symbolic links are not followed.
 */
export async function* walkFiles(root: string): AsyncGenerator<string> {
  async function* visit(dir: string, scopes: readonly Scope[]): AsyncGenerator<string> {
    const abs = path.join(root, dir);
    let local = scopes;
    const gitignore = await fs.readFile(path.join(abs, '.gitignore'), 'utf8').catch(() => undefined);
    if (gitignore !== undefined) local = [...scopes, { base: dir, matcher: ignore().add(gitignore) }];
    const entries = await fs.readdir(abs, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const relative = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (ALWAYS_SKIPPED.has(entry.name) || ignoredBy(local, relative, true)) continue;
        yield* visit(relative, local);
      } else if (entry.isFile() && !ignoredBy(local, relative, false)) {
        yield relative;
      }
    }
  }
  yield* visit('', []);
}
