/**
 * Saves an agent's uncommitted work (staged, unstaged and untracked) before its worktree goes:
 * a commit built through a temporary index (GIT_INDEX_FILE) and commit-tree, stored at
 * `refs/agents/<agentId>/salvage`. Neither the agent branch nor the worktree's index moves.
 * Nested `.git` entries are renamed first (git must not enter a repository the agent planted),
 * and the snapshot is secret-scanned before it is pushed: one with findings, or with content the
 * scanner cannot read, stays in the mirror on this host and never reaches the remote.
 * The remote's salvage ref of a run is written once: the first host to push it wins (see publishSalvage).
 */
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { WorkspaceInfo } from '../../domain/agent';
import { addAll } from './add-all';
import { authorEnv, type GitContext, type OperationOptions } from './context';
import { DEFAULT_SCAN_MAX_BLOB_BYTES, hasUncommittedChanges } from './changes';
import { credentialSecrets } from './credentials';
import { WorktreeUnstageableError } from './errors';
import { disableNestedGit, GIT_RULES_MAX_BYTES, inspectTree, removeGitBlockers } from './inspect-tree';
import { exists, resolveCommit } from './mirror';
import { readFileAtCommit } from './read-blob';
import { scanTreeChanges } from './scan-changes';
import { ALLOWLIST_FILE, loadAllowlist } from '../../scanner';
import { pushRefspec, remoteSha } from './push';
import { assertAgentId } from './validate';
import { assertWorkspacePaths, copyIndexFile, findAdminDir, worktreeArgs } from './worktree-admin';

export type WorktreeLocation = Pick<WorkspaceInfo, 'path' | 'mirrorPath'>;

export interface SalvageResult {
  ref?: string;
  commitSha?: string;
  /** Whether the salvage ref reached the remote (false when push is disabled or refused). */
  pushed?: boolean;
  /** Why the snapshot was kept on this host instead of pushed (the secret scan blocked it). */
  withheld?: string;
  /** The commit the remote's salvage ref already named (another snapshot came first): this one stays on this host. */
  remoteHas?: string;
}

export function salvageRefFor(agentId: string): string {
  return `refs/agents/${agentId}/salvage`;
}

/** Snapshots uncommitted work to the salvage ref, then pushes it when allowed (best effort). */
export async function salvage(ctx: GitContext, ws: WorktreeLocation, agentId: string, options: OperationOptions = {}): Promise<SalvageResult> {
  assertAgentId(agentId);
  assertWorkspacePaths(ctx.layout, ws);
  const snapshot = await snapshotUncommitted(ctx, ws, agentId, options);
  return publishSalvage(ctx, ws, snapshot, agentId, options);
}

/**
 * The snapshot half of salvage. It needs no repository lock: it writes objects and the agent's
 * own ref, as an agent's commit does; the worktree is the agent's and its run has stopped.
 */
