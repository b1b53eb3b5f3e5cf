/** Where an agent's commands run: the configured sandbox runtime, over its worktree. */
import type { SandboxInfo, WorkspaceInfo } from '../../domain/agent';
import type { SandboxRuntime } from '../ports';
import type { CommandRunner } from './runner';

export type RunnerFor = (workspace: WorkspaceInfo, sandbox: SandboxInfo | undefined, opts: { readOnly: boolean }) => CommandRunner;

export function runnerChoice(runtime: SandboxRuntime): RunnerFor {
  return (workspace, info, opts) => runtime.runner(workspace.path, info, opts);
}
