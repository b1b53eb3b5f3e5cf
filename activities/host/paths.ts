/**
 * The guard that keeps host paths inside the directory they belong to (a workspace root, a
 * worktree). Lexical checks for paths that may not exist yet; a realpath check for ones that do.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { TypedError } from '../../domain/typed-error';

export class PathOutsideWorkspaceError extends TypedError {
  readonly type = 'PathOutsideWorkspace';
}

/** Resolves `relative` against `root` (the root itself included), refusing anything outside it. */
export function resolveInside(root: string, relative: string): string {
  const resolved = path.resolve(root, relative);
  if (resolved !== root && !resolved.startsWith(root.endsWith(path.sep) ? root : root + path.sep)) {
    throw new PathOutsideWorkspaceError(`path ${JSON.stringify(relative)} is outside the workspace`);
  }
  return resolved;
}

/** Returns `candidate` resolved, or throws when it is not strictly inside `parent`. */
export function assertInside(parent: string, candidate: string): string {
  const resolved = path.resolve(candidate);
  const rel = path.relative(path.resolve(parent), resolved);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new PathOutsideWorkspaceError(`path ${resolved} is outside ${parent}`);
  }
  return resolved;
}

/** As assertInside, after following symlinks, for paths that already exist. */
export async function assertRealInside(parent: string, candidate: string): Promise<string> {
  assertInside(parent, candidate);
  const [realParent, realCandidate] = await Promise.all([realpath(parent), realpath(candidate)]);
  assertInside(realParent, realCandidate);
  return path.resolve(candidate);
}
