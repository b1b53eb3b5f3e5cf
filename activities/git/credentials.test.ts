import { createGitRunner } from './run-git';
import { credentialSecrets, networkAccess } from './credentials';

describe('networkAccess', () => {
  const credentials = { httpsToken: 'tok_1234567890abcdef', httpsUsername: 'x-access-token', sshKeyPath: "/keys/it's id_ed25519" };

  it('hands the https token to git only through the child environment', async () => {
    const net = networkAccess('https://git.example.com/org/repo.git', ['https'], credentials);
    expect(net.args.join(' ')).not.toContain(credentials.httpsToken);
    expect(Object.values(net.env)).toContain(credentials.httpsToken);

    // Ask git itself which credentials the configured helper produces.
    const git = createGitRunner({ secrets: [], defaultTimeoutMs: 10_000 });
    const { stdout } = await git([...net.args, 'credential', 'fill'], { env: net.env, input: 'protocol=https\nhost=git.example.com\n\n' });
    expect(stdout).toContain('username=x-access-token');
    expect(stdout).toContain(`password=${credentials.httpsToken}`);
  });

  it('does not offer the token to a non-https remote', () => {
    const net = networkAccess('ssh://git@git.example.com/org/repo.git', ['https', 'ssh'], credentials);
    expect(JSON.stringify(net)).not.toContain(credentials.httpsToken);
  });

  it('uses the ssh key non-interactively, with the path quoted for the shell', () => {
    const net = networkAccess('git@git.example.com:org/repo.git', ['ssh'], credentials);
    expect(net.env.GIT_SSH_COMMAND).toBe(`ssh -o BatchMode=yes -o IdentitiesOnly=yes -i '/keys/it'\\''s id_ed25519'`);
  });

  it('allows only the configured transports', () => {
    const net = networkAccess('https://h/r.git', ['https'], credentials);
    expect(net.args).toEqual(expect.arrayContaining(['protocol.allow=never', 'protocol.https.allow=always']));
    expect(net.args.join(' ')).not.toContain('protocol.file.allow');
  });

  it('lists the token and its user:token form as secrets to scrub', () => {
    expect(credentialSecrets(credentials)).toEqual([credentials.httpsToken, `x-access-token:${credentials.httpsToken}`]);
    expect(credentialSecrets({ httpsUsername: 'u' })).toEqual([]);
  });
});
