/**
 * Which worker host this process is. The id names the host's own task queue (activities that
 * touch its worktrees, mirrors and containers go there), its containers, and what its reapers
 * may remove. WORKER_HOST_ID wins; otherwise the hostname plus a random suffix kept in
 * WORKSPACE_ROOT/host-id, so every worker sharing that disk is the same host, a restarted
 * worker is still that host, and a host whose disk was wiped comes back as a new one.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { HOST_ID_PATTERN, type WorkerHost } from '../domain/agent';
import { hostTaskQueue } from '../domain/task-queues';
import { writeOnce } from './write-once';

export const HOST_ID_FILE = 'host-id';

export interface HostIdentitySource {
  WORKER_HOST_ID?: string;
  WORKSPACE_ROOT: string;
  TEMPORAL_TASK_QUEUE: string;
}

export function resolveWorkerHost(config: HostIdentitySource, hostname: string = os.hostname()): WorkerHost {
  const id = config.WORKER_HOST_ID ?? persistedHostId(config.WORKSPACE_ROOT, hostname);
  return { id, taskQueue: hostTaskQueue(config.TEMPORAL_TASK_QUEUE, id) };
}

function persistedHostId(workspaceRoot: string, hostname: string): string {
  const file = path.join(workspaceRoot, HOST_ID_FILE);
  const made = `${hostname.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 40) || 'host'}-${randomBytes(4).toString('hex')}`;
  // Of two workers starting at once on one disk, the first one's id wins.
  const stored = writeOnce(file, `${made}\n`).trim();
  if (!HOST_ID_PATTERN.test(stored)) throw new Error(`${file} does not hold a valid host id (delete it to make a new one, or set WORKER_HOST_ID)`);
  return stored;
}
