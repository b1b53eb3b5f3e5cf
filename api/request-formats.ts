/**
 * The formats of request strings that reach git, as regular expressions the OpenAPI document
 * carries as JSON Schema `pattern`s. A request must match the pattern AND pass the shared
 * validator (domain/git-input.ts), so whatever the document calls invalid is refused; and each
 * pattern only admits strings its validator accepts, so whatever the document calls valid is
 * accepted. schemathesis checks both directions against the running API.
 *
 * Only syntax both JavaScript and Python regular expressions read the same way: lookaheads,
 * classes, no flags, no `\d` (Python's matches non-ASCII digits).
 */

// Characters a control-free, single-line text may hold (the C0 and C1 controls and line separators excluded).
// eslint-disable-next-line no-control-regex
export const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$/;

/** Task ids: they become part of branch names. Same rules as `validateTaskId`. */
export const TASK_ID_FORMAT = /^(?!.*\.\.)(?!.*\.lock$)(?!.*\.$)[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

// One path component of a branch name: printable ASCII but space ~ ^ : ? * [ \ /, or a
// two-byte UTF-8 character (U+00A0-U+07FF: Latin, Greek, Cyrillic, Hebrew, Arabic...). Listing what
// is allowed keeps astral characters out in both regex dialects, so lengths agree in both; the
// bounded alphabet also keeps generating examples from the document fast.
const REF_PART = '[!-)+-.0-9;->@-Z\\]_-}\\u00a0-\\u07ff]+';

/** Branch names as `validateBranchName` (and `git check-ref-format --branch`) accept them. */
export const BRANCH_NAME_FORMAT = new RegExp(
  [
    '^',
    '(?!-)', // not option-like
    '(?!.*\\.\\.)',
    '(?!.*@\\{)',
    '(?!@$)',
    '(?!HEAD$)',
    '(?!.*\\.$)',
    '(?!\\.)(?!.*/\\.)', // no component starts with "."
    '(?!.*\\.lock(?:/|$))', // no component ends with ".lock"
    `${REF_PART}(?:/${REF_PART})*`,
    '$',
  ].join(''),
);

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
// No `xn--` labels: the URL parser refuses malformed punycode.
const LABEL = '(?![Xx][Nn]--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
// A DNS name whose last label starts with a letter (so it is never read as a malformed IPv4 address), or an IPv4 address.
const HOST = `(?:(?:${LABEL}\\.)*(?![Xx][Nn]--)[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?|${OCTET}(?:\\.${OCTET}){3})`;
const PORT = '(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0))?';
const URL_PATH = "(?:/[A-Za-z0-9._~!$&'()*+,;=:@%-]*)*";
const USER = '[A-Za-z0-9_][A-Za-z0-9._-]*';
// scp-like `user@host:path`: the path must not start with "/" or ":" (git would read `host::x` as a remote helper).
const SCP_PATH = "[A-Za-z0-9._~!$&'()*+,;=@%-][A-Za-z0-9._~!$&'()*+,;=:@%/-]*";
// Absolute local path without ".." components, control characters or whitespace (JavaScript's \s, spelled out).
const FILE_PATH = '(?:/(?!\\.\\.(?:/|$))[^\\u0000-\\u0020\\u007f\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff/]*)+';

/** Repository URLs of the allowed schemes, in the forms `validateRepositoryUrl` accepts. */
export function repositoryUrlFormat(allowedSchemes: readonly string[]): RegExp {
  const allowed = new Set(allowedSchemes.map((s) => s.toLowerCase()));
  const forms: string[] = [];
  if (allowed.has('https')) forms.push(`https://${HOST}${PORT}${URL_PATH}`);
  if (allowed.has('http')) forms.push(`http://${HOST}${PORT}${URL_PATH}`);
  if (allowed.has('ssh')) forms.push(`(?:ssh|git\\+ssh|ssh\\+git)://(?:${USER}@)?${HOST}${PORT}${URL_PATH}`, `${USER}@${HOST}:${SCP_PATH}`);
  if (allowed.has('file')) forms.push(`(?:file://)?${FILE_PATH}`);
  return new RegExp(forms.length ? `^(?:${forms.join('|')})$` : '^(?!)$');
}

/** Multi-line free text: line breaks and tabs allowed, other control characters not. */
// eslint-disable-next-line no-control-regex
export const NO_CONTROL_CHARS_BUT_LINES = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$/;
