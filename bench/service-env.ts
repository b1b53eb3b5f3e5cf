/**
 * The environment a bench starts the service's worker with: the servers it names, the scripted
 * fake model, a file:// remote allowed, no reaper passes and no metrics port (another worker on
 * the host may hold the default one).
 */
import path from 'node:path';

export function benchWorkerEnv(opts: { temporalAddress: string; taskQueue: string; root: string; modelBaseUrl: string }): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: opts.temporalAddress,
    TEMPORAL_TASK_QUEUE: opts.taskQueue,
    VALKEY_HOST: process.env.VALKEY_HOST ?? '127.0.0.1',
    VALKEY_PORT: process.env.VALKEY_PORT ?? '6379',
    WORKSPACE_ROOT: path.join(opts.root, 'workspaces'),
    GIT_ALLOWED_SCHEMES: 'file,https,ssh',
    ANTHROPIC_BASE_URL: opts.modelBaseUrl,
    CLAUDE_API_KEY: 'sk-ant-api03-bench-key-for-the-fake-model',
    REAPER_INTERVAL_SECONDS: '86400',
    LOG_LEVEL: 'warn',
    WORKER_METRICS_ADDRESS: 'off',
  };
}
