import { parseConflictedPaths } from './merge-check';
import { assertInside, mirrorPathFor, normaliseRepositoryUrl, workspaceLayout, worktreePathFor } from './paths';
import { PathOutsideWorkspaceError as WorkspacePathError } from '../host/paths';

describe('workspace paths', () => {
  const layout = workspaceLayout('/srv/ws');

  it('gives one mirror to every spelling of a remote', () => {
    const a = mirrorPathFor(layout, 'https://GitHub.com/Org/Repo.git/');
    expect(a).toBe(mirrorPathFor(layout, 'https://github.com/Org/Repo'));
    expect(a).not.toBe(mirrorPathFor(layout, 'https://github.com/org/repo'));
    expect(a).toMatch(/^\/srv\/ws\/mirrors\/[0-9a-f]{16}\.git$/);
    expect(normaliseRepositoryUrl('file:///tmp/r.git')).toBe('file:///tmp/r');
  });

  it('keeps worktree paths inside the root', () => {
    expect(worktreePathFor(layout, 'abc')).toBe('/srv/ws/worktrees/abc');
    expect(() => worktreePathFor(layout, '../../etc')).toThrow(WorkspacePathError);
    expect(() => assertInside('/srv/ws', '/srv/ws')).toThrow(WorkspacePathError);
    expect(() => assertInside('/srv/ws', '/srv/ws-other/x')).toThrow(WorkspacePathError);
  });

  it('reads conflicted paths from merge-tree -z output', () => {
    expect(parseConflictedPaths('0123abcd\0a.txt\0dir/b c.txt\0a.txt\0\0')).toEqual(['a.txt', 'dir/b c.txt']);
  });
});
