/**
 * The bare mirror of a remote: created once (init + fetch into a temporary directory, renamed
 * into place, so a crash never leaves a half-made mirror that looks complete) and fetched on
 * every later use. Remote branches land in refs/remotes/origin/*, so `fetch --prune` can
 * never touch the agent branches kept in refs/heads/*. Callers hold withRepoLock. A remote that
 * does not exist, refuses us or lacks the branch fails at once with its type (remote-errors.ts).
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { GitContext, OperationOptions } from './context';
import { networkAccess } from './credentials';
import { GitInputError } from './errors';
import { normaliseRepositoryUrl } from './paths';
import { onRemote } from './remote-errors';
import { assertRepositoryUrl } from './validate';

export const FETCH_REFSPEC = '+refs/heads/*:refs/remotes/origin/*';

/** Creates the mirror for `url` if missing, otherwise fetches it; reports which it did. */
export async function ensureMirror(
  ctx: GitContext,
  mirrorPath: string,
  url: string,
  options: OperationOptions,
): Promise<{ cloned: boolean }> {
  if (await exists(mirrorPath)) {
    const configured = await mirrorRemoteUrl(ctx, mirrorPath);
    if (normaliseRepositoryUrl(configured) !== normaliseRepositoryUrl(url)) {
      throw new GitInputError(`mirror ${path.basename(mirrorPath)} belongs to another repository`);
    }
    await fetchAll(ctx, mirrorPath, url, options);
    ctx.log('git: mirror fetched', { event: 'fetch', mirrorPath });
    return { cloned: false };
  }
  await removeAbandonedClones(mirrorPath);
  const tmp = `${mirrorPath}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await ctx.git(['init', '--quiet', '--bare', '--', tmp], options);
    for (const [key, value] of [
      ['remote.origin.url', url],
      ['remote.origin.fetch', FETCH_REFSPEC],
      // Auto-gc must finish before the repository lock is released, not in the background.
      ['gc.autoDetach', 'false'],
    ] as const) {
      await ctx.git(['-C', tmp, 'config', key, value], options);
    }
    await fetchAll(ctx, tmp, url, options);
    await rename(tmp, mirrorPath);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  ctx.log('git: mirror cloned', { event: 'clone', mirrorPath });
  return { cloned: true };
}

/** Brings one remote branch up to date in the mirror (the conflict check needs only the target). */
export async function fetchBranch(ctx: GitContext, mirrorPath: string, branch: string, options: OperationOptions): Promise<void> {
  const url = await mirrorRemoteUrl(ctx, mirrorPath);
  const net = networkAccess(url, ctx.deps.allowedSchemes, ctx.deps.credentials);
  await onRemote(url, () =>
    ctx.git(['-C', mirrorPath, ...net.args, 'fetch', '--quiet', '--no-tags', '--update-shallow', '--', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`], {
      ...options,
      env: net.env,
    }),
  );
}

/**
 * The mirror's origin URL, re-validated: the config file is on disk and could have been edited.
 * Git reads it (git is the parser of its own format); its answer is kept with the file's exact
 * text and reused while the text is the same, so an edit is seen on the next call. A config with
 * an include is read by git every time (the included file could change on its own).
 */
export async function mirrorRemoteUrl(ctx: GitContext, mirrorPath: string): Promise<string> {
  // Read before git runs: an edit in between makes the texts differ next time, never hides it.
  const config = await readFile(path.join(mirrorPath, 'config'), 'utf8').catch(() => undefined);
  const known = ctx.remoteUrls.get(mirrorPath);
  let url = config !== undefined && known?.config === config ? known.url : undefined;
  if (url === undefined) {
    url = (await ctx.git(['-C', mirrorPath, 'config', '--get', 'remote.origin.url'])).stdout.trim();
    if (config !== undefined && !/include/i.test(config)) ctx.remoteUrls.set(mirrorPath, { config, url });
    else ctx.remoteUrls.delete(mirrorPath);
  }
  assertRepositoryUrl(url, ctx.deps.allowedSchemes);
  return url;
}

/**
 * `--update-shallow`: from a remote that is itself a shallow clone, git refuses every ref whose
 * history is cut (a warning, exit 0) unless it may record the cut in the mirror; the mirror then
 * had no branch, and the run started from the empty base ("no package.json") or BranchNotFound.
 */
async function fetchAll(ctx: GitContext, repoPath: string, url: string, options: OperationOptions): Promise<void> {
  const net = networkAccess(url, ctx.deps.allowedSchemes, ctx.deps.credentials);
  await onRemote(url, () => ctx.git(['-C', repoPath, ...net.args, 'fetch', '--quiet', '--prune', '--update-shallow', '--', 'origin'], { ...options, env: net.env }));
}

/** Temporary clones a crashed process left; safe to delete because we hold the repository lock. */
async function removeAbandonedClones(mirrorPath: string): Promise<void> {
  const dir = path.dirname(mirrorPath);
  const prefix = `${path.basename(mirrorPath)}.tmp-`;
  const entries = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(entries.filter((e) => e.startsWith(prefix)).map((e) => rm(path.join(dir, e), { recursive: true, force: true })));
}

export async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** The commit `ref` names in `repoPath`, or undefined when there is none. */
export async function resolveCommit(ctx: GitContext, repoPath: string, ref: string): Promise<string | undefined> {
  return (await resolveCommits(ctx, repoPath, [ref]))[0];
}

/**
 * The commits several refs (or object ids) name in `repoPath`, in one git process: each is
 * undefined when it names no commit. Names go through stdin, one a line, so none is read as an option.
 */
export async function resolveCommits(ctx: GitContext, repoPath: string, refs: readonly string[]): Promise<(string | undefined)[]> {
  if (refs.length === 0) return [];
  for (const ref of refs) {
    if (ref === '' || /[\0\r\n]/.test(ref)) throw new GitInputError(`not a ref: ${JSON.stringify(ref)}`);
  }
  const { stdout } = await ctx.git(['-C', repoPath, 'cat-file', '--batch-check=%(objectname)'], { input: refs.map((r) => `${r}^{commit}\n`).join('') });
  // One line per name: the commit id, or `<name> missing` / `<name> ambiguous`.
  const lines = stdout.split('\n');
  return refs.map((_, i) => (OBJECT_ID.test(lines[i] ?? '') ? lines[i] : undefined));
}

const OBJECT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
