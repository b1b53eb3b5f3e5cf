/**
 * The rule table. Order matters: when two rules report overlapping text, the earlier one wins,
 * so specific formats come first and the generic assignment rule comes last.
 *
 * Every pattern is linear-time: a look-behind keeps it from starting inside a longer token,
 * every quantifier is bounded, and no quantified group contains another quantifier over the
 * same characters.
 */
import { hasBase62Crc32, isBase64Json, isBech32, decodeBase64 } from './checksums';
import { characterClasses, hasMixedCase, shannonEntropy } from './entropy';
import { isDefaultPassword, isEnvReference, isHexDigest, isPlaceholder, isUuid } from './placeholders';
import type { Rule } from './types';

/** An assignment: optional closing quote of the name, then `=`, `:`, `:=`, `=>` or `,`. */
const ASSIGN = String.raw`[A-Za-z0-9_.\-]{0,20}["']?\]?\s{0,5}(?::=|=>|=|:|,)\s{0,5}["']?`;

/** PEM body → the base64 payload only, so the same key fingerprints alike in any file format. */
function pemBody(secret: string): string {
  return secret.replace(/\\[nrt]/g, '').replace(/[^A-Za-z0-9+/=]/g, '');
}

/**
 * A key body, not a template. Runs of one character are collapsed before the placeholder test:
 * key encodings have fixed runs of their own (every unencrypted OpenSSH key starts
 * `b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB…`), and a body of one repeated
 * character fails the entropy test anyway.
 */
function validPemBody(secret: string): boolean {
  const body = pemBody(secret);
  const head = secret.slice(0, 80).replace(/(.)\1{3,}/g, '$1');
  return body.length >= 64 && !isPlaceholder(head) && shannonEntropy(body.slice(0, 512)) >= 4.5;
}

const PEM_PRIVATE_KEY = /-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----((?:(?!-----)[\s\S]){64,20000})-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----/;

/** A base64-encoded PEM file (Kubernetes Secret data, Helm values, CI variables) that holds a private key. */
function validBase64Pem(secret: string): boolean {
  const decoded = Buffer.from(secret.replace(/\s+/g, ''), 'base64').toString('latin1');
  const m = PEM_PRIVATE_KEY.exec(decoded);
  return m !== null && validPemBody(m[1] as string);
}

/** A password in a connection URL: group 1 of the match is the user name. */
function validUrlPassword(password: string, m: RegExpExecArray): boolean {
  const user = m[1] ?? '';
  if (password === user || isDefaultPassword(password) || isEnvReference(password)) return false;
  if (/password|passwd/i.test(password)) return false; // "mypassword", "authpassword": documentation
  if (/^[%$]/.test(password)) return false;
  return password.length >= 4 && shannonEntropy(password) >= 1.9;
}

/** RFC 2606 documentation hosts and loopback: credentials there are illustrations. */
const EXAMPLE_HOST = /@(?:[A-Za-z0-9-]+\.)*(?:example\.(?:com|org|net)|localhost|127\.0\.0\.1)(?![A-Za-z0-9.-])/i;

function validBasicAuthPassword(password: string, m: RegExpExecArray): boolean {
  if (EXAMPLE_HOST.test(m[0])) return false;
  return validUrlPassword(password, m) && password.length >= 6 && shannonEntropy(password) >= 2.5;
}

function randomLooking(minClasses: number): (secret: string) => boolean {
  return (secret) => characterClasses(secret) >= minClasses;
}

function jwtValid(secret: string): boolean {
  const [header, payload] = secret.split('.');
  if (header === undefined || payload === undefined) return false;
  if (!isBase64Json(header, 'alg') || !isBase64Json(payload)) return false;
  // The jwt.io sample token is documentation.
  return !/John Doe|"sub":\s*"1234567890"/.test(decodeBase64(payload) ?? '');
}

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45;
}

/** Identifier around the generic rule's keyword, e.g. `DB_PASSWORD` or `client.secret`. */
function identifierAt(input: string, index: number): string {
  let start = index;
  while (start > 0 && index - start < 60 && isNameChar(input.charCodeAt(start - 1))) start--;
  let end = index;
  while (end < input.length && end - index < 60 && isNameChar(input.charCodeAt(end))) end++;
  return input.slice(start, end);
}

/** Names that hold something other than a secret value (hashes, ids, settings about secrets). */
const NOT_A_SECRET_NAME =
  /hash|sha\d|sha_|md5|digest|checksum|integrity|etag|fingerprint|uuid|guid|type$|name$|names$|url$|uri$|endpoint|path|file|dir$|length|_len$|size|count|limit|max|min_|expir|ttl|timeout|format|prefix|suffix|header|field|param|version|mode$|kind|scope|policy|regex|pattern|label|placeholder|hint|prompt|descr|enabled|required|rotation|public|tokeniz|tokens|key_?id$|keyid$|token_?id$|address|provider|strategy|store$|manager|usage|salt|nonce|algorithm|cipher|method|reset|_at$|date|time|template|example|sample|test|mock|fake|dummy|column|variable|_var$|ref$|input|policy|secretref|valuefrom|secretkeyref|secretname|secret_?key_?ref/i;

