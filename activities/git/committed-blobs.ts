/**
 * What a commit would add, read from the object store: the blobs that differ between two trees
 * (`diff-tree --raw`, a listing no attribute can change) and their bytes as stored
 * (`cat-file --batch`, no filters, no textconv). This is what the secret scan reads: not a
 * rendered diff, where `-diff` in a `.gitattributes` turns content into "Binary files differ".
 */
import type { GitContext, OperationOptions } from './context';
import { GitCommandFailedError } from './errors';

export interface TreeChange {
  path: string;
  /** `A`dded, `M`odified, `T`ype changed (`D`eletions are not listed). */
  status: 'A' | 'M' | 'T';
  newMode: string;
  newOid: string;
  /** The previous blob at this path, when there was one. */
  oldOid?: string;
}

const BLOB_MODES = new Set(['100644', '100755', '120000']);
export const GITLINK_MODE = '160000';
const NULL_OID = /^0+$/;
/** Bytes read per `cat-file --batch` process. */
const BATCH_BYTES = 32 * 1024 * 1024;

/** Added and changed entries between two trees (or commits), recursively, without rename detection. */
export async function changedEntries(
  ctx: GitContext,
  repoArgs: readonly string[],
  fromTree: string,
  toTree: string,
  options: OperationOptions = {},
): Promise<TreeChange[]> {
  const { stdout } = await ctx.git(
    [...repoArgs, 'diff-tree', '-r', '-z', '--raw', '--no-abbrev', '--no-renames', '--no-ext-diff', '--no-textconv', '--ignore-submodules=none', fromTree, toTree, '--'],
    options,
  );
  const fields = stdout.split('\0');
  const changes: TreeChange[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const meta = fields[i]!;
    const path = fields[i + 1]!;
    // `:<old mode> <new mode> <old oid> <new oid> <status>`
    const [oldMode = '', newMode = '', oldOid = '', newOid = '', status = ''] = meta.replace(/^:/, '').split(' ');
    if (status !== 'A' && status !== 'M' && status !== 'T') continue;
    changes.push({
      path,
      status,
      newMode,
      newOid,
      ...(BLOB_MODES.has(oldMode) && !NULL_OID.test(oldOid) ? { oldOid } : {}),
    });
  }
  return changes;
}

export function isBlobMode(mode: string): boolean {
  return BLOB_MODES.has(mode);
}

/** Sizes of objects, in one `cat-file --batch-check`. */
export async function objectSizes(ctx: GitContext, repoArgs: readonly string[], oids: readonly string[], options: OperationOptions = {}): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  if (oids.length === 0) return sizes;
  const { stdout } = await ctx.git([...repoArgs, 'cat-file', '--batch-check=%(objectname) %(objectsize)'], { ...options, input: `${[...new Set(oids)].join('\n')}\n` });
  for (const line of stdout.split('\n')) {
    const [oid, size] = line.split(' ');
    if (oid && size && /^\d+$/.test(size)) sizes.set(oid, Number(size));
  }
  return sizes;
}

/**
 * Reads blobs in batches of about 32 MiB (one `cat-file --batch` each) and hands each one's bytes
 * to `onBlob`, in the order given. The caller bounds sizes beforehand (objectSizes).
 */
export async function readBlobs(
  ctx: GitContext,
  repoArgs: readonly string[],
  blobs: readonly { oid: string; size: number }[],
  onBlob: (oid: string, content: Buffer) => void | Promise<void>,
  options: OperationOptions = {},
): Promise<void> {
  let batch: string[] = [];
  let batchBytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const { stdoutBytes } = await ctx.git([...repoArgs, 'cat-file', '--batch'], {
      ...options,
      input: `${batch.join('\n')}\n`,
      binaryStdout: true,
      maxOutputBytes: batchBytes + batch.length * 128 + 1024,
    });
    for (const { oid, content } of parseBatch(stdoutBytes ?? Buffer.alloc(0))) {
      options.onProgress?.();
      await onBlob(oid, content);
    }
    batch = [];
    batchBytes = 0;
  };
  for (const blob of blobs) {
    if (batch.length > 0 && batchBytes + blob.size > BATCH_BYTES) await flush();
    batch.push(blob.oid);
    batchBytes += blob.size;
  }
  await flush();
}

/** `<oid> <type> <size>\n<content>\n` per object; `<oid> missing\n` for an absent one (an error here). */
function* parseBatch(output: Buffer): Generator<{ oid: string; content: Buffer }> {
  let at = 0;
  while (at < output.length) {
    const eol = output.indexOf(0x0a, at);
    if (eol === -1) break;
    const header = output.subarray(at, eol).toString('utf8').split(' ');
    const [oid = '', type = '', sizeText = ''] = header;
    if (type === 'missing' || !/^\d+$/.test(sizeText)) throw new GitCommandFailedError(`git cat-file: object ${oid} is missing`, 'cat-file', 0);
    const size = Number(sizeText);
    yield { oid, content: output.subarray(eol + 1, eol + 1 + size) };
    at = eol + 1 + size + 1;
  }
}
