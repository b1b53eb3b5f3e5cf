/**
 * Throwing wrappers over the shared validators in domain/git-input.ts: every value from a
 * request passes one of these before any git process starts or any directory is created.
 */
import { validateBranchName, validateRepositoryUrl, validateTaskId, type Validation } from '../../domain/git-input';
import { GitInputError } from './errors';

/** Agent ids name a directory and a ref component: UUID-like, no dots, no slashes. */
const AGENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function assertRepositoryUrl(url: string, allowedSchemes: readonly string[]): void {
  check(validateRepositoryUrl(url, allowedSchemes), 'repository URL');
}

export function assertBranchName(name: string, what = 'branch'): void {
  check(validateBranchName(name), what);
}

export function assertTaskId(taskId: string): void {
  check(validateTaskId(taskId), 'task id');
}

export function isAgentId(value: string): boolean {
  return typeof value === 'string' && AGENT_ID_PATTERN.test(value);
}

export function assertAgentId(agentId: string): void {
  if (!isAgentId(agentId)) {
    throw new GitInputError('agent id must be 1-128 letters, digits, "_" or "-", starting with a letter or digit');
  }
}

/** Agent branches live under `agent/`; anything else (a base branch above all) is never pushed. */
export function assertAgentBranch(branch: string, baseBranch: string): void {
  assertBranchName(branch, 'agent branch');
  if (!branch.startsWith('agent/') || branch === baseBranch) {
    throw new GitInputError(`refusing to push "${branch}": only agent/... branches are pushed, never the base branch`);
  }
}

function check(result: Validation, what: string): void {
  // The rejected value is not echoed back: it may be hostile or carry a credential.
  if (!result.ok) throw new GitInputError(`invalid ${what}: ${result.reason}`);
}
