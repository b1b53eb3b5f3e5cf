import { validateBranchName, validateRepositoryUrl, validateTaskId, gitUrlScheme } from './git-input';

const schemes = ['https', 'ssh'];

describe('repository URL validation', () => {
  it.each(['https://git.example.com/org/repo.git', 'ssh://git@git.example.com/org/repo.git', 'git@github.com:org/repo.git'])(
    'accepts %s',
    (url) => expect(validateRepositoryUrl(url, schemes)).toEqual({ ok: true }),
  );

  it.each([
    ['--upload-pack=touch /tmp/pwned', 'whitespace'],
    ['--upload-pack=/tmp/x', 'must not start with "-"'],
    ['ext::sh -c touch% /tmp/pwned', 'whitespace'],
    ['ext::sh', 'remote helper'],
    ['fd::17', 'remote helper'],
    ['https://user:hunter2@git.example.com/repo.git', 'credentials'],
    ['https://token@git.example.com/repo.git', 'credentials'],
    ['http://git.example.com/repo.git', 'scheme "http" is not allowed'],
    ['file:///srv/repo.git', 'scheme "file" is not allowed'],
    ['/srv/repo.git', 'scheme "file" is not allowed'],
    ['https://git.example.com/repo.git\n', 'control'],
    ['repo.git', 'absolute URL'],
    ['', 'non-empty'],
  ])('refuses %j', (url, reason) => {
    const v = validateRepositoryUrl(url, schemes);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toContain(reason);
  });

  it('accepts file URLs only when configured, and never with ".."', () => {
    expect(validateRepositoryUrl('file:///srv/repo.git', ['file'])).toEqual({ ok: true });
    expect(validateRepositoryUrl('file:///srv/../etc/repo.git', ['file']).ok).toBe(false);
  });

  it('recognises scp-like ssh', () => expect(gitUrlScheme('git@host:org/repo')).toBe('ssh'));
});

describe('branch name validation', () => {
  it.each(['main', 'feature/x-1', 'release/2.0', 'agent/T-1/abcd1234'])('accepts %s', (b) =>
    expect(validateBranchName(b)).toEqual({ ok: true }),
  );
  it.each(['-b', '--orphan', 'a..b', 'a b', 'x~1', 'x^', 'a:b', 'a?', 'a*', 'a[', 'a\\b', '/a', 'a/', 'a//b', '.hidden', 'a/.x', 'x.lock', 'x.', '@', 'a@{1}', 'HEAD', 'a\u0001'])(
    'refuses %j',
    (b) => expect(validateBranchName(b).ok).toBe(false),
  );
});

describe('task id validation', () => {
  it.each(['T-123', 'US_001', 'task.7'])('accepts %s', (t) => expect(validateTaskId(t).ok).toBe(true));
  it.each(['', '-rf', '../../x', 'a/b', 'a b', 'x..y', '.x', 'x.lock', 'é', 'a'.repeat(129)])('refuses %j', (t) =>
    expect(validateTaskId(t).ok).toBe(false),
  );
});
