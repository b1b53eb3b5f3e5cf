/**
 * What makes a git process safe to point at a worktree the agent wrote. The agent controls
 * every file there, including `.gitattributes`, nested `.git` directories and files, FIFOs and
 * symlinks; the repository's own history is hostile too. Git must never run a program, follow
 * a transport or read configuration that content chose, so every invocation carries:
 *
 * - an explicit git dir from the service's records (callers pass --git-dir / -C; the
 *   worktree's `.git` file is never read, so rewriting it changes nothing);
 * - configuration only from the service-owned mirror plus the overrides below (no system or
 *   global file, no XDG attributes or excludes file);
 * - no hooks, no fsmonitor daemon, no submodule recursion or submodule status (which would run
 *   git inside a nested repository with that repository's config), no replace objects, no
 *   lazy fetch of missing objects (every transport is refused unless a network command opts
 *   back in to the configured ones), no pager, no signing;
 * - an environment rebuilt from an allowlist, so no host secret reaches git or anything it starts.
 *
 * In-tree `.gitattributes` cannot be switched off in git 2.39 (`--attr-source` is 2.40+), but
 * the drivers they name (filter, diff, merge, textconv) only exist in configuration, which is
 * ours; what remains (eol, encoding, `-diff`) changes how content is rendered, so nothing that
 * decides safety reads rendered output: the scanner reads blobs, diffs for review use --text.
 */

/** `-c` overrides every git invocation starts with. Later `-c` (network access) may re-allow transports. */
export const HARDENED_CONFIG: readonly string[] = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.untrackedCache=false',
  'core.attributesFile=/dev/null',
  'core.excludesFile=/dev/null',
  'core.sshCommand=ssh -o BatchMode=yes',
  'core.askPass=',
  'core.pager=cat',
  'core.protectNTFS=true',
  'core.protectHFS=true',
  // No transport unless a network command allows one: a promisor remote cannot fetch lazily.
  'protocol.allow=never',
  'submodule.recurse=false',
  'diff.ignoreSubmodules=all',
  'diff.external=',
  'status.submoduleSummary=false',
  'fetch.recurseSubmodules=false',
  'push.recurseSubmodules=no',
  'commit.gpgSign=false',
  'tag.gpgSign=false',
  'gc.auto=0',
  'maintenance.auto=false',
  'credential.helper=',
].flatMap((setting) => ['-c', setting]);

/** Host variables a git child may see; everything else (keys, tokens, GIT_* overrides) is dropped. */
export const PASS_THROUGH_ENV: readonly string[] = [
  'PATH', 'HOME', 'TMPDIR', 'SSH_AUTH_SOCK',
  'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY',
  'GIT_SSL_CAINFO', 'GIT_SSL_CAPATH', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
];

/** Variables every git child gets, whatever the host has. */
export const HARDENED_ENV: Readonly<Record<string, string>> = {
  LC_ALL: 'C',
  GIT_TERMINAL_PROMPT: '0',
  GCM_INTERACTIVE: 'never',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_ATTR_NOSYSTEM: '1',
  GIT_OPTIONAL_LOCKS: '0',
  GIT_NO_REPLACE_OBJECTS: '1',
  // Honoured by git >= 2.44; older versions are covered by protocol.allow=never above.
  GIT_NO_LAZY_FETCH: '1',
  GIT_PAGER: 'cat',
  GIT_PROTOCOL_FROM_USER: '0',
};

/** Variables a caller may never set for a git child: they would undo the hardening above. */
const FORBIDDEN_CALLER_ENV = /^(GIT_DIR|GIT_WORK_TREE|GIT_COMMON_DIR|GIT_CONFIG.*|GIT_EXEC_PATH|GIT_EXTERNAL_DIFF|GIT_ASKPASS|SSH_ASKPASS|GIT_PROXY_COMMAND|GIT_SSH|GIT_ALTERNATE_OBJECT_DIRECTORIES|GIT_OBJECT_DIRECTORY|GIT_NAMESPACE|GIT_CEILING_DIRECTORIES|LD_.*|NODE_OPTIONS)$/;

/** The environment every git child starts from. */
export function gitBaseEnv(hostEnv: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASS_THROUGH_ENV) {
    const value = hostEnv[name];
    if (value !== undefined) env[name] = value;
  }
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  return { ...env, ...HARDENED_ENV };
}

/**
 * Checks the per-command variables a caller adds (credential plumbing, author identity, a
 * temporary index). Throws for any that would point git at another repository or program.
 */
export function assertCallerEnv(env: Readonly<Record<string, string>> | undefined): void {
  for (const name of Object.keys(env ?? {})) {
    if (FORBIDDEN_CALLER_ENV.test(name)) throw new Error(`git runner: ${name} may not be set per command`);
  }
}
