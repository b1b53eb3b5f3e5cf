/** System prompts and the first user message, per agent type. */
import type { AgentRunInput, AgentType } from '../../domain/agent';
import { REVIEW_ANSWER_FORMAT } from '../../domain/review';
import { taskMessage, type ReviewScope } from './task-message';

const common = (git: string) => `You are an autonomous software engineer working in a git worktree.
Use the bash tool to run commands and the str_replace_based_edit_tool to read and edit files.
Paths are relative to the repository root unless absolute inside it; nothing outside the repository is reachable.
${git}
Never write credentials, tokens or keys into files.
When you are done, answer with a short summary and no tool call.`;

const ROLE: Readonly<Record<AgentType, string>> = {
  worker: 'Implement the task completely, with tests, so that typecheck, lint, tests and coverage gates pass.',
  reviewer:
    `Review the code on this branch (the first message names the base it is compared with and shows the changes, when the task has a base). You may read files and run commands (tests, linters) but must not modify files.\n${REVIEW_ANSWER_FORMAT}`,
  tester: 'Write or improve automated tests for the task and make sure the test suite passes.',
};

/**
 * In a sandbox the worktree's git data (outside the worktree) is not mounted: `git status` fails
 * "not a git repository", exit 128. Said up front so that an agent does not spend turns on it.
 */
const GIT_SANDBOXED = `git does not work in your sandbox (the repository's git data is outside it), so do not run it.
When you are done, the orchestrator commits your changes, scans them for secrets, runs the quality gates and pushes them.`;
const GIT_UNSANDBOXED = 'Do not commit, push or change branches: the orchestrator commits your work, scans it for secrets and runs quality gates.';

export function systemPrompt(agentType: AgentType, workspaceDir: string, sandboxed: boolean): string {
  return `${common(sandboxed ? GIT_SANDBOXED : GIT_UNSANDBOXED)}\n\nRepository root: ${workspaceDir}\n\nYour role: ${agentType}. ${ROLE[agentType]}`;
}

export function initialUserMessage(input: Pick<AgentRunInput, 'taskId' | 'agentType' | 'context'>, review?: ReviewScope): string {
  const { taskId, context } = input;
  return taskMessage({
    review,
    taskId,
    repository: context.repository,
    branch: context.branch,
    instructions: context.instructions,
    workItems: context.workItems,
    skills: context.skills,
  });
}

export const REVIEW_SYSTEM_PROMPT = `You are a strict code reviewer. You receive a unified diff.
Judge correctness, security, tests and readability. Answer with your findings and a final line
"VERDICT: APPROVE" or "VERDICT: REQUEST_CHANGES".`;
