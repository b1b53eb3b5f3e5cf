/**
 * `python3 -m X` (and `coverage run -m X`) puts the current directory first on the module path, so
 * a module X at the repository root runs instead of the installed tool: `X.py`, `X.pyc`, an
 * extension `X.*.so`, or a directory `X` (a package; a namespace package when X is not installed),
 * or a link by any of these names. A `.pth` file or a `sitecustomize.py` there is not read.
 * `python3 -P` would close this, but it also drops the root from the path of the tests, which
 * projects rely on (the documented reason to prefer `python -m pytest`). So the gate is refused
 * instead, before each gate command (an earlier gate runs the project's code, which may write one):
 * unless the base commit has that root entry unchanged (a project that really is named pytest).
 *
 * Only the module named after `-m` is checked: a module the tool imports in turn (`pluggy.py` for
 * pytest, a standard-library module not loaded yet) shadows it too, as the project's own code
 * (tests, conftest.py, a mypy plugin) already runs in the tool's process.
 */
import type { Dirent } from 'node:fs';
import { opendir } from 'node:fs/promises';

/** From a python invocation or `coverage run` to the first `-m` after it, in the same simple command. */
const MODULE_RUN = /\b(?:python[\d.]*|coverage\s+run)\b[^;&|\n]*?\s-m\s*(?=([A-Za-z_]\w*))/g;

/** Top-level modules `command` runs with `-m` (`python3 -m coverage run -m pytest`: coverage, pytest). */
export function modulesRunBy(command: string): string[] {
  return [...new Set([...command.matchAll(MODULE_RUN)].map((m) => m[1]!))];
}

/**
 * Why the gate must not run `command` in `root`: a root entry that would shadow a module it runs,
 * and that is not among `unchangedAtBase` (root names the checkout has as the base commit has them).
 * The root is listed without following links and nothing in it is opened.
 */
export async function shadowedModuleRefusal(root: string, command: string, unchangedAtBase: ReadonlySet<string>): Promise<string | undefined> {
  const modules = modulesRunBy(command);
  if (modules.length === 0) return undefined;
  try {
    // One entry at a time: the agent can commit a root of a million long names, which read whole took
    // the worker 680 MB before every gate command.
    for await (const entry of await opendir(root)) {
      const module = unchangedAtBase.has(entry.name) ? undefined : modules.find((m) => shadows(entry, m));
      if (module) {
        return (
          `"${entry.name}" at the repository root would run instead of the installed ${module} ` +
          `(-m ${module} looks in the current directory first), and the base commit does not have it as it is; rename or remove it`
        );
      }
    }
  } catch (err) {
    return `the checkout root could not be listed to look for modules that shadow ${modules.join(', ')} (${(err as Error).message})`;
  }
  return undefined;
}

function shadows(entry: Dirent, module: string): boolean {
  const { name } = entry;
  if (name === module) return !entry.isFile();
  return name === `${module}.py` || name === `${module}.pyc` || (name.startsWith(`${module}.`) && name.endsWith('.so'));
}
