/**
 * Git activities: the agent's worktree from preparation to push, and its cleanup. Every
 * command runs with the service's own git dir (see worktree-admin.ts), never one the agent wrote.
 */
import type { AgentType, SandboxInfo, WorkspaceInfo } from '../../domain/agent';
import { ALLOWLIST_FILE, loadAllowlist, type SecretFinding } from '../../scanner';
import type { AgentHomes } from '../host/agent-homes';
import { currentOperation } from '../operation';
import type { TurnsInFlight } from '../turn/in-flight';
import type { WorkspaceCheckpoints } from '../checkpoints';
import type { SandboxRuntime, SandboxStopResult } from '../ports';
import type { CommitResult, GitWorkspaces, MergeCheck, PushResult, UnscannableFile } from './index';

export interface GitActivityDeps {
  workspaces: GitWorkspaces;
  checkpoints: WorkspaceCheckpoints;
  /** Its per-agent resources are stopped by cleanup before the worktree goes. */
  runtime: SandboxRuntime;
  /** The agent's HOME goes with its worktree. */
  homes: AgentHomes;
  /** Tool batches of turn activities still running (activities/turn/in-flight.ts): stopped before cleanup. */
  turnsInFlight: Pick<TurnsInFlight, 'stop'>;
}

export interface PrepareWorkspaceInput {
  agentId: string;
  taskId: string;
  repository: string;
  baseBranch: string;
}

export interface RebuildWorkspaceInput extends PrepareWorkspaceInput {
  /** The base commit the lost worktree was made from; the checkpoints are relative to it. */
  baseSha: string;
  /** Restore the newest checkpoint at or before this turn. */
  upToTurn: number;
}

export interface RebuiltWorkspace {
  workspace: WorkspaceInfo;
  /** The turn whose checkpoint was restored; absent when the agent had none yet (the base as is). */
  restoredTurn?: number;
}

export interface WorkspaceInput {
  workspace: WorkspaceInfo;
}

export interface CommitChangesInput extends WorkspaceInput {
  agentId: string;
  taskId: string;
  agentType: AgentType;
  /** The tree the secret scan read; the commit must be exactly that. */
  tree?: string;
}

/**
 * A finding as it leaves the host: without the secret's fingerprint, which goes into the run's
 * history, and whose sha256 a word list reverses for a weak password. The agent is told where.
 */
export type ReportedFinding = Omit<SecretFinding, 'fingerprint'>;

export interface ScanResultForAgent {
  findings: ReportedFinding[];
  /** Files the scanner could not read (too large, a submodule entry): they block the commit too. */
  unscannable: UnscannableFile[];
  /** Why nothing could be staged (a nested repository), for the agent. */
  refused?: string;
  /** The staged tree that was scanned. */
  tree?: string;
}

export interface ScanAndCommitInput extends Omit<CommitChangesInput, 'tree'> {
  /** The staged tree the pre-commit gates checked: scanned and committed instead of the worktree as it is now. */
  gatedTree?: string;
}

/** What `scanAndCommit` found and did: the scan, and the commit when the scan let it through. */
export interface ScanAndCommitResult extends ScanResultForAgent {
  /** Absent when the scan blocked the commit (findings, unscannable files, refused staging). */
  commit?: CommitResult;
}

/** The merge check, and the push when the branch merges cleanly. */
export type MergeAndPushResult = (MergeCheck & { clean: false }) | { clean: true; push: PushResult };

export interface CleanupInput {
  agentId: string;
  workspace?: WorkspaceInfo;
  sandbox?: SandboxInfo;
  /** Save uncommitted work to the salvage ref first (the run did not succeed). */
  salvage: boolean;
}

export interface CleanupResult {
  salvageRef?: string;
  oomKilled: boolean;
  sandboxExitCode?: number;
}

export function commitMessage(args: Omit<CommitChangesInput, 'workspace' | 'tree'>): string {
  return `${args.taskId}: work by ${args.agentType} agent ${args.agentId}\n\nAgent-Id: ${args.agentId}\nTask-Id: ${args.taskId}\n`;
}

