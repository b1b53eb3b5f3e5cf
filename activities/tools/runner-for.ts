/** Where an agent's commands run: its sandbox when it has one, else the local runner in its worktree. */
import type { SandboxInfo, WorkspaceInfo } from '../../domain/agent';
import type { SandboxPort } from '../ports';
import { LocalRunner } from './local-runner';
import type { CommandRunner } from './runner';

export type RunnerFor = (workspace: WorkspaceInfo, sandbox?: SandboxInfo) => CommandRunner;

export function runnerChoice(sandbox: SandboxPort | undefined): RunnerFor {
  return (workspace, info) => (info && sandbox ? sandbox.runner(info) : new LocalRunner(workspace.path));
}
