/**
 * Rules for credentials people write rather than generate: passwords in named fields,
 * connection strings and URLs, command lines, HTTP headers. Their values can be short and
 * low-entropy, so each rule leans on its context and on `plausiblePassword`.
 */
import { decodeBase64 } from './checksums';
import { characterClasses, shannonEntropy } from './entropy';
import { isPlaceholder } from './placeholders';
import type { Rule } from './types';
import { VENDOR_FORMAT, isPasswordName, plausiblePassword, validBasicAuthPassword } from './value-checks';

/** A quoted or bare value; the secret is whichever group took part. */
const VALUE = String.raw`(?:"([^"\s]{4,128})"|'([^'\s]{4,128})'|([^\s"'\`,;&)}\]<>]{4,128}))`;

/** The name before the assignment operator of a match (letters, digits, `_ . -`). */
function assignedName(m: RegExpExecArray): string {
  return /^[A-Za-z0-9_.-]*/.exec(m[0])?.[0] ?? '';
}

/** `user:password` in base64 with a plausible password (HTTP Basic, Docker `auth`). */
function validUserPassBase64(secret: string): boolean {
  const decoded = decodeBase64(secret);
  if (decoded === undefined || !/^[\x20-\x7e]+$/.test(decoded)) return false;
  const colon = decoded.indexOf(':');
  if (colon < 1) return false;
  const password = decoded.slice(colon + 1);
  return password.length >= 4 && !isPlaceholder(password) && (plausiblePassword(password) || (password.length >= 16 && shannonEntropy(password) >= 3.5));
}

function validBearer(secret: string): boolean {
  if (isPlaceholder(secret) || /^[A-Z_]+$/.test(secret)) return false;
  return characterClasses(secret) >= 2 && shannonEntropy(secret) >= 3.5;
}