/** Two-letter words that are common inside identifiers (`taskTokenOrId`, `readFromDb`). */
const SHORT_WORDS = new Set(['of', 'or', 'id', 'to', 'in', 'on', 'at', 'by', 'is', 'as', 'if', 'up', 'no', 'ok', 'io', 'db', 'ui', 'js', 'fs', 'os', 'my', 'an', 'do', 'go', 'be', 'we', 'it']);

/**
 * A camelCase / PascalCase / snake_case / CONSTANT_CASE identifier, as opposed to random
 * characters. Split into words, an identifier has at most one odd word (one or two letters,
 * no vowel, a long run of capitals); random strings have several.
 */
function isIdentifierWord(word: string): boolean {
  if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(word)) return false;
  if (word.length <= 3 || /^[A-Z][A-Z0-9_]*$/.test(word)) return true;
  let digits = 0;
  let odd = 0;
  for (const seg of word.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g) ?? []) {
    if (/^[0-9]/.test(seg)) digits++;
    else if (seg === seg.toUpperCase()) odd += seg.length === 1 || seg.length > 4 ? 1 : 0;
    else if (seg.length <= 2) odd += SHORT_WORDS.has(seg.toLowerCase()) ? 0 : 1;
    else odd += /[aeiouy]/i.test(seg) ? 0 : 1;
  }
  return odd <= 1 && digits <= 2;
}

/** Code rather than a value: `config.apiKey`, `opts?.secret`, `Token::new`, `base64TaskToken`, `Uint8Array |`. */
function looksLikeCode(value: string): boolean {
  if (value.includes('::') || value.includes('?.') || value.includes('=>')) return true;
  const parts = value.replace(/[!?|.:=]+$/, '').split('.');
  return parts.every(isIdentifierWord);
}

/**
 * Values in a vendor's token format belong to that vendor's rule, which checks their checksum
 * or shape: the generic rule must not report a token its own rule rejected.
 */
const VENDOR_FORMAT =
  /^(?:gh[pousr]_|github_pat_|gl(?:pat|ptt|rt|dt|oas)-|npm_|pypi-|sk-|[sr]k_live_|whsec_|AIza|GOCSPX-|eyJ|SG\.|SK[0-9a-f]{8}|key-|shp(?:at|ca|pa|ss)_|do[por]_v1_|dapi|hv[sb]\.|hf_|api_org_|xox[a-z]-|xapp-|dp\.|lin_api_|PMAK-|sntry[us]_|glc_|glsa_|ops_|AGE-SECRET|ntn_|secret_|gsk_|tskey-|dckr_|figd_|ATATT|NRAK-|sbp_|pscale_|r8_|xai-|pplx-|pul-|sq0|AKIA|ASIA|ABIA|ACCA|[0-9]{8,10}:AA|.{3}[0-9]Q~)|-us[0-9]{1,2}$|\.atlasv1\./;

