/**
 * Reads a file as it is at the agent's base commit (not in its worktree), so gate definitions
 * and package scripts the agent edited cannot weaken its own gates.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { WorkspaceInfo } from '../domain/agent';

const run = promisify(execFile);

export async function readAtBase(ws: Pick<WorkspaceInfo, 'path' | 'baseSha'>, relativePath: string): Promise<string | undefined> {
  if (!/^[0-9a-f]{40,64}$/.test(ws.baseSha) || relativePath.startsWith('/') || relativePath.split('/').includes('..')) return undefined;
  try {
    const { stdout } = await run('git', ['-c', 'safe.directory=*', 'show', `${ws.baseSha}:${relativePath}`], { cwd: ws.path, maxBuffer: 8 * 1024 * 1024 });
    return stdout;
  } catch {
    return undefined; // absent at the base commit
  }
}
