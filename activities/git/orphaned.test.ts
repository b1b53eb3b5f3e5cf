/**
 * Worktrees moved aside (no mirror registers them) and their owner, the reaper: real git, real
 * files, the reaper's isClosed answered by the test.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createGitWorkspaces } from './index';
import { parseOrphanedName } from './orphaned';
import { createRemote, git, testDeps, writeFiles } from '../../test/support/git-workspace-fixtures';

const AGENT_A = '1a2b3c4d-0000-4000-8000-00000000000a';
const AGENT_B = '5e6f7a8b-0000-4000-8000-00000000000b';
const DAY_MS = 24 * 3600_000;

describe('orphaned worktrees', () => {
  let tmp: string;
  let n = 0;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'git-orphaned-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  function setup() {
    const dir = path.join(tmp, `case-${++n}`);
    const remote = createRemote(path.join(dir, 'remote'), { 'README.md': 'hello\n' });
    const deps = testDeps(path.join(dir, 'ws'));
    const request = (agentId: string) => ({ agentId, taskId: 'T-1', repository: remote.url, baseBranch: 'main' });
    return { deps, workspaces: createGitWorkspaces(deps), request, orphaned: path.join(deps.workspaceRoot, 'orphaned') };
  }

  it("removes a worktree the agent unregistered, once its run is closed, with whatever the agent left in it", async () => {
    const { workspaces, request, orphaned } = setup();
    const [a, b] = [await workspaces.prepare(request(AGENT_A)), await workspaces.prepare(request(AGENT_B))];
    // Each agent deletes its `.git` file; a prune on the shared mirror then drops both registrations.
    for (const ws of [a, b]) {
      rmSync(path.join(ws.path, '.git'));
      writeFiles(ws.path, { 'big.bin': 'x'.repeat(1 << 20) });
    }
    mkdirSync(path.join(a.path, 'locked', 'inner'), { recursive: true });
    chmodSync(path.join(a.path, 'locked'), 0o000);
    git(['worktree', 'prune'], a.mirrorPath);

    // Each run's cleanup finds no registration and moves the worktree aside; neither run has closed yet.
    for (const ws of [a, b]) expect(await workspaces.remove(ws)).toEqual({ removed: true });
    const agents = () => readdirSync(orphaned).map((name) => parseOrphanedName(name).agentId);
    expect(agents().sort()).toEqual([AGENT_A, AGENT_B].sort());

    // A's run is closed, B's not yet: A's directory goes, B's stays.
    expect(await workspaces.reap(async (agentId) => agentId === AGENT_A)).toBe(1);
    expect(agents()).toEqual([AGENT_B]);

    // Once B's run is closed, the next pass removes it too.
    await workspaces.reap(async () => true);
    expect(readdirSync(orphaned)).toEqual([]);
    expect(existsSync(a.path) || existsSync(b.path)).toBe(false);
  });

  it('removes an entry whose name holds no agent id only once it is older than a day', async () => {
    const { workspaces, orphaned } = setup();
    const now = Date.now();
    const recent = path.join(orphaned, `.bwrap-probe-x1-${now - 3600_000}`);
    const old = path.join(orphaned, `.bwrap-probe-x2-${now - DAY_MS - 60_000}`);
    const unnamedRecent = path.join(orphaned, 'stray');
    const unnamedOld = path.join(orphaned, 'stray-old');
    for (const dir of [recent, old, unnamedRecent, unnamedOld]) mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(old, 'f'), 'x');
    const longAgo = new Date(now - 2 * DAY_MS);
    utimesSync(unnamedOld, longAgo, longAgo);
    const asked: string[] = [];

    await workspaces.reap(async (agentId) => {
      asked.push(agentId);
      return true;
    });

    expect(asked).toEqual([]); // nothing here names an agent
    expect(readdirSync(orphaned).sort()).toEqual([path.basename(recent), 'stray'].sort());
  });

  it('reads the agent id and the time from the name moveAside gives', () => {
    expect(parseOrphanedName(`${AGENT_A}-1764660000000`)).toEqual({ agentId: AGENT_A, movedAt: 1764660000000 });
    expect(parseOrphanedName('.bwrap-probe-ab12-1764660000000')).toEqual({ movedAt: 1764660000000 });
    expect(parseOrphanedName('stray')).toEqual({});
  });
});
