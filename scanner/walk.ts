/** File-tree walk for the CLI: honours nested .gitignore files, skips .git/ and node_modules/. */
import { readdirSync, readFileSync } from 'node:fs';
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
 * ignore, in a stable order. Symbolic links are not followed. Synchronous on purpose: a
 * directory is one readdir, and a caller that pulls files lazily (the parallel scan hands them
 * to worker threads batch by batch) walks while the workers scan; the promise-based walk cost
 * several times more, all of it before the first file was scanned.
 */
export function* walkFiles(root: string): Generator<string> {
  function* visit(dir: string, scopes: readonly Scope[]): Generator<string> {
    const abs = path.join(root, dir);
    const entries = readdirSync(abs, { withFileTypes: true });
    let local = scopes;
    // Read only when listed: a failed read per directory costs an exception each.
    if (entries.some((e) => e.name === '.gitignore' && e.isFile())) {
      local = [...scopes, { base: dir, matcher: ignore().add(readFileSync(path.join(abs, '.gitignore'), 'utf8')) }];
    }
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
