import { createGitRunner } from './run-git';
import { credentialSecrets, networkAccess } from './credentials';

describe('networkAccess', () => {
  const credentials = { httpsToken: 'tok_1234567890abcdef', httpsUsername: 'x-access-token', httpsTokenHosts: ['git.example.com'], sshKeyPath: "/keys/it's id_ed25519" };
  const git = createGitRunner({ secrets: [], defaultTimeoutMs: 10_000 });
  /** What git's credential machinery would send to `host` with these options. */
  const fill = async (net: { args: string[]; env: Record<string, string> }, host: string) =>
    (await git([...net.args, 'credential', 'fill'], { env: net.env, input: `protocol=https\nhost=${host}\n\n`, okExitCodes: [0, 128] })).stdout;

  it('hands the https token to git only through the child environment', async () => {
    const net = networkAccess('https://git.example.com/org/repo.git', ['https'], credentials);
    expect(net.args.join(' ')).not.toContain(credentials.httpsToken);
    expect(Object.values(net.env)).toContain(credentials.httpsToken);

    // Ask git itself which credentials the configured helper produces.
    const stdout = await fill(net, 'git.example.com');
    expect(stdout).toContain('username=x-access-token');
    expect(stdout).toContain(`password=${credentials.httpsToken}`);
  });

  it('gives the token to its configured host only: not to another host, not on a redirect', async () => {
    const elsewhere = networkAccess('https://attacker.example.net/x.git', ['https'], credentials);
    expect(JSON.stringify(elsewhere)).not.toContain(credentials.httpsToken);
    expect(await fill(elsewhere, 'attacker.example.net')).not.toContain(credentials.httpsToken);
    // A fetch from the right host that is redirected elsewhere: git asks for the new host.
    const home = networkAccess('https://git.example.com/org/repo.git', ['https'], credentials);
    expect(await fill(home, 'attacker.example.net')).not.toContain(credentials.httpsToken);
    expect(await fill(home, 'git.example.com:8443')).not.toContain(credentials.httpsToken);
    expect(JSON.stringify(networkAccess('https://git.example.com/r.git', ['https'], { ...credentials, httpsTokenHosts: [] }))).not.toContain(credentials.httpsToken);
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
