/**
 * A workspace root belongs to the deployment of one Temporal namespace. Its reapers remove the
 * worktrees, homes and containers of every run their namespace reports closed or does not know,
 * so a worker of another namespace on the same root would take each live agent of this one for a
 * closed run and remove its work. The first worker on a root records its namespace in
 * WORKSPACE_ROOT/deployment.json; a worker of another namespace refuses to start on it.
 */
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export const DEPLOYMENT_FILE = 'deployment.json';

export function claimWorkspaceRoot(workspaceRoot: string, namespace: string): void {
  const file = path.join(workspaceRoot, DEPLOYMENT_FILE);
  mkdirSync(workspaceRoot, { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, `${JSON.stringify({ namespace })}\n`);
  try {
    // A hard link appears whole or not at all: of two workers starting at once, the first one's claim stands.
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  const owner = recordedNamespace(file);
  if (owner === undefined) throw new Error(`${file} does not name a Temporal namespace; delete it if no other deployment uses WORKSPACE_ROOT ${workspaceRoot}`);
  if (owner !== namespace) {
    throw new Error(
      `WORKSPACE_ROOT ${workspaceRoot} belongs to the deployment of Temporal namespace "${owner}" (${file}), not "${namespace}": its reaper would take this one's agents for closed runs and remove their work. Give each deployment a WORKSPACE_ROOT of its own`,
    );
  }
}

function recordedNamespace(file: string): string | undefined {
  try {
    const { namespace } = JSON.parse(readFileSync(file, 'utf8')) as { namespace?: unknown };
    return typeof namespace === 'string' && namespace !== '' ? namespace : undefined;
  } catch {
    return undefined;
  }
}
