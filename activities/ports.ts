/**
 * What the activities need from the sandbox and the coordinator, as interfaces, so the
 * activities can be built without Docker or a coordinator (the worker wires the real ones).
 */
import type { GatePhase, GateResult } from '../domain/gates';
import type { SandboxInfo } from '../domain/agent';
import type { CommandRunner } from './tools/runner';

export interface SandboxStopResult {
  stopped: boolean;
  forced: boolean;
  oomKilled: boolean;
  exitCode?: number;
}

/** Where an agent's commands and gates run: bubblewrap, docker or none (see sandbox/runtime.ts). */
export interface SandboxRuntime {
  readonly kind: 'bubblewrap' | 'docker' | 'none';
  /** The user that must own the files sandboxed commands write (the worktree, a gate checkout); undefined for none. */
  readonly sandboxUser: { uid: number; gid: number } | undefined;
  /** Per-agent resources (Docker: the container); null when the runtime needs none between commands. */
  start(req: { agentId: string; taskId: string; workspacePath: string; readOnly: boolean; signal?: AbortSignal }): Promise<SandboxInfo | null>;
  /** Where the agent's tool commands run; `readOnly` mounts the worktree read-only (reviewers). */
  runner(workspacePath: string, info: SandboxInfo | undefined, opts: { readOnly: boolean }): CommandRunner;
  /** Runs `fn` with a runner over `dir` in a sandbox of its own (gates on a clean checkout), removed afterwards. */
  withRunner<T>(req: { agentId: string; taskId: string; dir: string; signal?: AbortSignal }, fn: (runner: CommandRunner) => Promise<T>): Promise<T>;
  /** Releases what start() made; idempotent. */
  stop(info: SandboxInfo): Promise<SandboxStopResult>;
  /** Releases what a start() on this host that failed or was cancelled half-way may have made (no SandboxInfo came back); idempotent. */
  discard(agentId: string): Promise<void>;
  /** Resolves when the runtime works on this host (worker start-up), with a warning to log when it had to fall back. */
  probe(): Promise<{ warning?: string }>;
  /** Removes what commands of a worker that died left on this host (bubblewrap: their pids cgroups); how many. */
  sweep?(): Promise<number>;
}

export interface CoordinatorPort {
  reportGates(report: {
    agentId: string;
    taskId: string;
    agentType: string;
    phase: GatePhase;
    commitSha?: string;
    branch: string;
    gates: GateResult[];
  }): Promise<{ approved: boolean; reason?: string }>;
}
