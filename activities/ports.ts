/**
 * What the activities need from the sandbox and the coordinator, as interfaces, so the
 * activities can be built without Docker or a coordinator (the worker wires the real ones).
 */
import type { GatePhase, GateResult } from '../domain/gates';
import type { SandboxInfo } from '../domain/agent';
import type { CommandRunner } from './tools/runner';

export interface SandboxPort {
  start(args: { agentId: string; taskId: string; workspacePath: string; signal?: AbortSignal }): Promise<SandboxInfo>;
  runner(info: SandboxInfo): CommandRunner;
  stop(info: SandboxInfo): Promise<{ stopped: boolean; forced: boolean; oomKilled: boolean; exitCode?: number }>;
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