export const CREDENTIAL_RULES: readonly Rule[] = [
  {
    id: 'http-authorization-header',
    description: 'Credentials in an HTTP Authorization header',
    keywords: ['authorization'],
    pattern: new RegExp(
      String.raw`authorization["']?\s{0,3}[:=]\s{0,3}["'\`]?(?:(?:bearer|token|ssws)\s{1,3}([A-Za-z0-9_\-.~+/]{16,2000}={0,2})|basic\s{1,3}([A-Za-z0-9+/]{8,400}={0,2}))(?![A-Za-z0-9_\-.~+/=])`,
      'i',
    ),
    validate: (secret, m) => (m[2] !== undefined ? validUserPassBase64(secret) : validBearer(secret)),
  },
  {
    id: 'http-api-key-header',
    description: 'API key in an HTTP header',
    keywords: ['x-api-key', 'x-auth-key', 'x-auth-token', 'x-apikey', 'api-key:', 'api-key"', "api-key'"],
    anchored: false,
    pattern: /(?:x-api-key|x-auth-key|x-auth-token|x-apikey|(?<![A-Za-z0-9-])api-key)["']?\s{0,3}[:=]\s{0,3}["']?([A-Za-z0-9_\-.]{16,200})(?![A-Za-z0-9_\-.])/i,
    validate: validBearer,
  },
  {
    id: 'docker-config-auth',
    description: 'Registry credentials in a Docker config.json auth field',
    keywords: ['"auth"'],
    pattern: /"auth"\s{0,3}:\s{0,3}"([A-Za-z0-9+/]{8,600}={0,2})"/,
    validate: validUserPassBase64,
  },
  {
    id: 'url-credentials',
    description: 'Password in a URL (FTP, SMTP, LDAP, SQL Server and other schemes)',
    keywords: [
      'ftp://', 'ftps://', 'sftp://', 'smtp://', 'smtps://', 'imap://', 'imaps://', 'pop3://', 'ldap://', 'ldaps://',
      'mssql://', 'sqlserver://', 'oracle://', 'snowflake://', 'clickhouse://', 'cockroachdb://', 'kafka://', 'nats://',
      'mqtt://', 'mqtts://', 'ssh://', 'couchdb://', 'neo4j://', 'bolt://', 'cassandra://', 'elasticsearch://',
      'ws://', 'wss://', 'svn://', 'git://', 'rtsp://', 'socks5://', 'memcached://',
    ],
    pattern: /(?<![A-Za-z0-9+.-])[a-z][a-z0-9+.-]{1,20}:\/\/([^\s:@/?#'"`<>]{1,100}):([^\s:@/?#'"`<>]{1,200})@[A-Za-z0-9.\-_%[\]]{1,255}/i,
    secretGroup: 2,
    validate: validBasicAuthPassword,
  },
  {
    id: 'xml-password',
    description: 'Password in an XML element',
    keywords: ['password>', 'passwd>', 'pwd>'],
    anchored: false,
    pattern: /<(?:[A-Za-z0-9_-]{1,20}:)?(?:[A-Za-z0-9_-]{0,30}password|passwd|pwd)>([^<\s]{4,128})<\//i,
    validate: plausiblePassword,
  },
  {
    id: 'config-key-value-password',
    description: 'Password in a key/value configuration entry (appSettings, NuGet, Ant)',
    keywords: ['key="', "key='", 'name="', "name='"],
    pattern: /(?:key|name)=["']([A-Za-z0-9_.:-]{0,40}(?:password|passwd|pwd|secret|token|apikey|api_key))["']\s{1,5}value=["']([^"'\s]{4,200})["']/i,
    secretGroup: 2,
    validate: (secret, m) => plausiblePassword(secret) || (secret.length >= 16 && shannonEntropy(secret) >= 3.5 && !/(?:password|passwd|pwd)$/i.test(m[1] ?? '')),
  },
  {
    id: 'network-credential',
    description: '.NET NetworkCredential with a literal password',
    keywords: ['networkcredential('],
    pattern: /NetworkCredential\(\s{0,3}(?:@?"[^"\n]{0,100}"|[A-Za-z_][\w.]{0,60})\s{0,3},\s{0,3}@?"([^"\n]{4,128})"/,
    validate: plausiblePassword,
  },
  {
    id: 'login-call-password',
    description: 'Password passed as a literal to a login or bind call',
    keywords: ['login(', 'authenticate(', 'signin(', 'sign_in(', 'bind_s(', 'simple_bind('],
    anchored: false,
    pattern: /(?:login|authenticate|signin|sign_in|bind_s|simple_bind)\(\s{0,3}(?:"[^"\n]{1,100}"|'[^'\n]{1,100}')\s{0,3},\s{0,3}(?:"([^"\n]{4,128})"|'([^'\n]{4,128})')\s{0,3}\)/i,
    validate: plausiblePassword,
  },
  {
    id: 'sql-password',
    description: 'Password in a SQL CREATE/ALTER USER or ROLE statement',
    keywords: ['identified by', 'with password', 'with encrypted password'],
    pattern: /(?:identified\s{1,3}by|with\s{1,3}(?:encrypted\s{1,3})?password)\s{1,3}'([^'\n]{4,128})'/i,
    validate: plausiblePassword,
  },
  {
    id: 'command-line-password',
    description: 'Password on a command line (psexec/sshpass -p, net use, mysql -p, curl -u, --password)',
    keywords: ['psexec', 'paexec', 'sshpass', 'net use', 'mysql', '--password', 'curl', 'requirepass', 'masterauth', 'machine '],
    anchored: false,
    pattern: new RegExp(
      [
        String.raw`(?:psexec|paexec)(?:\.exe)?\s(?:[^\n]{0,300}?\s)?-p\s{1,3}(?:"([^"\n]{4,128})"|([^\s"']{4,128}))`,
        String.raw`sshpass\s{1,3}-p\s{0,3}(?:'([^'\n]{4,128})'|"([^"\n]{4,128})"|([^\s"']{4,128}))`,
        String.raw`net\s{1,3}use\s[^\n]{0,200}?\/user:\S{1,100}\s{1,3}(?:"([^"\n]{4,128})"|([^\s/"]{4,128}))`,
        String.raw`mysql(?:dump|admin)?\s(?:[^\n]{0,200}?\s)?-p([^\s"'\-][^\s"']{3,127})`,
        String.raw`--password(?:=|\s{1,3})(?:"([^"\n]{4,128})"|'([^'\n]{4,128})'|([^\s"']{4,128}))`,
        String.raw`curl\s(?:[^\n]{0,300}?\s)?(?:-u|--user)(?:\s{1,3}|=)["']?[^\s:"']{1,64}:([^\s"']{4,128})`,
        String.raw`(?:requirepass|masterauth)\s{1,5}"?([^\s"]{4,128})`,
        // .netrc
        String.raw`machine\s{1,5}\S{1,200}\s{1,5}login\s{1,5}\S{1,200}\s{1,5}password\s{1,5}(\S{4,128})`,
      ].join('|'),
      'i',
    ),
    validate: (secret, m) => {
      // `curl -u user:pass https://…@example.com`, `-p $PASS`: documentation and references.
      if (/example\.(?:com|org|net)|localhost/i.test(m[0]) && /curl/i.test(m[0])) return false;
      return plausiblePassword(secret);
    },
  },
  {
    id: 'password-assignment',
    description: 'Password assigned to a password-named field or connection-string key',
    keywords: ['pass', 'pwd'],
    anchored: false,
    pattern: new RegExp(
      String.raw`(?<![A-Za-z0-9_.\-])[A-Za-z0-9_.\-]{0,40}?(?:pass(?:word|wd|phrase)?|pwd|passwort)` +
        String.raw`(?:["']\s{0,3},\s{0,3}|["']?\]?\s{0,3}(?::=|=>|=(?![=~>])|:(?![:\\/])|\s(?=["'])))\s{0,3}` +
        VALUE,
      'i',
    ),
    validate: (secret, m) => {
      // `name', 'value'` only as the arguments of a call: define('DB_PASSWORD', '…'), setenv("PASS", "…").
      if (/^[A-Za-z0-9_.-]*["']\s*,/.test(m[0]) && m.input.charAt(m.index - 2) !== '(') return false;
      return isPasswordName(assignedName(m)) && plausiblePassword(secret) && !VENDOR_FORMAT.test(secret);
    },
  },
];
