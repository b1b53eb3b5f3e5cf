import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config';
import { resolveWorkerHost } from './host-identity';

describe('worker host identity', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'host-id-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('keeps one id per workspace root: the hostname plus a random suffix, the same for every worker sharing the disk', () => {
    const first = resolveWorkerHost({ WORKSPACE_ROOT: root, TEMPORAL_TASK_QUEUE: 'agent-runs' }, 'build box_1');
    const second = resolveWorkerHost({ WORKSPACE_ROOT: root, TEMPORAL_TASK_QUEUE: 'agent-runs' }, 'another-name');
    expect(first.id).toMatch(/^build-box_1-[0-9a-f]{8}$/);
    expect(second).toEqual(first);
    expect(first.taskQueue).toBe(`agent-runs@${first.id}`);
    expect(readFileSync(path.join(root, 'host-id'), 'utf8').trim()).toBe(first.id);

    // A wiped disk is a new host.
    rmSync(path.join(root, 'host-id'));
    expect(resolveWorkerHost({ WORKSPACE_ROOT: root, TEMPORAL_TASK_QUEUE: 'agent-runs' }, 'build box_1').id).not.toBe(first.id);
  });

  it('takes WORKER_HOST_ID when set, and refuses an invalid one naming the variable', () => {
    expect(resolveWorkerHost({ WORKER_HOST_ID: 'rack-3.node-7', WORKSPACE_ROOT: root, TEMPORAL_TASK_QUEUE: 'q' })).toEqual({ id: 'rack-3.node-7', taskQueue: 'q@rack-3.node-7' });
    expect(() => loadConfig({ WORKER_HOST_ID: 'bad id/../x' })).toThrow(/WORKER_HOST_ID="bad id\/\.\.\/x": must be 1-63 of/);
  });

  it('refuses a host-id file that does not hold a valid id', () => {
    writeFileSync(path.join(root, 'host-id'), '../../etc\n');
    expect(() => resolveWorkerHost({ WORKSPACE_ROOT: root, TEMPORAL_TASK_QUEUE: 'q' })).toThrow(/does not hold a valid host id/);
  });
});
