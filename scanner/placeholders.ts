/** Recognisers for values that look like secrets but are not: placeholders, references, digests, ids. */

/**
 * Documentation examples and template text. A random token containing one of these words by
 * chance is astronomically unlikely, so the check is safe to apply to every rule.
 */
const PLACEHOLDER =
  /example|placeholder|changeme|change[_-]me|your[_-]?(?:api|secret|token|key|pass|own|app|client|access|real|private)|xxxx|\*\*\*|redacted|dummy|sample|insert[_-]?(?:your|key|token|here)|replace[_-]?(?:me|with|this)|<[^>\n]{0,80}>|\$\{|\{\{|%\(|\.\.\.|(.)\1{7,}|12345678|abcdefgh|abc-def|qwerty|_here\b|-here\b/i;

/** True when `value` reads as a placeholder rather than a real secret. */
export function isPlaceholder(value: string): boolean {
  return PLACEHOLDER.test(value);
}

const ENV_REFERENCE =
  /^\$[A-Za-z_{(]|^%[A-Za-z_]\w*%$|process\.env|import\.meta\.env|os\.environ|os\.getenv|getenv\s*\(|System\.getenv|\bENV\[|ENV\.fetch|\benv\(|Deno\.env|secrets\.[A-Z_]|\$\{\{/;

/** True when `value` refers to an environment variable or secret store instead of holding a secret. */
export function isEnvReference(value: string): boolean {
  return ENV_REFERENCE.test(value);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a canonical UUID. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

const HEX_DIGEST = /^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})$/i;

/** True for an MD5/SHA-1/SHA-256/SHA-512 digest written in hex. */
export function isHexDigest(value: string): boolean {
  return HEX_DIGEST.test(value);
}

/** Values conventionally used as local-development passwords; not worth a finding. */
const DEFAULT_PASSWORDS = new Set([
  'password', 'passwd', 'pass', 'secret', 'changeme', 'postgres', 'postgresql', 'mysql', 'root', 'admin',
  'administrator', 'guest', 'test', 'testing', 'user', 'username', 'dev', 'development', 'local', 'localhost',
  'mongo', 'mongodb', 'redis', 'rabbitmq', 'example', 'default', 'demo', 'sa', 'pw', 'pwd', 'toor', 'letmein',
  'docker', 'app', 'foo', 'bar', 'baz', 'qwerty', 'none', 'null', 'nil', 'empty', 'temp', 'tmp', 'secret123',
  'password123', 'password1', 'admin123', 'test123', 'p@ssw0rd', 'p4ssw0rd', 'passw0rd',
]);

/** True for a well-known default or throwaway password. */
export function isDefaultPassword(value: string): boolean {
  return DEFAULT_PASSWORDS.has(value.toLowerCase());
}
