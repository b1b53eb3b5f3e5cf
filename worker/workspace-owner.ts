/**
 * A workspace root belongs to the deployment of one Temporal namespace. Its reapers remove the
 * worktrees, homes and containers of every run their namespace reports closed or does not know,
 * so a worker of another namespace on the same root would take each live agent of this one for a
 * closed run and remove its work. The first worker on a root records its namespace in
 * WORKSPACE_ROOT/deployment.json; a worker of another namespace refuses to start on it.
 */
import path from 'node:path';
import { writeOnce } from './write-once';

export const DEPLOYMENT_FILE = 'deployment.json';

export function claimWorkspaceRoot(workspaceRoot: string, namespace: string): void {
  const file = path.join(workspaceRoot, DEPLOYMENT_FILE);
  // Of two workers starting at once, the first one's claim stands.
  const owner = recordedNamespace(writeOnce(file, `${JSON.stringify({ namespace })}\n`));
  if (owner === undefined) throw new Error(`${file} does not name a Temporal namespace; delete it if no other deployment uses WORKSPACE_ROOT ${workspaceRoot}`);
  if (owner !== namespace) {
    throw new Error(
      `WORKSPACE_ROOT ${workspaceRoot} belongs to the deployment of Temporal namespace "${owner}" (${file}), not "${namespace}": its reaper would take this one's agents for closed runs and remove their work. Give each deployment a WORKSPACE_ROOT of its own`,
    );
  }
}

function recordedNamespace(text: string): string | undefined {
  try {
    const { namespace } = JSON.parse(text) as { namespace?: unknown };
    return typeof namespace === 'string' && namespace !== '' ? namespace : undefined;
  } catch {
    return undefined;
  }
}
