/**
 * The rule table. Order matters: when two rules report overlapping text, the earlier one wins,
 * so specific formats come first and the generic assignment rule comes last.
 *
 * Every pattern is linear-time: a look-behind keeps it from starting inside a longer token
 * (or, for the distinctive formats of `gluedToken`, its keyword's position: they are found glued
 * to other characters), every quantifier is bounded, and no quantified group contains another
 * quantifier over the same characters.
 */
import { hasBase62Crc32, isBase64Json, isBech32, decodeBase64 } from './checksums';
import { characterClasses, hasMixedCase, shannonEntropy } from './entropy';
import { isEnvReference, isHexDigest, isPlaceholder, isUuid } from './placeholders';
import { ASSIGN, NOT_A_SECRET_NAME, VENDOR_FORMAT, gluedToken, identifierAt, looksLikeCode, token, validBasicAuthPassword, validUrlPassword } from './value-checks';
import { CONTEXT_RULES } from './context-rules';
import { CREDENTIAL_RULES } from './credential-rules';
import type { Rule } from './types';

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

function plausibleGenericSecret(value: string, m: RegExpExecArray): boolean {
  const name = identifierAt(m.input, m.index);
  if (NOT_A_SECRET_NAME.test(name) || VENDOR_FORMAT.test(value)) return false;
  // `?token=` of a coverage badge is a public read-only token.
  if (/[?&]$/.test(m.input.slice(0, m.index)) && /badge|shields\.io|codecov\.io/.test(m.input)) return false;
  if (value.length < 8 || isEnvReference(value) || isUuid(value)) return false;
  // Django-style keys hold any symbol; other values with brackets or a leading sigil are code or references.
  const longRandom = (): boolean => value.length >= 32 && characterClasses(value) >= 3 && shannonEntropy(value) >= 4.3;
  if (value.includes('://')) return false;
  const quoted = m[1] !== undefined || m[2] !== undefined || m[3] !== undefined;
  if (/[(){}[\]<>]/.test(value) && !(quoted && value.length >= 40 && !/\.[A-Za-z_]{3,}\(/.test(value) && longRandom())) return false;
  // A leading sigil reads as a reference (`$VAR`, `%VAR%`, `@Value`, `*alias`), unless the value is long and random (Django's SECRET_KEY).
  if (/^[$%@#&*\-/.~\\!|:]/.test(value) && !(!/^\$\{?[A-Za-z_]/.test(value) && longRandom())) return false;
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
  // 32+ hex under a secret's name: random hex has at most 4 bits per character, and often less.
  if (/^[0-9a-f]{32,}$/i.test(value)) return entropy >= 3.0;
  if (value.length < 16) return classes >= 3 && entropy >= 2.9;
  if (value.length < 24) return (classes >= 3 && entropy >= 3.2) || (classes >= 2 && entropy >= 3.5);
  return classes >= 2 && entropy >= 3.5;
}

const githubClassic = (prefix: string, id: string, description: string): Rule => ({
  id,
  description,
  keywords: [`${prefix}_`],
  pattern: gluedToken(`${prefix}_[A-Za-z0-9]{36}`),
  validate: (s) => hasBase62Crc32(s, 4),
});

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
    pattern: gluedToken(String.raw`github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}`),
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
    pattern: gluedToken(String.raw`npm_[A-Za-z0-9]{36}`),
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
    pattern: gluedToken(String.raw`sk-ant-api03-[A-Za-z0-9_\-]{93}AA`),
    minEntropy: 4.0,
  },
  {
    id: 'anthropic-admin-key',
    description: 'Anthropic Admin API key',
    keywords: ['sk-ant-admin01-'],
    pattern: gluedToken(String.raw`sk-ant-admin01-[A-Za-z0-9_\-]{93}AA`),
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
    pattern: gluedToken(String.raw`xoxb-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{24,34}`),
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
    pattern: gluedToken(String.raw`xapp-[0-9]-[A-Z0-9]{9,12}-[0-9]{10,13}-[a-f0-9]{64}`),
    minEntropy: 3.0,
  },
  {
    id: 'slack-webhook-url',
    description: 'Slack incoming webhook or workflow trigger URL',
    keywords: ['hooks.slack.com'],
    pattern: /hooks\.slack\.com\/(?:services\/(T[A-Z0-9]{8,12}\/B[A-Z0-9]{8,12}\/[A-Za-z0-9]{24})|(?:workflows|triggers)\/(T[A-Z0-9]{8,12}\/A[A-Z0-9]{8,12}\/[0-9]{8,20}\/[A-Za-z0-9]{24,32}))(?![A-Za-z0-9])/,
    validate: (s) => hasMixedCase(s.slice(s.lastIndexOf('/') + 1)),
  },
  {
    id: 'stripe-secret-key',
    description: 'Stripe secret key (live or test mode)',
    keywords: ['sk_live_', 'sk_test_'],
    pattern: /(?<![A-Za-z0-9_])(sk_(?:live|test)_[A-Za-z0-9]{24,247})(?![A-Za-z0-9_])/,
    minEntropy: 3.5,
  },
  {
    id: 'stripe-restricted-key',
    description: 'Stripe restricted key (live or test mode)',
    keywords: ['rk_live_', 'rk_test_'],
    pattern: /(?<![A-Za-z0-9_])(rk_(?:live|test)_[A-Za-z0-9]{24,247})(?![A-Za-z0-9_])/,
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
    // Service tokens name their config: `dp.st.<config>.<secret>`.
    pattern: /(?<![A-Za-z0-9_\-.])(dp\.(?:pt|st|sa|ct|scim|audit)\.(?:[a-z0-9_-]{1,40}\.)?[A-Za-z0-9]{40,44})(?![A-Za-z0-9])/,
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
    description: 'Cloudflare API token or global API key (37 hex)',
    keywords: ['cloudflare', 'cf_api', 'cf-api', 'cf.api', 'cfapi', 'cf_token', 'cf-token', 'cftoken', 'cf_key', 'cf-key', 'cf_global', 'cf-global'],
    pattern: new RegExp(
      String.raw`(?:cloudflare|cf)[_\-.]?(?:global[_\-.]?)?(?:api[_\-.]?)?(?:token|key)${ASSIGN}([A-Za-z0-9_\-]{40}|[a-f0-9]{37})(?![A-Za-z0-9_\-])`,
      'i',
    ),
    minEntropy: 3.3,
    validate: (s) => (s.length === 37 ? /[a-f]/.test(s) && /[0-9]/.test(s) : characterClasses(s) >= 3 && shannonEntropy(s) >= 4.0),
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
    id: 'slack-token',
    description: 'Slack token (bot, user, workspace, refresh, configuration or legacy format)',
    keywords: ['xoxa-', 'xoxb-', 'xoxe-', 'xoxe.', 'xoxo-', 'xoxp-', 'xoxr-', 'xoxs-'],
    // Glued: finds the xoxp- tokens above glued to letters, digits or `_` (their rule keeps its boundary, which ends their 32 hex apart from the 64 of legacy tokens).
    pattern: gluedToken(String.raw`(?:xoxe\.)?xox[abeoprs]-[0-9A-Za-z-]{20,400}`),
    minEntropy: 3.5,
    // Layouts differ by token kind and age; all end in a long random part.
    validate: (s) => /[0-9]/.test(s.slice(5)) && /[A-Za-z]/.test(s.slice(5)) && s.length - s.lastIndexOf('-') - 1 >= 24,
  },
  {
    id: 'discord-webhook-url',
    description: 'Discord webhook URL',
    keywords: ['discord.com/api/webhooks/', 'discordapp.com/api/webhooks/'],
    anchored: false,
    pattern: /discord(?:app)?\.com\/api\/webhooks\/([0-9]{17,20}\/[A-Za-z0-9_-]{60,70})(?![A-Za-z0-9_-])/,
    minEntropy: 4.0,
  },
  {
    id: 'discord-bot-token',
    description: 'Discord bot token',
    keywords: ['discord'],
    anchored: false,
    pattern: /(?<![A-Za-z0-9_.-])([MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38})(?![A-Za-z0-9_.-])/,
    minEntropy: 4.0,
  },
  {
    id: 'teams-webhook-url',
    description: 'Microsoft Teams incoming webhook URL',
    keywords: ['webhook.office.com/', 'outlook.office.com/webhook'],
    anchored: false,
    pattern: /(?:[a-z0-9-]{1,60}\.webhook\.office\.com\/webhookb2|outlook\.office\.com\/webhook)\/([0-9a-f-]{36}@[0-9a-f-]{36}\/IncomingWebhook\/[0-9a-f]{32}\/[0-9a-f-]{36})/,
    minEntropy: 3.0,
  },
  {
    id: 'square-access-token',
    description: 'Square access token (current format)',
    keywords: ['eaaa'],
    pattern: token(String.raw`EAAA[A-Za-z0-9_\-]{60}`),
    minEntropy: 4.0,
  },
  {
    id: 'facebook-access-token',
    description: 'Facebook / Meta access token',
    keywords: ['eaa'],
    pattern: /(?<![A-Za-z0-9_-])(EAA[A-Za-z0-9]{90,400})(?![A-Za-z0-9_-])/,
    minEntropy: 4.5,
    validate: (s) => hasMixedCase(s.slice(3)),
  },
  {
    id: 'braintree-access-token',
    description: 'Braintree / PayPal access token',
    keywords: ['access_token$'],
    pattern: /(access_token\$(?:production|sandbox)\$[a-z0-9]{16}\$[a-f0-9]{32})(?![A-Za-z0-9])/,
    minEntropy: 3.5,
  },
  {
    id: 'newrelic-key',
    description: 'New Relic insert, query, admin or browser key',
    keywords: ['nrii-', 'nriq-', 'nraa-', 'nrjs-'],
    pattern: token(String.raw`NRI[IQ]-[A-Za-z0-9_\-]{32}|NRAA-[a-f0-9]{27}|NRJS-[a-f0-9]{19}`),
    minEntropy: 3.3,
  },
  {
    id: 'newrelic-license-key',
    description: 'New Relic license (ingest) key',
    keywords: ['nral'],
    anchored: false,
    pattern: /(?<![A-Za-z0-9])([a-f0-9]{36}NRAL)(?![A-Za-z0-9])/,
    minEntropy: 3.0,
  },
  {
    id: 'license-key',
    description: 'License key (40 hex or random) assigned to a license_key field',
    keywords: ['license_key', 'license-key', 'licensekey', 'license.key', 'licence_key'],
    pattern: new RegExp(String.raw`licen[cs]e[_\-.]?key${ASSIGN}([a-f0-9]{40}|[A-Za-z0-9]{32,64})(?![A-Za-z0-9])`, 'i'),
    minEntropy: 3.3,
    validate: (s) => /[0-9]/.test(s) && /[A-Za-z]/.test(s),
  },
  {
    id: 'vault-legacy-token',
    description: 'HashiCorp Vault token in the pre-1.10 format (s. / b.)',
    keywords: ['vault'],
    anchored: false,
    pattern: /(?<![A-Za-z0-9_.-])([sb]\.[A-Za-z0-9]{24})(?![A-Za-z0-9_.-])/,
    minEntropy: 3.5,
    validate: (s) => hasMixedCase(s.slice(2)) && /[0-9]/.test(s),
  },
  {
    id: 'gitlab-runner-registration-token',
    description: 'GitLab runner registration token',
    keywords: ['gr1348941'],
    pattern: token(String.raw`GR1348941[A-Za-z0-9_\-]{20}`),
    minEntropy: 3.5,
  },
  {
    id: 'gitlab-other-token',
    description: 'GitLab CI job, incoming mail, agent, feed, SCIM or feature-flag token',
    keywords: ['glcbt-', 'glimt-', 'glagent-', 'glft-', 'glsoat-', 'glffct-'],
    pattern: token(String.raw`(?:glcbt-(?:[0-9a-f]{1,5}_)?|glimt-|glagent-|glft-|glsoat-|glffct-)[A-Za-z0-9_\-]{20,64}`),
    minEntropy: 3.5,
  },
  {
    id: 'azure-devops-pat',
    description: 'Azure DevOps personal access token (84-character format)',
    keywords: ['azdo'],
    anchored: false,
    pattern: /(?<![A-Za-z0-9])([A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4})(?![A-Za-z0-9])/,
    minEntropy: 4.0,
  },
  {
    id: 'azure-devops-legacy-pat',
    description: 'Azure DevOps personal access token (52 base32 characters) near an Azure DevOps name',
    keywords: ['devops', 'ado_', 'azdo_', 'dev.azure.com', 'visualstudio.com', 'system_accesstoken', 'vsts'],
    anchored: false,
    pattern: /(?<![A-Za-z0-9])([a-z2-7]{52})(?![A-Za-z0-9])/,
    minEntropy: 4.0,
    validate: (s) => /[2-7]/.test(s),
  },
  {
    id: 'cloudflare-origin-ca-key',
    description: 'Cloudflare Origin CA key',
    keywords: ['v1.0-'],
    pattern: token(String.raw`v1\.0-[a-f0-9]{24}-[a-f0-9]{146}`),
    minEntropy: 3.5,
  },
  {
    id: 'heroku-api-key',
    description: 'Heroku API key (UUID near a Heroku name, or HRKU- format)',
    keywords: ['heroku', 'hrku-'],
    anchored: false,
    pattern: new RegExp(
      String.raw`heroku[A-Za-z0-9_.\-]{0,20}?(?:key|token|secret|password)${ASSIGN}([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![A-Za-z0-9-])|(?<![A-Za-z0-9_-])(HRKU-[A-Za-z0-9_\-]{60})(?![A-Za-z0-9_-])`,
      'i',
    ),
    minEntropy: 3.0,
  },
  {
    id: 'firebase-cloud-messaging-key',
    description: 'Firebase Cloud Messaging legacy server key',
    keywords: [':apa91b'],
    anchored: false,
    pattern: /(?<![A-Za-z0-9_-])(AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{134})(?![A-Za-z0-9_-])/,
    minEntropy: 4.0,
  },
  {
    id: 'okta-api-token',
    description: 'Okta API token',
    keywords: ['ssws ', 'okta'],
    anchored: false,
    pattern: new RegExp(String.raw`(?:SSWS\s{1,3}|okta[A-Za-z0-9_.\-]{0,20}?(?:token|key|secret)${ASSIGN})(00[A-Za-z0-9_\-]{40})(?![A-Za-z0-9_\-])`, 'i'),
    minEntropy: 4.0,
  },
  {
    id: 'launchdarkly-key',
    description: 'LaunchDarkly SDK or mobile key',
    keywords: ['sdk-', 'mob-'],
    pattern: token(String.raw`(?:sdk|mob)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`),
    minEntropy: 3.0,
  },
  {
    id: 'hubspot-private-app-token',
    description: 'HubSpot private app access token',
    keywords: ['pat-na', 'pat-eu', 'pat-ap'],
    pattern: token(String.raw`pat-(?:na|eu|ap)[0-9]-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`),
    minEntropy: 3.0,
  },
  {
    id: 'alibaba-access-key-id',
    description: 'Alibaba Cloud AccessKey ID',
    keywords: ['ltai'],
    pattern: token(String.raw`LTAI[A-Za-z0-9]{12,20}`),
    minEntropy: 3.5,
    validate: (s) => hasMixedCase(s.slice(4)) || /[0-9]/.test(s),
  },
  {
    id: 'tencent-secret-id',
    description: 'Tencent Cloud SecretId',
    keywords: ['akid'],
    pattern: token(String.raw`AKID[A-Za-z0-9]{32}`),
    minEntropy: 4.0,
    validate: (s) => hasMixedCase(s.slice(4)),
  },
  {
    id: 'mapbox-secret-token',
    description: 'Mapbox secret access token',
    keywords: ['sk.eyj'],
    pattern: token(String.raw`sk\.eyJ[A-Za-z0-9_\-]{50,200}\.[A-Za-z0-9_\-]{20,30}`),
    minEntropy: 4.0,
  },
  {
    id: 'sonarqube-token',
    description: 'SonarQube user, project or analysis token',
    keywords: ['squ_', 'sqp_', 'sqa_'],
    pattern: token(String.raw`sq[upa]_[a-f0-9]{40}`),
    minEntropy: 3.3,
  },
  {
    id: 'bitbucket-app-password',
    description: 'Bitbucket app password or API token',
    keywords: ['atbb', 'atctt3'],
    pattern: token(String.raw`ATBB[A-Za-z0-9_=.\-]{32,36}|ATCTT3[A-Za-z0-9_\-=]{150,250}`),
    minEntropy: 4.0,
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
  ...CREDENTIAL_RULES,
  ...CONTEXT_RULES,
  {
    id: 'generic-secret',
    description: 'High-entropy value assigned to a password/secret/token/API-key name',
    keywords: [
      'password', 'passwd', 'passphrase', 'pwd', 'secret', 'token', 'credential', 'apikey',
      ...['api', 'access', 'auth', 'signing', 'encryption', 'master', 'private', 'consumer', 'app', 'admin', 'write', 'sdk'].flatMap((w) =>
        ['_', '-', '.'].map((sep) => `${w}${sep}key`),
      ),
      'accesskey', 'authkey', 'signingkey', 'encryptionkey', 'masterkey', 'privatekey', 'consumerkey', 'appkey', 'adminkey', 'writekey', 'sdkkey',
    ],
    pattern: new RegExp(
      String.raw`(?:password|passwd|passphrase|pwd|secret|token|api[_.\-]?key|access[_.\-]?key|auth[_.\-]?key|signing[_.\-]?key|encryption[_.\-]?key|master[_.\-]?key|private[_.\-]?key|(?:consumer|app|admin|write|sdk)[_.\-]?key|credentials?)` +
        String.raw`[A-Za-z0-9_.\-]{0,30}["']?\]?\s{0,5}(?::=|=>|\|\|=|\?\?=|=|:)\s{0,5}` +
        String.raw`(?:"([^"\s]{8,200})"|'([^'\s]{8,200})'|` + '`([^`\\s]{8,200})`' + String.raw`|([^\s"'` + '`' + String.raw`,;&)}\]]{8,200}))`,
      'i',
    ),
    validate: plausibleGenericSecret,
  },
];
