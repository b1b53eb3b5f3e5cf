/**
 * What a failed fetch or push means, read from git's stderr (git exits 128 for every fatal
 * error, so the code alone cannot tell a missing repository from a dropped connection). Every
 * git child runs with LC_ALL=C (hardening.ts), so the messages are git's and the servers' own
 * English text. A permanent answer becomes a non-retryable typed error within one attempt;
 * anything not recognised stays a retryable GitCommandFailedError, so a network fault we did
 * not foresee is retried rather than failing a run.
 */
import { BranchNotFoundError, GitAuthFailedError, GitCommandFailedError, RepositoryNotFoundError } from './errors';

type Verdict = 'transient' | 'auth' | 'repository' | 'branch';

/**
 * Checked in order; the first match decides. Transient faults come first because the generic
 * "Could not read from remote repository" that follows an ssh connection error also follows a
 * missing repository.
 */
const RULES: ReadonlyArray<readonly [Verdict, RegExp]> = [
  // DNS, connection, TLS hiccups, server errors, rate limits, a dropped transfer.
  ['transient', /Could not resolve host|Connection (refused|reset|timed out)|Couldn't connect|timed out|Operation too slow|RPC failed|early EOF|unexpected disconnect|remote end hung up|returned error: (5\d\d|429|408)|SSL_ERROR|gnutls_handshake|Temporary failure/i],
  // The remote exists but will not let us in (or wants credentials we do not have).
  ['auth', /Authentication failed for|HTTP Basic: Access denied|Invalid username or password|returned error: 40[13]\b|could not read (Username|Password) for|Permission denied \(|Permission to \S+ denied|Host key verification failed/i],
  // No such repository: a local path, GitHub, GitLab, any server's 404.
  ['repository', /does not appear to be a git repository|repository '[^']*' not found|Repository not found|project you were looking for could not be found|returned error: 404\b/i],
  // A branch a fetch names is not on the remote.
  ['branch', /couldn't find remote ref/i],
];

/**
 * The typed error a failed network command stands for: `err` itself when it is not a git
 * failure or not recognised as permanent.
 */
export function classifyRemoteFailure(err: unknown, url: string): unknown {
  if (!(err instanceof GitCommandFailedError) || !err.stderr) return err;
  const verdict = RULES.find(([, pattern]) => pattern.test(err.stderr))?.[0];
  const said = firstFatalLine(err.stderr);
  switch (verdict) {
    case 'auth':
      return new GitAuthFailedError(`git could not authenticate to ${url}: ${said} (check GIT_HTTPS_TOKEN / GIT_SSH_KEY_PATH and the account's access)`);
    case 'repository':
      return new RepositoryNotFoundError(`repository ${url} does not exist or is not a git repository: ${said}`);
    case 'branch':
      return new BranchNotFoundError(`${said} (in ${url})`);
    case 'transient':
    case undefined:
      return err;
  }
}

/** Runs a command that talks to `url` and rethrows its failure classified. */
export async function onRemote<T>(url: string, command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (err) {
    throw classifyRemoteFailure(err, url);
  }
}

/** The line that says what went wrong, without git's boilerplate. */
function firstFatalLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const line = lines.find((l) => /^(fatal|error|remote: error|ERROR):/i.test(l)) ?? lines[0] ?? '';
  return line.replace(/^fatal:\s*/i, '').slice(0, 300);
}