export async function snapshotUncommitted(
  ctx: GitContext,
  ws: WorktreeLocation,
  agentId: string,
  options: OperationOptions,
): Promise<SalvageResult> {
  if (!(await exists(ws.path))) return {};
  const adminDir = await findAdminDir(ws.mirrorPath, ws.path);
  if (!adminDir) {
    ctx.log('git: cannot salvage, worktree is not registered', { path: ws.path });
    return {};
  }
  const wt = worktreeArgs(adminDir, ws.path);
  // Inside .git directories too, as the disk budget counts: renamed below, they are plain files git reads.
  const budget = ctx.deps.salvageBudget;
  const inspection = await inspectTree(ws.path, { ...options, countInsideGit: true, everyLink: true, stopAtBytes: budget?.maxBytes, stopAtEntries: budget?.maxEntries });
  // The run ended on them (disk-budget.ts), or they came after its last walk (a sparse file moves no statfs).
  if (budget && (inspection.bytes > budget.maxBytes || inspection.entries > budget.maxEntries)) {
    ctx.log('git: not salvaged, the worktree holds more than the disk budget', { agentId, bytes: inspection.bytes, entries: inspection.entries });
    return {};
  }
  // Before the renames: a FIFO named .gitignore in a nested .git directory blocked git status for its whole timeout.
  await removeGitBlockers(ws.path, inspection.gitBlockers);
  if (inspection.nestedGit.length > 0) {
    const renamed = await disableNestedGit(ws.path, options);
    ctx.log('git: nested .git entries renamed before salvage', { path: ws.path, renamed });
  }
  // Rules git would spend minutes on, for the same reasons.
  if (inspection.gitRuleBytes > GIT_RULES_MAX_BYTES) {
    ctx.log('git: not salvaged, the worktree holds more ignore and attribute rules than the host reads', { agentId, bytes: inspection.gitRuleBytes });
    return {};
  }
  if (!(await hasUncommittedChanges(ctx, wt, options))) return {};

  const ref = salvageRefFor(agentId);
  const scratch = await ctx.scratch.make(`${agentId}.salvage`);
  try {
    const indexFile = path.join(scratch, 'index');
    // Starting from the real index keeps its stat cache: only changed files are hashed again.
    await copyIndexFile(path.join(adminDir, 'index'), indexFile).catch(() => undefined);
    const env = { ...authorEnv(ctx.deps.author), GIT_INDEX_FILE: indexFile };
    const run = (args: string[], input?: string) => ctx.git([...wt, ...args], { ...options, env, input });

    // Paths git refuses to store cannot be saved; everything else is.
    const addFrom = (gitDir: string[]) =>
      addAll((args, okExitCodes) => ctx.git([...gitDir, ...args], { ...options, env, okExitCodes }), {
        ...options,
        skipRefusedPaths: true,
        indexFile,
        secrets: credentialSecrets(ctx.deps.credentials),
      });
    let refused: string[];
    try {
      refused = await addFrom(wt);
    } catch (err) {
      if (!(err instanceof WorktreeUnstageableError)) throw err;
      // A working-tree-encoding git cannot apply stops every add: the work is saved as its bytes are.
      ctx.log('git: salvage keeps the worktree without its working-tree-encoding', { agentId });
      refused = await addFrom(await withoutEncoding(ctx, scratch, ws, options));
    }
    if (refused.length) ctx.log('git: salvage left out entries git refuses', { agentId, refused: refused.length });
    const tree = (await run(['write-tree'])).stdout.trim();
    const head = (await run(['rev-parse', '--verify', 'HEAD^{commit}'])).stdout.trim();
    const previous = await resolveCommit(ctx, ws.mirrorPath, ref);
    if (previous && (await sameSnapshot(ctx, ws.mirrorPath, previous, tree, head))) return { ref, commitSha: previous };

    const message = `salvage: uncommitted work of agent ${agentId}\n`;
    const commitSha = (await run(['commit-tree', tree, '-p', head], message)).stdout.trim();
    await ctx.git(['-C', ws.mirrorPath, 'update-ref', '-m', 'salvage', ref, commitSha], options);
    ctx.log('git: uncommitted work salvaged', { event: 'salvage', agentId, ref, commitSha });
    return { ref, commitSha };
  } finally {
    await ctx.scratch.release(scratch);
  }
}

/**
 * Pushes the salvage ref when push is enabled and the scan finds nothing; a refusal is logged, never fatal.
 * Only a ref the remote does not have yet is pushed: after a failover the run's cleanup on its
 * last host salvages first, and the lost host's reaper, which acts once the run is closed, must not
 * replace that newest work with its older worktree's. Its snapshot stays in this host's mirror.
 */
