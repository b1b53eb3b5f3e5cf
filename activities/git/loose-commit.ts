/**
 * A checkpoint's commit written by the worker itself, as the loose object `git commit-tree` would
 * write, byte for byte (same object id). A checkpoint is saved after every tool batch that changed
 * the worktree, and `commit-tree` was one git process of the four each save starts (a fork through
 * the spawn helper and git's start: a few ms of CPU per turn on a host where turns compete for it).
 *
 * Only for the checkpoint repository the service owns, with SHA-1 object ids, and only over a
 * tree git has just written and a parent known to be there; anything else goes through git.
 */
import { createHash } from 'node:crypto';
import { link, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { deflate } from 'node:zlib';

const SHA1_ID = /^[0-9a-f]{40}$/;
const deflateAsync = promisify(deflate);

export interface CommitFields {
  tree: string;
  parent: string;
  /** `Name <email>`, as author and committer. */
  identity: string;
  /** Seconds since the epoch; the zone is +0000. */
  epochSeconds: number;
  message: string;
}

/** Whether `oid` is a SHA-1 object id (a SHA-256 repository's commits go through git). */
export function isSha1Id(oid: string): boolean {
  return SHA1_ID.test(oid);
}

/** The commit object's body, as `git commit-tree` writes it (message taken verbatim). */
function commitBody(fields: CommitFields): Buffer {
  const signature = `${fields.identity} ${fields.epochSeconds} +0000`;
  return Buffer.from(`tree ${fields.tree}\nparent ${fields.parent}\nauthor ${signature}\ncommitter ${signature}\n\n${fields.message}`, 'utf8');
}

/** The object id of a commit with `body`. */
function commitId(body: Buffer): string {
  return createHash('sha1').update(`commit ${body.length}\0`).update(body).digest('hex');
}

/** The path of loose object `oid` in `gitDir`. */
function loosePath(gitDir: string, oid: string): string {
  return path.join(gitDir, 'objects', oid.slice(0, 2), oid.slice(2));
}

/** Whether `oid` is a loose object of `gitDir` (packed objects and alternates are not looked at). */
export async function hasLooseObject(gitDir: string, oid: string): Promise<boolean> {
  if (!SHA1_ID.test(oid)) return false;
  return stat(loosePath(gitDir, oid)).then(
    (s) => s.isFile() && s.size > 0,
    () => false,
  );
}

/**
 * Writes the commit as a loose object of `gitDir` and returns its id. The file is written aside
 * and linked into place, so a reader never sees half an object and a concurrent writer of the
 * same object (a retried save) finds it whole.
 */
export async function writeLooseCommit(gitDir: string, fields: CommitFields): Promise<string> {
  const body = commitBody(fields);
  const oid = commitId(body);
  const target = loosePath(gitDir, oid);
  if (await hasLooseObject(gitDir, oid)) return oid;
  const compressed = await deflateAsync(Buffer.concat([Buffer.from(`commit ${body.length}\0`), body]));
  await mkdir(path.dirname(target), { recursive: true });
  const aside = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(aside, compressed, { mode: 0o444, flag: 'wx' });
  try {
    await link(aside, target).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(aside, { force: true });
  }
  return oid;
}
