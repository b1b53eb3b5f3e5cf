/**
 * What every git operation receives: the caller's dependencies, the directory layout, a git
 * runner bound to the secrets it must scrub, and the shared per-call options.
 */
import type { WorkerHost } from '../../domain/agent';
import type { Scratch } from '../host/scratch';
import type { GitCredentials } from './credentials';
import type { IndexTrees } from './index-trees';
import type { ObjectCache } from './object-cache';
import type { WorkspaceLayout } from './paths';
import type { GitRunner } from './run-git';

export type GitLog = (msg: string, meta?: Record<string, unknown>) => void;

export interface GitDeps {
  workspaceRoot: string;
  /** The host this workspace root belongs to; recorded in every WorkspaceInfo prepared here. */
  host: WorkerHost;
  /** URL schemes accepted for repositories (`https`, `ssh`; `file` in tests). */
  allowedSchemes: string[];
  /** Identity for agent and salvage commits; never taken from the host's git config. */
  author: { name: string; email: string };
  credentials: GitCredentials;
  pushEnabled: boolean;
  log?: GitLog;
  /** Upper bound for one git process (default one hour); heartbeats and aborts handle the rest. */
  commandTimeoutMs?: number;
  /** Largest blob the secret scan reads (default 64 MiB); a larger one blocks the commit or salvage push. */
  scanMaxBlobBytes?: number;
  /**
   * What a worktree may hold (WORKSPACE_MAX_MB in bytes, WORKSPACE_MAX_FILES), counted as the disk
   * budget counts it: a salvage of more is not made, since git would read every byte, holes of
   * sparse files included (24 s of CPU for one 2 GB `truncate -s`), and store it. No limit when unset.
   */
  salvageBudget?: { maxBytes: number; maxEntries: number };
  /** Where temporary indexes go (default: this process's scratch under `<root>/tmp`); the worker shares one with its runtime and reaper. */
  scratch?: Scratch;
}

/** Accepted by every long operation so an activity can heartbeat and be cancelled. */
export interface OperationOptions {
  signal?: AbortSignal;
  onProgress?: () => void;
}

export interface GitContext {
  deps: GitDeps;
  layout: WorkspaceLayout;
  git: GitRunner;
  log: GitLog;
  /** Per mirror, when the last fetch by this process that succeeded had started (epoch ms). */
  fetchStartedAt: Map<string, number>;
  /** Per mirror, when this process last swept its shared areas for stale git locks (epoch ms). */
  lockSweptAt: Map<string, number>;
  /** Per mirror, the origin URL git read from the config text beside it (see mirrorRemoteUrl). */
  remoteUrls: Map<string, { config: string; url: string }>;
  /** Answers about immutable objects (tree entries, small blobs) this process already read. */
  objects: ObjectCache;
  /** The tree each worktree index was last written as by a scan (see index-trees.ts). */
  indexTrees: IndexTrees;
  /** Scratch directories under the workspace root, owned by the host (host/scratch.ts). */
  scratch: Scratch;
}

/** Environment that makes git record `deps.author` as author and committer. */
export function authorEnv(author: GitDeps['author']): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: author.name,
    GIT_COMMITTER_EMAIL: author.email,
  };
}
