/**
 * How a git child that talks to a remote gets its credentials: an https token through a
 * credential helper that reads it from that child's environment (never a URL, argv or stored
 * config), an ssh key through GIT_SSH_COMMAND, and a protocol allowlist so a redirect or a
 * crafted URL cannot switch git to a transport we did not allow.
 *
 * The token belongs to the hosts named in GIT_HTTPS_TOKEN_HOSTS, and only they get it: the
 * helper is configured for `https://<host>` alone (git asks a URL-scoped helper only for that
 * scheme and host), and it is not configured at all when the remote is elsewhere. A spawn that
 * names a repository on another server, or a redirect to one, gets no token.
 */
import { gitUrlScheme } from '../../domain/git-input';

export interface GitCredentials {
  httpsToken?: string;
  httpsUsername: string;
  /** Hosts (`host` or `host:port`, lower case) the https token may be sent to. */
  httpsTokenHosts?: readonly string[];
  sshKeyPath?: string;
}

export interface NetworkAccess {
  /** Global options (`-c ...`) to put before the subcommand. */
  args: string[];
  /** Variables for this child only. */
  env: Record<string, string>;
}

const TOKEN_VAR = 'ORCHESTRATOR_GIT_TOKEN';
const USER_VAR = 'ORCHESTRATOR_GIT_USERNAME';

// The helper text is fixed; only variable names appear in argv, the values live in the child env.
const TOKEN_HELPER = `!f() { test "$1" = get || exit 0; echo "username=\${${USER_VAR}}"; echo "password=\${${TOKEN_VAR}}"; }; f`;

/** Options and environment for a fetch / push / ls-remote against `url`. */
export function networkAccess(url: string, allowedSchemes: readonly string[], credentials: GitCredentials): NetworkAccess {
  const args = ['-c', 'protocol.allow=never'];
  for (const scheme of new Set(allowedSchemes.map(transportName))) args.push('-c', `protocol.${scheme}.allow=always`);
  // Give up on a stalled transfer instead of hanging until the activity times out.
  args.push('-c', 'http.lowSpeedLimit=1000', '-c', 'http.lowSpeedTime=60');
  const env: Record<string, string> = { GIT_SSH_COMMAND: sshCommand(credentials.sshKeyPath), GIT_SSH_VARIANT: 'ssh' };

  // Reset inherited helpers first, so no other helper sees (or stores) the token.
  args.push('-c', 'credential.helper=', '-c', 'credential.useHttpPath=false');
  const host = tokenHostOf(url, credentials);
  if (credentials.httpsToken && host) {
    args.push('-c', `credential.https://${host}.helper=${TOKEN_HELPER}`);
    env[USER_VAR] = credentials.httpsUsername;
    env[TOKEN_VAR] = credentials.httpsToken;
  }
  return { args, env };
}

/** The remote's `host[:port]` when it is an https URL on one of the token's hosts. */
function tokenHostOf(url: string, credentials: GitCredentials): string | undefined {
  if (gitUrlScheme(url) !== 'https') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const host = parsed.host.toLowerCase();
  return (credentials.httpsTokenHosts ?? []).some((h) => h.toLowerCase() === host) ? host : undefined;
}

/** Every form of the configured secrets that must be scrubbed from output. */
export function credentialSecrets(credentials: GitCredentials): string[] {
  const token = credentials.httpsToken;
  return token ? [token, `${credentials.httpsUsername}:${token}`] : [];
}

function sshCommand(keyPath: string | undefined): string {
  const base = 'ssh -o BatchMode=yes';
  // GIT_SSH_COMMAND is read by a shell, so the path is single-quoted.
  return keyPath ? `${base} -o IdentitiesOnly=yes -i ${shellQuote(keyPath)}` : base;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function transportName(scheme: string): string {
  const s = scheme.toLowerCase();
  return s === 'git+ssh' || s === 'ssh+git' ? 'ssh' : s;
}
