/**
 * How long a run that cannot succeed takes to say so, through the real REST API and the real
 * `agentRun` workflow on an in-process worker (test/support/harness: Temporal dev server, Valkey,
 * real git, the scripted fake model): `POST /agents/spawn` to the first `GET /agents/:id/status`
 * answering `failed` (polled every 25 ms), for
 *  - missing-gates: a repository without any gate definition, minimal profile (GatesUnavailable);
 *  - missing-repository: `file:///etc` and a path that does not exist (RepositoryNotFound);
 *  - missing-branch: an existing repository, base branch `release/9.9` (BranchNotFound);
 *  - auth-refused: a local HTTP git host answering 401 (GitAuthFailed).
 * One warm-up run first (the worker's first workflow task loads the bundle), then RUNS per case,
 * one after another. Also counts the model requests of every run (expected: none). Prints one
 * JSON line; progress on stderr.
 * Run: npm run bench:fail-fast
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp } from '../api/app';
import { startEventFeed } from '../api/event-feed';
import { AgentStateStore } from '../state/agent-state-store';
import { createRemoteRepo, nodeProjectFiles } from '../test/support/git-fixtures';
import { startHarness } from '../test/support/harness';

const RUNS = 5;
const API_KEY = 'fail-fast-bench-api-key-0123456789';
const progress = (msg: string) => process.stderr.write(`${msg}\n`);

async function main(): Promise<void> {
  const h = await startHarness({ ORCHESTRATOR_API_KEY: API_KEY, GIT_ALLOWED_SCHEMES: 'file,http,https,ssh' });
  const gitHost = createServer((_req, res) => {
    res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' });
    res.end();
  });
  await new Promise<void>((resolve) => gitHost.listen(0, '127.0.0.1', resolve));
  const eventFeed = startEventFeed(h.redis);
  const app = createApp({ client: h.client, redis: h.redis, store: new AgentStateStore(h.redis, { terminalTtlSeconds: 3600 }), config: h.config, logger: pino({ level: 'silent' }), eventFeed });
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = async (method: string, urlPath: string, body?: unknown) => {
    const res = await fetch(`${api}${urlPath}`, {
      method,
      headers: { 'X-API-Key': API_KEY, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return (await res.json()) as { agentId: string; status: string; errorType?: string };
  };

  const noGates = createRemoteRepo({ 'README.md': '# docs only\n' }).url;
  const withMain = createRemoteRepo(nodeProjectFiles()).url;
  const cases: Record<string, { repository: string; branch?: string; gateProfile?: string }[]> = {
    'missing-gates': [{ repository: noGates, gateProfile: 'minimal' }],
    'missing-repository': [{ repository: 'file:///etc' }, { repository: 'file:///nonexistent/team/repo.git' }],
    'missing-branch': [{ repository: withMain, branch: 'release/9.9' }],
    'auth-refused': [{ repository: `http://127.0.0.1:${(gitHost.address() as AddressInfo).port}/team/private.git` }],
  };

  let n = 0;
  const spawnToFailed = async (c: { repository: string; branch?: string; gateProfile?: string }) => {
    const taskId = `B-fail-${++n}`;
    const t0 = performance.now();
    const { agentId } = await call('POST', '/agents/spawn', {
      taskId,
      agentType: 'worker',
      ...(c.gateProfile ? { gateProfile: c.gateProfile } : {}),
      context: { repository: c.repository, branch: c.branch ?? 'main', workItems: ['US-1'] },
    });
    for (;;) {
      const status = await call('GET', `/agents/${agentId}/status`);
      if (status.status === 'failed') return { ms: performance.now() - t0, type: status.errorType, modelRequests: h.fakeModel.requestsFor(taskId).length };
      if (status.status !== 'spawning') throw new Error(`${taskId}: expected failed, got ${status.status}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  try {
    await spawnToFailed({ repository: 'file:///nonexistent/warm-up.git' });
    const results: Record<string, { type?: string; runs: number; medianMs: number; maxMs: number; modelRequests: number }> = {};
    for (const [name, variants] of Object.entries(cases)) {
      const samples: { ms: number; type?: string; modelRequests: number }[] = [];
      for (let i = 0; i < RUNS; i++) samples.push(await spawnToFailed(variants[i % variants.length]!));
      const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
      results[name] = {
        type: [...new Set(samples.map((s) => s.type))].join('|'),
        runs: RUNS,
        medianMs: Math.round(ms[Math.floor(ms.length / 2)]!),
        maxMs: Math.round(ms.at(-1)!),
        modelRequests: samples.reduce((sum, s) => sum + s.modelRequests, 0),
      };
      progress(`${name}: ${JSON.stringify(results[name])}`);
    }
    process.stdout.write(`${JSON.stringify({ bench: 'fail-fast', spawnToFailed: results })}\n`);
  } finally {
    await eventFeed.stop();
    server.close();
    server.closeAllConnections();
    gitHost.close();
    await h.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:fail-fast: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
