/**
 * The secret scan of what a commit (or a salvage snapshot) adds: every added or changed blob,
 * read whole from the object store and scanned with scanner/content (long lines in pieces,
 * large blobs in windows, NUL bytes handled). A secret that was already in the previous
 * version of the same file is not the agent's doing and is not reported. Whatever cannot be
 * scanned (a blob over the size limit, a nested repository) is reported as `unscannable`,
 * which blocks the commit just like a finding. The paths a commit adds are pushed with it, so
 * they are scanned too, and every path reported is redacted: a name is the agent's to choose.
 */
import { plainText } from '../../domain/plain-text';
import { redactSecrets, scanContentYielding, scanText, type Allowlist, type SecretFinding } from '../../scanner';
import type { GitContext, OperationOptions } from './context';
import { changedEntries, GITLINK_MODE, isBlobMode, objectSizes, readBlobs, type TreeChange } from './committed-blobs';

export interface UnscannableFile {
  file: string;
  reason: string;
}

export interface ChangeScan {
  findings: SecretFinding[];
  unscannable: UnscannableFile[];
  scannedFiles: number;
  scannedBytes: number;
}

export interface ChangeScanOptions extends OperationOptions {
  /** From the base commit, never the worktree: an agent cannot allowlist its own leak. */
  allowlist?: Allowlist;
  /** Larger blobs are not read; they block the commit. */
  maxBlobBytes: number;
}

/** Scans the blobs `toTree` adds or changes relative to `fromTree` (both in the repository of `repoArgs`). */
export async function scanTreeChanges(
  ctx: GitContext,
  repoArgs: readonly string[],
  fromTree: string,
  toTree: string,
  options: ChangeScanOptions,
): Promise<ChangeScan> {
  const changes = await changedEntries(ctx, repoArgs, fromTree, toTree, options);
  const result: ChangeScan = { findings: [], unscannable: [], scannedFiles: 0, scannedBytes: 0 };
  const toScan: TreeChange[] = [];
  for (const change of changes) {
    if (change.status === 'A') result.findings.push(...scanPath(change.path, options.allowlist));
    if (change.newMode === GITLINK_MODE) {
      result.unscannable.push({ file: change.path, reason: 'a nested git repository (submodule entry); its content cannot be scanned' });
    } else if (isBlobMode(change.newMode)) {
      toScan.push(change);
    }
  }
  const sizes = await objectSizes(ctx, repoArgs, toScan.flatMap((c) => (c.oldOid ? [c.newOid, c.oldOid] : [c.newOid])), options);
  const readable = toScan.filter((c) => {
    const size = sizes.get(c.newOid) ?? Number.POSITIVE_INFINITY;
    if (size <= options.maxBlobBytes) return true;
    result.unscannable.push({ file: c.path, reason: `${formatMb(size)} is more than the ${formatMb(options.maxBlobBytes)} the secret scanner reads` });
    return false;
  });

  const byOid = new Map<string, TreeChange[]>();
  for (const c of readable) byOid.set(c.newOid, [...(byOid.get(c.newOid) ?? []), c]);
  const pendingOld = new Map<string, { change: TreeChange; findings: SecretFinding[] }[]>();
  const scanOptions = { allowlist: options.allowlist, honourInlineAllow: false };

  await readBlobs(
    ctx,
    repoArgs,
    [...byOid.keys()].map((oid) => ({ oid, size: sizes.get(oid) ?? 0 })),
    // Yielding: the worker's other activities go on while a large blob is scanned.
    async (oid, content) => {
      for (const change of byOid.get(oid) ?? []) {
        result.scannedFiles += 1;
        result.scannedBytes += content.length;
        const { findings, skipped } = await scanContentYielding(content, change.path, scanOptions);
        result.unscannable.push(...skipped.map((s) => ({ file: s.file, reason: s.reason })));
        if (findings.length === 0) continue;
        // Findings in a modified file are checked against its previous version below.
        if (change.oldOid && (sizes.get(change.oldOid) ?? Number.POSITIVE_INFINITY) <= options.maxBlobBytes) {
          pendingOld.set(change.oldOid, [...(pendingOld.get(change.oldOid) ?? []), { change, findings }]);
        } else {
          result.findings.push(...findings);
        }
      }
    },
    options,
  );

  await readBlobs(
    ctx,
    repoArgs,
    [...pendingOld.keys()].map((oid) => ({ oid, size: sizes.get(oid) ?? 0 })),
    async (oid, content) => {
      for (const { change, findings } of pendingOld.get(oid) ?? []) {
        const before = new Set((await scanContentYielding(content, change.path, scanOptions)).findings.map((f) => `${f.ruleId}:${f.fingerprint}`));
        result.findings.push(...findings.filter((f) => !before.has(`${f.ruleId}:${f.fingerprint}`)));
      }
    },
    options,
  );
  // Made plain first: an escape inside a secret in a name hides it from redaction, not from a
  // terminal that prints the run's failure, which lists these names.
  result.findings = result.findings.map((f) => ({ ...f, file: redactSecrets(plainText(f.file)) }));
  result.unscannable = result.unscannable.map((u) => ({ ...u, file: redactSecrets(plainText(u.file)) }));
  result.findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return result;
}

/** Secrets in a path the commit adds, reported at line 0 (the name, not the content). */
function scanPath(file: string, allowlist: Allowlist | undefined): SecretFinding[] {
  return scanText(file, file, { allowlist }).findings.map((f) => ({ ...f, line: 0, description: `${f.description} (in the file's path)` }));
}

function formatMb(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
