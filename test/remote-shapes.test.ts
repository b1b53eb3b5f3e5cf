/**
 * Repositories as newcomers have them, spawned on through the real worker with the scripted fake
 * model: a remote that is itself a shallow clone. Real Temporal, Valkey and git.
 */
import path from 'node:path';
import { createRemoteRepo, git, nodeProjectFiles, remoteBranches, showFile } from './support/git-fixtures';
import { startHarness, type Harness } from './support/harness';

describe('spawning on remotes of unusual shapes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ GIT_ALLOWED_SCHEMES: 'file,https,ssh' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('works on a remote that is a shallow clone: its branches are fetched, its gates found, the agent branch pushed to it', async () => {
    const taskId = 'T-shallow-remote';
    const full = createRemoteRepo(nodeProjectFiles());
    const seed = path.join(path.dirname(full.dir), 'seed');
    git(seed, 'commit', '-q', '--allow-empty', '-m', 'second');
    git(seed, 'push', '-q', full.dir, 'main');
    // `git clone --depth 1` of a remote: fetching from it, git refuses (exit 0, a warning) every
    // ref whose history is cut, unless told to update the fetcher's shallow list.
    const shallow = path.join(path.dirname(full.dir), 'shallow.git');
    git(path.dirname(full.dir), 'clone', '-q', '--bare', '--depth', '1', `file://${full.dir}`, shallow);
    h.fakeModel.script(taskId, [
      { tools: [{ name: 'str_replace_based_edit_tool', input: { command: 'create', path: 'hello.txt', file_text: 'hello\n' } }] },
      { text: 'Added hello.txt.' },
    ]);
    const final = await (await h.spawn({ taskId, repository: `file://${shallow}`, gateProfile: 'minimal' })).result();
    // Before: failed GatesUnavailable, "the repository has no ... package.json": the mirror had no branch.
    expect(final.status).toBe('completed');
    expect(final.result?.gates?.map((g) => [g.name, g.outcome])).toEqual([['tests', 'passed']]);
    expect(remoteBranches(shallow)).toContain(`refs/heads/${final.result!.branch!}`);
    expect(showFile(shallow, final.result!.branch!, 'hello.txt')).toBe('hello');
    expect(git(shallow, 'rev-parse', `${final.result!.branch!}^`)).toBe(git(shallow, 'rev-parse', 'main'));
  });
});
