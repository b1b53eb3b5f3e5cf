/** Where an agent's commands run: its sandbox when it has one, else the local runner in its worktree. */
import path from 'node:path';
import type { SandboxInfo, WorkspaceInfo } from '../../domain/agent';
import type { AgentHomes } from '../host/agent-homes';
import type { SandboxPort } from '../ports';
import { LocalRunner } from './local-runner';
import type { CommandRunner } from './runner';

export type RunnerFor = (workspace: WorkspaceInfo, sandbox?: SandboxInfo) => CommandRunner;

/** `homes` gives local commands their HOME; a worktree's directory is named by its agent id. */
export function runnerChoice(sandbox: SandboxPort | undefined, homes: AgentHomes): RunnerFor {
  return (workspace, info) => (info && sandbox ? sandbox.runner(info) : new LocalRunner(workspace.path, homes.pathFor(path.basename(workspace.path))));
}