export async function publishSalvage(
  ctx: GitContext,
  ws: WorktreeLocation,
  snapshot: SalvageResult,
  agentId: string,
  options: OperationOptions,
): Promise<SalvageResult> {
  if (!snapshot.ref || !snapshot.commitSha) return snapshot;
  if (!ctx.deps.pushEnabled) return { ...snapshot, pushed: false };
  const withheld = await salvageScanVerdict(ctx, ws.mirrorPath, snapshot.commitSha, agentId, options);
  if (withheld) {
    ctx.log('git: salvage kept on this host, the secret scan blocked it', { event: 'salvage-withheld', agentId, ref: snapshot.ref, reason: withheld });
    return { ...snapshot, pushed: false, withheld };
  }
  const ref = snapshot.ref;
  try {
    // An empty lease: the push fails if the ref exists with another commit (the same one is up to date).
    await pushRefspec(ctx, ws.mirrorPath, `${ref}:${ref}`, [`--force-with-lease=${ref}:`], options);
    return { ...snapshot, pushed: true };
  } catch (err) {
    const remoteHas = await remoteSha(ctx, ws.mirrorPath, ref, options).catch(() => undefined);
    // A retried push whose first attempt landed.
    if (remoteHas === snapshot.commitSha) return { ...snapshot, pushed: true };
    if (remoteHas) {
      ctx.log('git: salvage kept on this host, the remote already has this run\'s salvage', { event: 'salvage-not-replaced', agentId, ref, commitSha: snapshot.commitSha, remoteHas });
      return { ...snapshot, pushed: false, remoteHas };
    }
    ctx.log('git: salvage ref kept locally, push failed', { ref, error: (err as Error).message });
    return { ...snapshot, pushed: false };
  }
}

/**
 * Arguments for a git dir that adds the worktree with no working-tree-encoding: attributes in
 * `info/` outrank the tree's, and the only `info/` a worktree's admin dir has is the mirror's,
 * which every agent shares. A bare repository in the salvage's scratch, whose objects are the
 * mirror's own (a link): what it adds is there for write-tree and commit-tree through the
 * worktree's admin dir, and the link goes with the scratch (removed, never followed).
 */
async function withoutEncoding(ctx: GitContext, scratch: string, ws: WorktreeLocation, options: OperationOptions): Promise<string[]> {
  const gitDir = path.join(scratch, 'raw.git');
  const format = (await ctx.git(['-C', ws.mirrorPath, 'rev-parse', '--show-object-format'], options)).stdout.trim();
  await ctx.git(['init', '--quiet', '--bare', '--template=', `--object-format=${format}`, '--', gitDir], options);
  await rm(path.join(gitDir, 'objects'), { recursive: true, force: true });
  await symlink(path.join(ws.mirrorPath, 'objects'), path.join(gitDir, 'objects'));
  await mkdir(path.join(gitDir, 'info'), { recursive: true });
  await writeFile(path.join(gitDir, 'info', 'attributes'), '* -working-tree-encoding\n');
  return [`--git-dir=${gitDir}`, `--work-tree=${ws.path}`];
}

/** A repeated salvage of unchanged work reuses the existing commit instead of stacking a new one. */
async function sameSnapshot(ctx: GitContext, mirrorPath: string, commitSha: string, tree: string, parent: string): Promise<boolean> {
  const { stdout } = await ctx.git(['-C', mirrorPath, 'show', '--no-patch', '--format=%T %P', commitSha]);
  return stdout.trim() === `${tree} ${parent}`;
}

/**
 * Scans what the snapshot adds over its parent (the agent branch, whose commits were scanned when
 * they were made); returns why it must not leave the host, or undefined when it may.
 */
async function salvageScanVerdict(ctx: GitContext, mirrorPath: string, commitSha: string, agentId: string, options: OperationOptions): Promise<string | undefined> {
  const repo = ['-C', mirrorPath];
  const base = await resolveCommit(ctx, mirrorPath, `refs/agents/${agentId}/base`);
  const allowText = base ? await readFileAtCommit(ctx, mirrorPath, base, ALLOWLIST_FILE, options).catch(() => undefined) : undefined;
  const scan = await scanTreeChanges(ctx, repo, `${commitSha}^`, commitSha, {
    ...options,
    allowlist: allowText ? loadAllowlist(allowText) : undefined,
    maxBlobBytes: ctx.deps.scanMaxBlobBytes ?? DEFAULT_SCAN_MAX_BLOB_BYTES,
  });
  const problems = [
    ...scan.findings.map((f) => `${f.file}:${f.line} ${f.ruleId}`),
    ...scan.unscannable.map((u) => `${u.file}: ${u.reason}`),
  ];
  return problems.length > 0 ? `secret scan: ${problems.slice(0, 10).join('; ')}` : undefined;
}