function plausibleGenericSecret(value: string, m: RegExpExecArray): boolean {
  const name = identifierAt(m.input, m.index);
  if (NOT_A_SECRET_NAME.test(name) || VENDOR_FORMAT.test(value)) return false;
  // `?token=` of a coverage badge is a public read-only token.
  if (/[?&]$/.test(m.input.slice(0, m.index)) && /badge|shields\.io|codecov\.io/.test(m.input)) return false;
  if (value.length < 8 || isEnvReference(value) || isUuid(value)) return false;
  if (/[(){}[\]<>]/.test(value) || /^[$%@#&*\-/.~\\!|:]/.test(value) || value.includes('://')) return false;
  if (looksLikeCode(value)) return false;
  if (/^[A-Za-z_-]+$/.test(value)) return false; // a word or identifier
  if (/^[a-z]+(?:[-_.][a-z0-9]+){2,}$/.test(value)) return false; // kebab-case words: a name, not a key
  if (/^[A-Z0-9_]+$/.test(value) && value.includes('_')) return false; // CONSTANT_NAME
  if (/^[\d.:\-_+/TZ ]+$/.test(value)) return false; // number, date, version, address
  if (/\.(?:json|ya?ml|pem|key|crt|cer|p12|pfx|jks|txt|env|ini|conf|cfg|toml|xml|js|ts|py|go|sh)$/i.test(value)) return false;
  if (/^0x[0-9a-f]{40}$/i.test(value)) return false; // blockchain address
  if (/^sha\d{1,3}-/.test(value)) return false; // subresource integrity
  if (isHexDigest(value) && /^[0-9]+$|^[a-f]+$/.test(value)) return false;
  const entropy = shannonEntropy(value);
  const classes = characterClasses(value);
  if (value.length < 16) return classes >= 3 && entropy >= 2.9;
  if (value.length < 24) return (classes >= 3 && entropy >= 3.2) || (classes >= 2 && entropy >= 3.5);
  return classes >= 2 && entropy >= 3.5;
}

const githubClassic = (prefix: string, id: string, description: string): Rule => ({
  id,
  description,
  keywords: [`${prefix}_`],
  pattern: new RegExp(String.raw`(?<![A-Za-z0-9_])(${prefix}_[A-Za-z0-9]{36})(?![A-Za-z0-9_])`),
  validate: (s) => hasBase62Crc32(s, 4),
});

/** Shorthand for prefixed tokens: `(?<!tokenchar)(<body>)(?!tokenchar)`. */
function token(body: string): RegExp {
  return new RegExp(String.raw`(?<![A-Za-z0-9_\-])(${body})(?![A-Za-z0-9_\-])`);
}

export const RULES: readonly Rule[] = [
  {
    id: 'gcp-service-account',
    description: 'Google Cloud service-account JSON private key',
    keywords: ['"private_key"'],
    pattern: /"private_key"\s{0,5}:\s{0,5}"(-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY-----(?:[^"\\]|\\.){64,20000}?-----END[ A-Z0-9]{0,40}PRIVATE KEY-----(?:\\n)?)"/,
    nearby: { pattern: /"type"\s{0,5}:\s{0,5}"service_account"/, span: 6000 },
    validate: validPemBody,
    normalize: pemBody,
    placeholderCheck: false,
  },
  {
    id: 'private-key',
    description: 'PEM, OpenSSH or PGP private key',
    keywords: ['-----begin'],
    multiline: true,
    pattern: PEM_PRIVATE_KEY,
    validate: validPemBody,
    normalize: pemBody,
    placeholderCheck: false,
  },
  {
    id: 'private-key-base64',
    description: 'Base64-encoded PEM or OpenSSH private key',
    // base64 of "-----BEGIN " at the start of a value; `base64` without -w0 wraps at 76 columns.
    keywords: ['ls0tls1crudjti'],
    multiline: true,
    pattern: /(?<![A-Za-z0-9+/])(LS0tLS1CRUdJTi[A-Za-z0-9+/]{60,30000}={0,2}(?:\r?\n[ \t]{0,20}[A-Za-z0-9+/]{4,76}={0,2}(?![^\r\n])){0,400})/,
    validate: validBase64Pem,
    normalize: (s) => s.replace(/\s+/g, ''),
    placeholderCheck: false,
  },
  {
    id: 'aws-access-key-id',
    description: 'AWS access key ID',
    keywords: ['akia', 'asia', 'abia', 'acca'],
    pattern: /(?<![A-Za-z0-9])((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})(?![A-Za-z0-9])/,
    minEntropy: 3.0,
    allow: [/EXAMPLE/],
  },
  {
    id: 'aws-secret-access-key',
    description: 'AWS secret access key',
    keywords: [
      'secret_access_key', 'secret-access-key', 'secretaccesskey', 'secret access key', 'secret.access.key',
      'aws_secret', 'aws-secret', 'awssecret', 'aws secret', 'aws.secret',
    ],
    pattern: new RegExp(
      String.raw`(?:secret[_\-. ]?access[_\-. ]?key|aws[_\-. ]?secret(?:[_\-. ]?(?:access[_\-. ]?)?key)?)${ASSIGN}([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])`,
      'i',
    ),
    minEntropy: 4.0,
    allow: [/EXAMPLE/i],
    validate: randomLooking(3),
  },
  githubClassic('ghp', 'github-pat', 'GitHub personal access token (classic)'),
  githubClassic('gho', 'github-oauth', 'GitHub OAuth access token'),
  githubClassic('ghu', 'github-user-to-server', 'GitHub App user-to-server token'),
  githubClassic('ghs', 'github-server-to-server', 'GitHub App installation (server-to-server) token'),
  githubClassic('ghr', 'github-refresh-token', 'GitHub refresh token'),
  {
    id: 'github-fine-grained-pat',
    description: 'GitHub fine-grained personal access token',
    keywords: ['github_pat_'],
    pattern: token(String.raw`github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}`),
    minEntropy: 4.0,
  },
  {
    id: 'gitlab-pat',
    description: 'GitLab personal, project or group access token',
    keywords: ['glpat-'],
    pattern: token(String.raw`glpat-[A-Za-z0-9_\-]{20,64}(?:\.[0-9a-z]{2}\.[0-9a-z]{9})?`),
    minEntropy: 3.5,
  },
  {
    id: 'gitlab-pipeline-trigger-token',
    description: 'GitLab pipeline trigger token',
    keywords: ['glptt-'],
    pattern: token(String.raw`glptt-[0-9a-f]{40}`),
    minEntropy: 3.0,
  },
  {
    id: 'gitlab-runner-token',
    description: 'GitLab runner authentication token',
    keywords: ['glrt-'],
    pattern: token(String.raw`glrt-[A-Za-z0-9_\-]{20,64}`),
    minEntropy: 3.5,
  },
  {
    id: 'gitlab-deploy-token',
    description: 'GitLab deploy token',
    keywords: ['gldt-'],
    pattern: token(String.raw`gldt-[A-Za-z0-9_\-]{20,64}`),
    minEntropy: 3.5,
  },
  {
    id: 'gitlab-oauth-secret',
    description: 'GitLab OAuth application secret',
    keywords: ['gloas-'],
    pattern: token(String.raw`gloas-[0-9a-f]{64}`),
    minEntropy: 3.0,
  },
  {
    id: 'npm-token',
    description: 'npm access token',
    keywords: ['npm_'],
    pattern: /(?<![A-Za-z0-9_])(npm_[A-Za-z0-9]{36})(?![A-Za-z0-9_])/,
    validate: (s) => hasBase62Crc32(s, 4),
  },
  {
    id: 'pypi-token',
    description: 'PyPI API token',
    keywords: ['pypi-ageichlwas5vcmc'],
    pattern: token(String.raw`pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,1000}`),
    minEntropy: 4.0,
  },
  {
    id: 'anthropic-api-key',
    description: 'Anthropic API key',
    keywords: ['sk-ant-api03-'],
    pattern: token(String.raw`sk-ant-api03-[A-Za-z0-9_\-]{93}AA`),
    minEntropy: 4.0,
  },
  {
    id: 'anthropic-admin-key',
    description: 'Anthropic Admin API key',
    keywords: ['sk-ant-admin01-'],
    pattern: token(String.raw`sk-ant-admin01-[A-Za-z0-9_\-]{93}AA`),
    minEntropy: 4.0,
  },
  {
    id: 'openai-project-key',
    description: 'OpenAI project API key',
    keywords: ['sk-proj-'],
    pattern: token(String.raw`sk-proj-[A-Za-z0-9_\-]{20,200}T3BlbkFJ[A-Za-z0-9_\-]{20,200}`),
    minEntropy: 4.0,
  },
  {
    id: 'openai-service-account-key',
    description: 'OpenAI service-account API key',
    keywords: ['sk-svcacct-'],
    pattern: token(String.raw`sk-svcacct-[A-Za-z0-9_\-]{20,200}T3BlbkFJ[A-Za-z0-9_\-]{20,200}`),
    minEntropy: 4.0,
  },
  {
    id: 'openai-admin-key',
    description: 'OpenAI admin API key',
    keywords: ['sk-admin-'],
    pattern: token(String.raw`sk-admin-[A-Za-z0-9_\-]{20,200}T3BlbkFJ[A-Za-z0-9_\-]{20,200}`),
    minEntropy: 4.0,
  },
  {
    id: 'openai-legacy-key',
    description: 'OpenAI API key (legacy user key)',
    anchored: false,
    keywords: ['t3blbkfj'],
    pattern: token(String.raw`sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}`),
    minEntropy: 4.0,
  },
  {
    id: 'slack-bot-token',
    description: 'Slack bot token',
    keywords: ['xoxb-'],
    pattern: token(String.raw`xoxb-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{24,34}`),
    validate: (s) => hasMixedCase(s.slice(s.lastIndexOf('-') + 1)),
  },
  {
    id: 'slack-user-token',
    description: 'Slack user or workspace token',
    keywords: ['xoxp-', 'xoxe-', 'xoxa-', 'xoxr-', 'xoxs-'],
    pattern: token(String.raw`xox[aeprs]-[0-9]{10,13}-[0-9]{10,13}-[0-9]{10,13}-[a-f0-9]{32}`),
    minEntropy: 3.0,
  },
  {
    id: 'slack-app-token',
    description: 'Slack app-level token',
    keywords: ['xapp-'],
    pattern: token(String.raw`xapp-[0-9]-[A-Z0-9]{9,12}-[0-9]{10,13}-[a-f0-9]{64}`),
    minEntropy: 3.0,
  },
  {
    id: 'slack-webhook-url',
    description: 'Slack incoming webhook URL',
    keywords: ['hooks.slack.com'],
    pattern: /hooks\.slack\.com\/services\/(T[A-Z0-9]{8,12}\/B[A-Z0-9]{8,12}\/[A-Za-z0-9]{24})(?![A-Za-z0-9])/,
    validate: (s) => hasMixedCase(s.slice(s.lastIndexOf('/') + 1)),
  },
  {
    id: 'stripe-secret-key',
    description: 'Stripe live secret key',
    keywords: ['sk_live_'],
    pattern: /(?<![A-Za-z0-9_])(sk_live_[A-Za-z0-9]{24,247})(?![A-Za-z0-9_])/,
    minEntropy: 3.5,
  },
  {
    id: 'stripe-restricted-key',
    description: 'Stripe live restricted key',
    keywords: ['rk_live_'],
    pattern: /(?<![A-Za-z0-9_])(rk_live_[A-Za-z0-9]{24,247})(?![A-Za-z0-9_])/,
    minEntropy: 3.5,
  },
  {
    id: 'stripe-webhook-secret',
    description: 'Stripe webhook signing secret',
    keywords: ['whsec_'],
    pattern: /(?<![A-Za-z0-9_])(whsec_[A-Za-z0-9+/]{32,88}={0,2})(?![A-Za-z0-9+/=])/,
    minEntropy: 3.5,
  },
  {
    id: 'google-api-key',
    description: 'Google API key',
    keywords: ['aiza'],
    pattern: token(String.raw`AIza[0-9A-Za-z_\-]{35}`),
    minEntropy: 3.5,
  },
  {
    id: 'google-oauth-client-secret',
    description: 'Google OAuth client secret',
    keywords: ['gocspx-'],
    pattern: token(String.raw`GOCSPX-[A-Za-z0-9_\-]{28}`),
    minEntropy: 3.5,
  },
  {
    id: 'jwt',
    description: 'JSON Web Token',
    keywords: ['eyj'],
    pattern: token(String.raw`eyJ[A-Za-z0-9_\-]{10,2000}\.eyJ[A-Za-z0-9_\-]{10,8000}\.[A-Za-z0-9_\-]{16,1000}`),
    validate: jwtValid,
  },
  {
    id: 'sendgrid-api-key',
    description: 'SendGrid API key',
    keywords: ['sg.'],
    pattern: token(String.raw`SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}`),
    minEntropy: 4.0,
  },
  {
    id: 'twilio-api-key',
    description: 'Twilio API key SID',
    keywords: ['sk'],
    pattern: /(?<![A-Za-z0-9])(SK[0-9a-f]{32})(?![A-Za-z0-9])/,
    minEntropy: 3.2,
    validate: (s) => /[a-f]/.test(s.slice(2)) && /[0-9]/.test(s),
  },
  {
    id: 'twilio-auth-token',
    description: 'Twilio auth token',
    keywords: ['twilio'],
    pattern: new RegExp(String.raw`twilio[A-Za-z0-9_.\-]{0,30}?(?:auth|token|secret)${ASSIGN}([a-f0-9]{32})(?![A-Za-z0-9])`, 'i'),
    minEntropy: 3.2,
  },
  {
    id: 'mailgun-api-key',
    description: 'Mailgun API key',
    keywords: ['key-'],
    pattern: token(String.raw`key-[0-9a-f]{32}`),
    minEntropy: 3.2,
  },
  {
    id: 'shopify-access-token',
    description: 'Shopify access token',
    keywords: ['shpat_', 'shpca_', 'shppa_'],
    pattern: token(String.raw`shp(?:at|ca|pa)_[a-fA-F0-9]{32}`),
    minEntropy: 3.2,
  },
  {
    id: 'shopify-shared-secret',
    description: 'Shopify app shared secret',
    keywords: ['shpss_'],
    pattern: token(String.raw`shpss_[a-fA-F0-9]{32}`),
    minEntropy: 3.2,
  },
  {
    id: 'digitalocean-pat',
    description: 'DigitalOcean personal access token',
    keywords: ['dop_v1_'],
    pattern: token(String.raw`dop_v1_[a-f0-9]{64}`),
    minEntropy: 3.2,
  },
  {
    id: 'digitalocean-oauth-token',
    description: 'DigitalOcean OAuth or refresh token',
    keywords: ['doo_v1_', 'dor_v1_'],
    pattern: token(String.raw`do[or]_v1_[a-f0-9]{64}`),
    minEntropy: 3.2,
  },
  {
    id: 'databricks-token',
    description: 'Databricks personal access token',
    keywords: ['dapi'],
    pattern: /(?<![A-Za-z0-9_-])(dapi[a-f0-9]{32}(?:-[0-9])?)(?![A-Za-z0-9_])/,
    minEntropy: 3.2,
  },
  {
    id: 'vault-service-token',
    description: 'HashiCorp Vault service token',
    keywords: ['hvs.'],
    pattern: /(?<![A-Za-z0-9_\-.])(hvs\.[A-Za-z0-9_-]{24,300})(?![A-Za-z0-9_-])/,
    minEntropy: 3.8,
    validate: (s) => hasMixedCase(s.slice(4)),
  },
  {
    id: 'vault-batch-token',
    description: 'HashiCorp Vault batch token',
    keywords: ['hvb.'],
    pattern: /(?<![A-Za-z0-9_\-.])(hvb\.[A-Za-z0-9_-]{138,300})(?![A-Za-z0-9_-])/,
    minEntropy: 4.0,
  },
  {
    id: 'huggingface-token',
    description: 'Hugging Face access token',
    keywords: ['hf_', 'api_org_'],
    pattern: /(?<![A-Za-z0-9_-])((?:hf_|api_org_)[A-Za-z]{34})(?![A-Za-z0-9_-])/,
    minEntropy: 3.8,
    validate: (s) => hasMixedCase(s.slice(s.lastIndexOf('_') + 1)),
  },
  {
    id: 'telegram-bot-token',
    description: 'Telegram bot token',
    anchored: false,
    keywords: [':aa'],
    pattern: /(?<![A-Za-z0-9_\-:])([0-9]{8,10}:AA[A-Za-z0-9_-]{33})(?![A-Za-z0-9_-])/,
    validate: (s) => shannonEntropy(s.slice(s.indexOf(':') + 3)) >= 3.8,
  },
  {
    id: 'azure-storage-account-key',
    description: 'Azure storage account key',
    keywords: ['accountkey'],
    pattern: /AccountKey\s{0,3}=\s{0,3}([A-Za-z0-9+/]{86}==)(?![A-Za-z0-9+/=])/i,
    minEntropy: 4.5,
    // The storage emulator's key is public, published with Azurite.
    validate: (_s, m) => !/AccountName\s{0,3}=\s{0,3}devstoreaccount1/i.test(m.input),
  },
  {
    id: 'azure-ad-client-secret',
    description: 'Azure AD (Entra ID) application client secret',
    anchored: false,
    keywords: ['q~'],
    pattern: /(?<![A-Za-z0-9_~.-])([A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})(?![A-Za-z0-9_~.-])/,
    minEntropy: 3.8,
  },
  {
    id: 'azure-shared-access-key',
    description: 'Azure Service Bus / Event Hubs / IoT shared access key',
    keywords: ['sharedaccesskey'],
    pattern: /SharedAccessKey\s{0,3}=\s{0,3}([A-Za-z0-9+/]{42,43}=)(?![A-Za-z0-9+/=])/i,
    minEntropy: 4.0,
  },
  {
    id: 'doppler-token',
    description: 'Doppler token',
    keywords: ['dp.pt.', 'dp.st.', 'dp.sa.', 'dp.ct.', 'dp.scim.', 'dp.audit.'],
    pattern: /(?<![A-Za-z0-9_\-.])(dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44})(?![A-Za-z0-9])/,
    minEntropy: 4.0,
  },
  {
    id: 'linear-api-key',
    description: 'Linear API key',
    keywords: ['lin_api_'],
    pattern: token(String.raw`lin_api_[A-Za-z0-9]{40}`),
    minEntropy: 4.0,
  },
  {
    id: 'postman-api-key',
    description: 'Postman API key',
    keywords: ['pmak-'],
    pattern: token(String.raw`PMAK-[a-f0-9]{24}-[a-f0-9]{34}`),
    minEntropy: 3.2,
  },
  {
    id: 'sentry-user-token',
    description: 'Sentry user auth token',
    keywords: ['sntryu_'],
    pattern: token(String.raw`sntryu_[a-f0-9]{64}`),
    minEntropy: 3.2,
  },
  {
    id: 'sentry-org-token',
    description: 'Sentry organization auth token',
    keywords: ['sntrys_'],
    pattern: /(?<![A-Za-z0-9_-])(sntrys_eyJ[A-Za-z0-9+/=]{30,800}_[A-Za-z0-9+/]{43})(?![A-Za-z0-9+/_-])/,
    validate: (s) => isBase64Json(s.slice(7, s.lastIndexOf('_'))),
  },
  {
    id: 'grafana-cloud-token',
    description: 'Grafana Cloud access policy token',
    keywords: ['glc_'],
    pattern: /(?<![A-Za-z0-9_-])(glc_[A-Za-z0-9+/]{32,400}={0,2})(?![A-Za-z0-9+/=_-])/,
    minEntropy: 4.0,
  },
  {
    id: 'grafana-service-account-token',
    description: 'Grafana service account token',
    keywords: ['glsa_'],
    pattern: token(String.raw`glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}`),
    minEntropy: 4.0,
  },
  {
    id: 'grafana-api-key',
    description: 'Grafana API key (legacy)',
    keywords: ['eyjrijoi'],
    pattern: /(?<![A-Za-z0-9_\-+/])(eyJrIjoi[A-Za-z0-9+/]{40,400}={0,2})(?![A-Za-z0-9+/=_\-.])/,
    validate: (s) => isBase64Json(s, 'k'),
  },
  {
    id: '1password-service-account-token',
    description: '1Password service account token',
    keywords: ['ops_eyj'],
    pattern: /(?<![A-Za-z0-9_-])(ops_eyJ[A-Za-z0-9+/]{250,4000}={0,3})(?![A-Za-z0-9+/=_-])/,
    validate: (s) => isBase64Json(s.slice(4)),
  },
  {
    id: 'age-secret-key',
    description: 'age encryption secret key',
    keywords: ['age-secret-key-1'],
    pattern: /(?<![A-Za-z0-9_-])(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})(?![A-Za-z0-9])/,
    validate: isBech32,
  },
  {
    id: 'notion-token',
    description: 'Notion integration token',
    keywords: ['ntn_', 'secret_'],
    pattern: token(String.raw`ntn_[0-9]{11}[A-Za-z0-9]{35}|secret_[A-Za-z0-9]{43}`),
    minEntropy: 4.0,
    validate: (s) => hasMixedCase(s.slice(s.indexOf('_') + 1)),
  },
  {
    id: 'groq-api-key',
    description: 'Groq API key',
    keywords: ['gsk_'],
    pattern: token(String.raw`gsk_[A-Za-z0-9]{52}`),
    minEntropy: 4.0,
  },
  {
    id: 'tailscale-key',
    description: 'Tailscale auth or API key',
    keywords: ['tskey-'],
    pattern: token(String.raw`tskey-(?:auth|api|client|scim|webhook)-[A-Za-z0-9]{6,20}-[A-Za-z0-9]{20,64}`),
    minEntropy: 4.0,
  },
  {
    id: 'docker-hub-token',
    description: 'Docker Hub personal or organization access token',
    keywords: ['dckr_pat_', 'dckr_oat_'],
    pattern: token(String.raw`dckr_(?:pat|oat)_[A-Za-z0-9_\-]{27}`),
    minEntropy: 3.8,
  },
  {
    id: 'cloudflare-api-token',
    description: 'Cloudflare API token',
    keywords: ['cloudflare', 'cf_api', 'cf-api', 'cf.api', 'cfapi', 'cf_token', 'cf-token', 'cftoken', 'cf_key', 'cf-key'],
    pattern: new RegExp(String.raw`(?:cloudflare|cf)[_\-.]?(?:api[_\-.]?)?(?:token|key)${ASSIGN}([A-Za-z0-9_\-]{40})(?![A-Za-z0-9_\-])`, 'i'),
    minEntropy: 4.0,
    validate: randomLooking(3),
  },
  {
    id: 'figma-token',
    description: 'Figma personal access token',
    keywords: ['figd_'],
    pattern: token(String.raw`figd_[A-Za-z0-9_\-]{38,60}`),
    minEntropy: 4.0,
  },
  {
    id: 'atlassian-api-token',
    description: 'Atlassian API token',
    keywords: ['atatt3'],
    pattern: /(?<![A-Za-z0-9_-])(ATATT3[A-Za-z0-9_\-=]{150,250})(?![A-Za-z0-9_\-=])/,
    minEntropy: 4.5,
  },
  {
    id: 'newrelic-user-api-key',
    description: 'New Relic user API key',
    keywords: ['nrak-'],
    pattern: token(String.raw`NRAK-[A-Z0-9]{27}`),
    minEntropy: 3.8,
  },
  {
    id: 'supabase-token',
    description: 'Supabase personal access token',
    keywords: ['sbp_'],
    pattern: token(String.raw`sbp_[a-f0-9]{40}`),
    minEntropy: 3.2,
  },
  {
    id: 'planetscale-token',
    description: 'PlanetScale service token or password',
    keywords: ['pscale_'],
    pattern: token(String.raw`pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.\-]{32,64}`),
    minEntropy: 4.0,
  },
  {
    id: 'replicate-api-token',
    description: 'Replicate API token',
    keywords: ['r8_'],
    pattern: token(String.raw`r8_[A-Za-z0-9]{37}`),
    minEntropy: 4.0,
  },
  {
    id: 'xai-api-key',
    description: 'xAI API key',
    keywords: ['xai-'],
    pattern: token(String.raw`xai-[A-Za-z0-9]{80}`),
    minEntropy: 4.0,
  },
  {
    id: 'perplexity-api-key',
    description: 'Perplexity API key',
    keywords: ['pplx-'],
    pattern: token(String.raw`pplx-[A-Za-z0-9]{48}`),
    minEntropy: 4.0,
  },
  {
    id: 'pulumi-access-token',
    description: 'Pulumi access token',
    keywords: ['pul-'],
    pattern: token(String.raw`pul-[a-f0-9]{40}`),
    minEntropy: 3.2,
  },
  {
    id: 'terraform-cloud-token',
    description: 'Terraform Cloud / Enterprise API token',
    anchored: false,
    keywords: ['atlasv1'],
    pattern: /(?<![A-Za-z0-9])([A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70})(?![A-Za-z0-9_=-])/,
    minEntropy: 4.0,
  },
  {
    id: 'square-token',
    description: 'Square access token or application secret',
    keywords: ['sq0atp-', 'sq0csp-'],
    pattern: token(String.raw`sq0(?:atp|csp)-[A-Za-z0-9_\-]{22,43}`),
    minEntropy: 3.8,
  },
  {
    id: 'mailchimp-api-key',
    description: 'Mailchimp API key',
    anchored: false,
    keywords: ['-us'],
    pattern: /(?<![A-Za-z0-9])([0-9a-f]{32}-us[0-9]{1,2})(?![A-Za-z0-9])/,
    minEntropy: 3.2,
  },
  {
    id: 'postgres-url',
    description: 'PostgreSQL connection URL with a password',
    keywords: ['postgres', 'pgsql'],
    pattern: /(?<![A-Za-z0-9+.-])(?:postgres|postgresql|pgsql)(?:\+[a-z0-9]{1,20})?:\/\/([^\s:@/?#'"`<>]{0,100}):([^\s:@/?#'"`<>]{1,200})@[A-Za-z0-9.\-_%[\]]{1,255}/i,
    secretGroup: 2,
    validate: validUrlPassword,
  },
  {
    id: 'mysql-url',
    description: 'MySQL / MariaDB connection URL with a password',
    keywords: ['mysql', 'mariadb'],
    pattern: /(?<![A-Za-z0-9+.-])(?:mysql|mysqlx|mariadb)(?:\+[a-z0-9]{1,20})?:\/\/([^\s:@/?#'"`<>]{0,100}):([^\s:@/?#'"`<>]{1,200})@[A-Za-z0-9.\-_%[\]]{1,255}/i,
    secretGroup: 2,
    validate: validUrlPassword,
  },
  {
    id: 'mongodb-url',
    description: 'MongoDB connection URL with a password',
    keywords: ['mongodb'],
    pattern: /(?<![A-Za-z0-9+.-])mongodb(?:\+srv)?:\/\/([^\s:@/?#'"`<>]{0,100}):([^\s:@/?#'"`<>]{1,200})@[A-Za-z0-9.\-_%[\]]{1,255}/i,
    secretGroup: 2,
    validate: validUrlPassword,
  },
  {
    id: 'redis-url',
    description: 'Redis connection URL with a password',
    keywords: ['redis'],
    pattern: /(?<![A-Za-z0-9+.-])rediss?:\/\/([^\s:@/?#'"`<>]{0,100}):([^\s:@/?#'"`<>]{1,200})@[A-Za-z0-9.\-_%[\]]{1,255}/i,
    secretGroup: 2,
    validate: validUrlPassword,
  },
  {
    id: 'amqp-url',
    description: 'AMQP (RabbitMQ) connection URL with a password',
    keywords: ['amqp'],
    pattern: /(?<![A-Za-z0-9+.-])amqps?:\/\/([^\s:@/?#'"`<>]{0,100}):([^\s:@/?#'"`<>]{1,200})@[A-Za-z0-9.\-_%[\]]{1,255}/i,
    secretGroup: 2,
    validate: validUrlPassword,
  },
  {
    id: 'basic-auth-url',
    description: 'HTTP URL with embedded credentials',
    keywords: ['http://', 'https://'],
    pattern: /(?<![A-Za-z0-9+.-])https?:\/\/([^\s:@/?#'"`<>]{1,100}):([^\s:@/?#'"`<>]{1,200})@[A-Za-z0-9.\-_%[\]]{1,255}/i,
    secretGroup: 2,
    validate: validBasicAuthPassword,
  },
  {
    id: 'generic-secret',
    description: 'High-entropy value assigned to a password/secret/token/API-key name',
    keywords: [
      'password', 'passwd', 'passphrase', 'pwd', 'secret', 'token', 'credential', 'apikey',
      ...['api', 'access', 'auth', 'signing', 'encryption', 'master', 'private'].flatMap((w) => ['_', '-', '.'].map((sep) => `${w}${sep}key`)),
      'accesskey', 'authkey', 'signingkey', 'encryptionkey', 'masterkey', 'privatekey',
    ],
    pattern: new RegExp(
      String.raw`(?:password|passwd|passphrase|pwd|secret|token|api[_.\-]?key|access[_.\-]?key|auth[_.\-]?key|signing[_.\-]?key|encryption[_.\-]?key|master[_.\-]?key|private[_.\-]?key|credentials?)` +
        String.raw`[A-Za-z0-9_.\-]{0,30}["']?\]?\s{0,5}(?::=|=>|\|\|=|\?\?=|=|:)\s{0,5}` +
        String.raw`(?:"([^"\s]{8,200})"|'([^'\s]{8,200})'|` + '`([^`\\s]{8,200})`' + String.raw`|([^\s"'` + '`' + String.raw`,;&)}\]]{8,200}))`,
      'i',
    ),
    validate: plausibleGenericSecret,
  },
];
