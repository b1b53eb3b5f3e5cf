/**
 * Permanent remote failures are typed and final; transient ones stay retryable. Real git against
 * real remotes: file:// paths and a local HTTP server answering as a git host would.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createGitWorkspaces, GitCommandFailedError, type GitDeps } from './index';
import { classifyRemoteFailure } from './remote-errors';
import { createRemote, git, testDeps } from '../../test/support/git-workspace-fixtures';

const AGENT = '1a2b3c4d-0000-4000-8000-00000000000a';

/** An HTTP "git host" that answers every request with one status. */
async function httpHost(status: number): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(status, status === 401 ? { 'WWW-Authenticate': 'Basic realm="git"' } : {});
    res.end(`status ${status}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/team/repo.git`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('failures talking to a remote', () => {
  let tmp: string;
  let n = 0;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'git-remote-errors-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  function workspaces(overrides: Partial<GitDeps> = {}) {
    const deps = testDeps(path.join(tmp, `ws-${++n}`), { allowedSchemes: ['file', 'http'], ...overrides });
    return { deps, workspaces: createGitWorkspaces(deps) };
  }
  const prepare = (ws: ReturnType<typeof workspaces>['workspaces'], repository: string, baseBranch = 'main') =>
    ws.prepare({ agentId: AGENT, taskId: 'T-1', repository, baseBranch });

  it.each([
    ['a directory that is not a repository', 'file:///etc'],
    ['a path that does not exist', 'file:///nonexistent/team/repo.git'],
  ])('reports %s as RepositoryNotFound, not retryable, and leaves no mirror behind', async (_what, url) => {
    const { deps, workspaces: ws } = workspaces();
    const err = await prepare(ws, url).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'RepositoryNotFound', retryable: false });
    expect((err as Error).message).toContain(`repository ${url} does not exist or is not a git repository`);
    expect(readdirSync(path.join(deps.workspaceRoot, 'mirrors'))).toEqual([]);
  });

  it('reports an HTTP 404 as RepositoryNotFound and a 401 without credentials as GitAuthFailed', async () => {
    const notFound = await httpHost(404);
    const unauthorised = await httpHost(401);
    try {
      await expect(prepare(workspaces().workspaces, notFound.url)).rejects.toMatchObject({ type: 'RepositoryNotFound', retryable: false });
      const err = await prepare(workspaces().workspaces, unauthorised.url).catch((e: unknown) => e);
      expect(err).toMatchObject({ type: 'GitAuthFailed', retryable: false });
      expect((err as Error).message).toContain('could not read Username');
    } finally {
      await notFound.close();
      await unauthorised.close();
    }
  });

  it('keeps a refused connection and a 503 retryable', async () => {
    const unavailable = await httpHost(503);
    const closed = await httpHost(200);
    await closed.close(); // nothing listens on its port any more
    try {
      for (const url of [unavailable.url, closed.url]) {
        const err = await prepare(workspaces().workspaces, url).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(GitCommandFailedError);
        expect(err).toMatchObject({ type: 'GitCommandFailed', retryable: true });
      }
    } finally {
      await unavailable.close();
    }
  });

  it('reports a base branch deleted on the remote as BranchNotFound when the conflict check fetches it', async () => {
    const remote = createRemote(path.join(tmp, `remote-${++n}`), { 'README.md': 'hi\n' });
    git(['branch', 'release', 'main'], remote.barePath);
    const { workspaces: ws } = workspaces();
    const info = await prepare(ws, remote.url, 'release');
    git(['branch', '-D', 'release'], remote.barePath);
    await expect(ws.checkMergeable(info)).rejects.toMatchObject({ type: 'BranchNotFound', retryable: false });
    expect(existsSync(info.path)).toBe(true);
  });

  it.each([
    // What the big hosts answer, as git prints it (LC_ALL=C).
    ['RepositoryNotFound', "remote: Repository not found.\nfatal: repository 'https://github.com/acme/nope.git/' not found\n"],
    ['RepositoryNotFound', 'ERROR: Repository not found.\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n'],
    ['RepositoryNotFound', "remote: The project you were looking for could not be found or you don't have permission to view it.\nfatal: repository 'https://gitlab.com/acme/nope.git/' not found\n"],
    ['GitAuthFailed', "remote: Invalid username or token. Password authentication is not supported for Git operations.\nfatal: Authentication failed for 'https://github.com/acme/private.git/'\n"],
    ['GitAuthFailed', 'git@github.com: Permission denied (publickey).\nfatal: Could not read from remote repository.\n'],
    ['GitAuthFailed', "remote: Permission to acme/repo.git denied to bot.\nfatal: unable to access 'https://github.com/acme/repo.git/': The requested URL returned error: 403\n"],
    ['GitCommandFailed', 'ssh: connect to host github.com port 22: Connection refused\nfatal: Could not read from remote repository.\n'],
    ['GitCommandFailed', "fatal: unable to access 'https://github.com/acme/repo.git/': Could not resolve host: github.com\n"],
    ['GitCommandFailed', 'error: RPC failed; curl 92 HTTP/2 stream 0 was not closed cleanly\nfatal: early EOF\n'],
  ])('classifies as %s: %j', (type, stderr) => {
    const failure = new GitCommandFailedError('git fetch failed (exit 128)', 'fetch', 128, stderr);
    expect(classifyRemoteFailure(failure, 'https://git.example/acme/repo.git')).toMatchObject({ type });
  });
});