export function createGitActivities(deps: GitActivityDeps) {
  const { workspaces } = deps;
  const git = {
    async prepareWorkspace(args: PrepareWorkspaceInput): Promise<WorkspaceInfo> {
      return workspaces.prepare(args, currentOperation());
    },

    /**
     * The agent's workspace on this host (the one that picked the task up from the shared queue)
     * as it was at its last checkpoint: a worktree at the original base with the saved changes.
     */
    async rebuildWorkspace(args: RebuildWorkspaceInput): Promise<RebuiltWorkspace> {
      const op = currentOperation();
      const { upToTurn, ...req } = args;
      const workspace = await workspaces.prepare(req, op);
      try {
        op.heartbeat('restoring checkpoint');
        const restored = await deps.checkpoints.restore(workspace, args.agentId, { agentId: args.agentId, turn: upToTurn }, op);
        return { workspace, ...(restored ? { restoredTurn: restored.turn } : {}) };
      } catch (err) {
        // The workflow never learns of a worktree whose restore failed or was cancelled (a kill), so
        // nothing else removes it before the reaper. Its content is the checkpoint's, kept in Valkey:
        // never published as the run's salvage. Not tied to this activity's signal.
        await workspaces.discard(workspace).catch(() => undefined);
        throw err;
      }
    },

    /**
     * Stages everything (refusing nested repositories) and scans every blob the commit would add
     * or change; findings come back redacted. Heartbeats and honours cancellation throughout.
     */
    async scanStagedChanges(args: WorkspaceInput & { gatedTree?: string }): Promise<ScanResultForAgent> {
      const op = currentOperation();
      // The repository's accepted values come from its base commit: an agent cannot allowlist its own leak.
      const allowText = await workspaces.readAtBase(args.workspace, ALLOWLIST_FILE, op);
      const options = { ...op, allowlist: allowText ? loadAllowlist(allowText) : undefined };
      const scan = args.gatedTree ? await workspaces.scanTree(args.workspace, args.gatedTree, options) : await workspaces.stageAndScan(args.workspace, options);
      const findings = scan.findings.map(({ fingerprint: _fingerprint, ...reported }) => reported);
      return { findings, unscannable: scan.unscannable, ...(scan.refused ? { refused: scan.refused } : { tree: scan.tree }) };
    },

    /** Commits the scanned tree; a retry after a commit that landed reports that commit (its Agent-Id trailer). */
    async commitChanges(args: CommitChangesInput): Promise<CommitResult> {
      return workspaces.commit(args.workspace, commitMessage(args), { ...currentOperation(), agentId: args.agentId, expectedTree: args.tree });
    },

    /**
     * The scan, then the commit of exactly the scanned tree when nothing blocks it: one activity
     * (one server round trip) where a run used to schedule two. After pre-commit gates, the tree
     * scanned and committed is the one they checked. A retry after the commit landed scans
     * nothing new and reports that commit.
     */
    async scanAndCommit(args: ScanAndCommitInput): Promise<ScanAndCommitResult> {
      const { gatedTree, ...commitArgs } = args;
      const scan = await git.scanStagedChanges({ workspace: args.workspace, ...(gatedTree ? { gatedTree } : {}) });
      if (scan.refused || scan.findings.length > 0 || scan.unscannable.length > 0) return scan;
      currentOperation().heartbeat('committing');
      return { ...scan, commit: await git.commitChanges({ ...commitArgs, tree: scan.tree }) };
    },

    async headSha(args: WorkspaceInput): Promise<string> {
      return workspaces.headSha(args.workspace);
    },

    async checkMergeable(args: WorkspaceInput): Promise<MergeCheck> {
      return workspaces.checkMergeable(args.workspace, currentOperation());
    },

    async pushBranch(args: WorkspaceInput): Promise<PushResult> {
      // Workspaces recorded before hosts name none: never moved, nothing of theirs to replace.
      const host = (args.workspace as { host?: { id: string } }).host?.id;
      const mayReplaceOwn = host ? (agentId: string) => deps.checkpoints.claimedBy(agentId, host) : undefined;
      return workspaces.push(args.workspace, { ...currentOperation(), ...(mayReplaceOwn ? { mayReplaceOwn } : {}) });
    },

    /** The merge check, then the push when the branch still merges: one round trip instead of two. */
    async pushIfMergeable(args: WorkspaceInput): Promise<MergeAndPushResult> {
      const merge = await git.checkMergeable(args);
      if (!merge.clean) return merge;
      currentOperation().heartbeat('pushing');
      return { clean: true, push: await git.pushBranch(args) };
    },

    /**
     * Stops the sandbox gracefully, salvages uncommitted work when asked, removes the worktree
     * and the agent's HOME. Every step runs even if an earlier one failed; the first error is
     * rethrown so the activity is retried (each step is idempotent).
     */
    async cleanupAgent(args: CleanupInput): Promise<CleanupResult> {
      const op = currentOperation();
      // A killed run did not wait for its turn activity: stop its tool calls before touching the worktree.
      op.heartbeat('stopping tool calls');
      await deps.turnsInFlight.stop(args.agentId, op);
      const errors: unknown[] = [];
      let sandboxStop: SandboxStopResult | undefined;
      let salvageRef: string | undefined;
      if (args.sandbox) {
        op.heartbeat('stopping sandbox');
        sandboxStop = await deps.runtime.stop(args.sandbox).catch((e: unknown) => void errors.push(e));
      }
      // A container that may still run keeps the files it can write: the retry (or the reaper) removes them once it is gone.
      const stillRunning = errors.length > 0;
      // Killed while preparing: the worktree may exist without the workflow knowing its path.
      const listed = args.workspace ? undefined : (await workspaces.listWorktrees()).find((w) => w.agentId === args.agentId);
      const location = args.workspace ?? (listed?.mirrorPath ? { path: listed.path, mirrorPath: listed.mirrorPath } : undefined);
      if (location) {
        op.heartbeat('salvaging');
        if (args.salvage) {
          const salvaged = await workspaces.salvage(location, args.agentId, op).catch((e: unknown) => void errors.push(e));
          salvageRef = salvaged?.ref;
        }
        // Never remove a worktree whose work could not be salvaged (remove() salvages a dirty one itself).
        if (errors.length === 0) {
          const removed = await workspaces.removeForGood(location, op).catch((e: unknown) => void errors.push(e));
          salvageRef ??= removed?.salvage?.ref;
        }
      }
      if (!stillRunning) await deps.homes.remove(args.agentId).catch((e: unknown) => void errors.push(e));
      await workspaces.removeGateCheckout(args.agentId).catch((e: unknown) => void errors.push(e));
      await workspaces.removeCheckpointRepo(args.agentId).catch((e: unknown) => void errors.push(e));
      if (errors.length) throw errors[0];
      return { salvageRef, oomKilled: sandboxStop?.oomKilled ?? false, sandboxExitCode: sandboxStop?.exitCode };
    },
  };
  return git;
}

export type GitActivities = ReturnType<typeof createGitActivities>;
