/**
 * Validation for everything from a request that reaches git: repository URLs, branch names,
 * task ids (they become part of a branch name). Pure, shared by the API and the git activities,
 * so hostile input is refused before any process starts.
 */

export type Validation = { ok: true } | { ok: false; reason: string };

const ok: Validation = { ok: true };
const fail = (reason: string): Validation => ({ ok: false, reason });

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The schemes GIT_ALLOWED_SCHEMES may name: those a repository URL has a form for (api/request-formats.ts). */
export const GIT_URL_SCHEMES = ['https', 'http', 'ssh', 'file'] as const;

/** Scheme of a git URL, treating scp-like `user@host:path` as ssh and bare paths as `file`. */
export function gitUrlScheme(url: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (m) return m[1]!.toLowerCase();
  if (/^[a-z][a-z0-9+.-]*::/i.test(url)) return url.slice(0, url.indexOf('::')).toLowerCase() + '::';
  if (/^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/]/.test(url) || /^[A-Za-z0-9.-]+:[^/\\]/.test(url)) return 'ssh';
  if (url.startsWith('/')) return 'file';
  return undefined;
}

/**
 * A repository URL is accepted when its scheme is allowed, it carries no credentials,
 * and nothing in it can be read by git as an option or a remote helper (`ext::`, `fd::`).
 */
export function validateRepositoryUrl(url: string, allowedSchemes: readonly string[]): Validation {
  if (typeof url !== 'string' || url.length === 0) return fail('must be a non-empty string');
  if (url.length > 2048) return fail('must be at most 2048 characters');
  if (CONTROL.test(url) || /\s/.test(url)) return fail('must not contain whitespace or control characters');
  if (url.startsWith('-')) return fail('must not start with "-"');
  const scheme = gitUrlScheme(url);
  if (!scheme) return fail('must be an absolute URL (https://, ssh://, git@host:path)');
  if (scheme.endsWith('::')) return fail(`remote helper "${scheme}" is not allowed`);
  const allowed = allowedSchemes.map((s) => s.toLowerCase());
  const effective = scheme === 'git+ssh' || scheme === 'ssh+git' ? 'ssh' : scheme;
  if (!allowed.includes(effective)) return fail(`scheme "${scheme}" is not allowed (allowed: ${allowed.join(', ')})`);
  if (effective === 'file') {
    const p = url.startsWith('file://') ? url.slice('file://'.length) : url;
    if (!p.startsWith('/')) return fail('file URLs must be absolute');
    if (p.split('/').includes('..')) return fail('must not contain ".." path segments');
    return ok;
  }
  if (url.includes('://')) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return fail('is not a valid URL');
    }
    if (parsed.password) return fail('must not embed credentials; configure GIT_HTTPS_TOKEN or GIT_SSH_KEY_PATH');
    if (parsed.username && effective !== 'ssh') return fail('must not embed credentials; configure GIT_HTTPS_TOKEN');
    if (!parsed.hostname || parsed.hostname.startsWith('-')) return fail('must name a host');
  } else if (/^[^@]*:[^@]*@/.test(url)) {
    return fail('must not embed credentials');
  }
  return ok;
}

/** Branch names as `git check-ref-format --branch` accepts them, minus anything option-like. */
export function validateBranchName(name: string): Validation {
  if (typeof name !== 'string' || name.length === 0) return fail('must be a non-empty string');
  if (name.length > 255) return fail('must be at most 255 characters');
  if (name.startsWith('-')) return fail('must not start with "-"');
  if (CONTROL.test(name)) return fail('must not contain control characters');
  if (/[ ~^:?*[\\]/.test(name)) return fail('must not contain space, ~, ^, :, ?, *, [ or \\');
  if (name.includes('..')) return fail('must not contain ".."');
  if (name.includes('@{')) return fail('must not contain "@{"');
  if (name === '@') return fail('must not be "@"');
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return fail('must not start or end with "/" or contain "//"');
  if (name.endsWith('.')) return fail('must not end with "."');
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return fail('no path component may start with "."');
    if (part.endsWith('.lock')) return fail('no path component may end with ".lock"');
  }
  if (name === 'HEAD') return fail('must not be "HEAD"');
  return ok;
}

/** Task ids become part of the agent branch name, so they are held to a conservative alphabet. */
export const TASK_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function validateTaskId(taskId: string): Validation {
  if (typeof taskId !== 'string' || taskId.length === 0) return fail('must be a non-empty string');
  if (!TASK_ID_PATTERN.test(taskId)) return fail('must be 1-128 characters of letters, digits, ".", "_" or "-", starting with a letter or digit');
  if (taskId.includes('..') || taskId.endsWith('.lock') || taskId.endsWith('.')) return fail('must be usable in a git branch name');
  return ok;
}
