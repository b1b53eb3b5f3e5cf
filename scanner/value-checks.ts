/**
 * Checks shared by the rule tables: what an assignment looks like, whether a value is code
 * rather than data, whether a password is worth reporting.
 */
import { characterClasses, hasMixedCase, shannonEntropy } from './entropy';
import { isDefaultPassword, isEnvReference, isPlaceholder } from './placeholders';

/** An assignment: optional closing quote of the name, then `=`, `:`, `:=`, `=>` or `,`. */
export const ASSIGN = String.raw`[A-Za-z0-9_.\-]{0,20}["']?\]?\s{0,5}(?::=|=>|=|:|,)\s{0,5}["']?`;

/** A password in a connection URL: group 1 of the match is the user name. */
export function validUrlPassword(password: string, m: RegExpExecArray): boolean {
  const user = m[1] ?? '';
  if (password === user || isDefaultPassword(password) || isEnvReference(password)) return false;
  if (/password|passwd/i.test(password)) return false; // "mypassword", "authpassword": documentation
  if (/^[%$]/.test(password)) return false;
  return password.length >= 4 && shannonEntropy(password) >= 1.9;
}

/** RFC 2606 documentation hosts and loopback: credentials there are illustrations. */
export const EXAMPLE_HOST = /@(?:[A-Za-z0-9-]+\.)*(?:example\.(?:com|org|net)|localhost|127\.0\.0\.1)(?![A-Za-z0-9.-])/i;

export function validBasicAuthPassword(password: string, m: RegExpExecArray): boolean {
  if (EXAMPLE_HOST.test(m[0])) return false;
  return validUrlPassword(password, m) && password.length >= 6 && shannonEntropy(password) >= 2.5;
}

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45;
}

/** Identifier around the generic rule's keyword, e.g. `DB_PASSWORD` or `client.secret`. */
export function identifierAt(input: string, index: number): string {
  let start = index;
  while (start > 0 && index - start < 60 && isNameChar(input.charCodeAt(start - 1))) start--;
  let end = index;
  while (end < input.length && end - index < 60 && isNameChar(input.charCodeAt(end))) end++;
  return input.slice(start, end);
}

/** Names that hold something other than a secret value (hashes, ids, settings about secrets). */
export const NOT_A_SECRET_NAME =
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
export function looksLikeCode(value: string): boolean {
  if (value.includes('::') || value.includes('?.') || value.includes('=>')) return true;
  const parts = value.replace(/[!?|.:=]+$/, '').split('.');
  return parts.every(isIdentifierWord);
}

/** Shorthand for prefixed tokens: `(?<!tokenchar)(<body>)(?!tokenchar)`. */
export function token(body: string): RegExp {
  return new RegExp(String.raw`(?<![A-Za-z0-9_\-])(${body})(?![A-Za-z0-9_\-])`);
}

/**
 * A token whose own format tells it apart (a fixed prefix and a fixed layout, or a checksum)
 * with no boundary around it: found also glued to letters, digits or `_` (`a_ghp_…`, `x<token>`,
 * `<token>0`), as an author hiding it from bounded patterns writes it and cuts it off at run time.
 * Only for such formats: a prefix that also occurs inside identifiers (`disk_test_…` holds
 * Stripe's `sk_test_`) needs the boundary that `token` gives.
 */
export function gluedToken(body: string): RegExp {
  return new RegExp(`(${body})`);
}

/**
 * Values in a vendor's token format belong to that vendor's rule, which checks their checksum
 * or shape: the generic rule must not report a token its own rule rejected.
 */
export const VENDOR_FORMAT =
  /^(?:gh[pousr]_|github_pat_|gl(?:pat|ptt|rt|dt|oas)-|npm_|pypi-|sk-|[sr]k_live_|whsec_|AIza|GOCSPX-|eyJ|SG\.|SK[0-9a-f]{8}|key-|shp(?:at|ca|pa|ss)_|do[por]_v1_|dapi|hv[sb]\.|hf_|api_org_|xox[a-z]-|xapp-|dp\.|lin_api_|PMAK-|sntry[us]_|glc_|glsa_|ops_|AGE-SECRET|ntn_|secret_|gsk_|tskey-|dckr_|figd_|ATATT|NRAK-|sbp_|pscale_|r8_|xai-|pplx-|pul-|sq0|AKIA|ASIA|ABIA|ACCA|[0-9]{8,10}:AA|.{3}[0-9]Q~)|-us[0-9]{1,2}$|\.atlasv1\.|^(?:pi|seti)_[A-Za-z0-9]{10,40}_secret_|^(?:NRI[IQ]-|NRAA-|NRJS-|GR1348941|gl(?:cbt|imt|agent|ft|soat|ffct)-|EAA|sq[upa]_|ATBB|ATCTT3|AKID|LTAI|sk\.eyJ|v1\.0-|HRKU-|[sb]\.[A-Za-z0-9]{8}|pk\.eyJ|(?:sdk|mob)-|pat-(?:na|eu|ap)[0-9]-)|:APA91b|NRAL$|AZDO/;

/**
 * A password a person typed: 6 to 128 characters with a letter and a digit or symbol, that
 * is not a default, a placeholder, a reference (`$VAR`, `%VAR%`, `${x}`, `{{ x }}`), code
 * (`settings.DB_PASSWORD`, `getpass()`), a word, a number or a path.
 */
export function plausiblePassword(value: string): boolean {
  if (value.length < 6 || value.length > 128) return false;
  if (isDefaultPassword(value) || isEnvReference(value) || isPlaceholder(value)) return false;
  // `mypassword`, `secret-2-levels`, `password=…`: test fixtures, documentation, floods.
  if (/passw(?:or)?d|secret/i.test(value)) return false;
  // Numbers and typed-array types (`STENCIL_PASS: 0x0B96`, `password: Uint8Array`).
  if (/^0x[0-9a-f]+$/i.test(value) || /^(?:Big)?U?(?:int|Float)(?:8|16|32|64)(?:Clamped)?Array$/i.test(value)) return false;
  if (/^[$%@&*!/\\.:~-]|[{}()<>[\]]|%[A-Za-z_]+%|\$[A-Za-z_{]/.test(value)) return false;
  if (!/[A-Za-z]/.test(value)) return false;
  // Letters only: a word or an identifier, unless long, mixed-case and random (a generated password).
  if (!/[0-9!#$%&*+?@^~=_.,;-]/.test(value)) return value.length >= 16 && hasMixedCase(value) && shannonEntropy(value) >= 3.5 && !looksLikeCode(value);
  // A dotted or underscored name without digits is a reference or a constant: `self.password`, `DB_PASSWORD`.
  if (!/[0-9]/.test(value) && /^[A-Za-z_][\w]*(?:[._][A-Za-z_]\w*)*$/.test(value)) return false;
  if (/\.(?:json|ya?ml|pem|key|txt|env|ini|conf|cfg|properties|xml)$/i.test(value)) return false;
  // People's passwords are short and repetitive (`c0ff3334`); the bar only stops `aaaa1111`.
  return characterClasses(value) >= 2 && shannonEntropy(value) >= 1.8;
}

/** A name whose value is a password: `DB_PASSWORD`, `storePassword`, `ADMIN_PASS`, `Passwd`, `PWD`. */
export function isPasswordName(name: string): boolean {
  const lower = name.toLowerCase();
  if (/(?:password|passwd|passphrase|pwd|passwort|contrasena|motdepasse)$/.test(lower)) return true;
  if (!lower.endsWith('pass')) return false;
  // `bypass`, `compass`, `renderPass` are not passwords; `pass`, `db_pass`, `ADMIN_PASS`, `smtpPass` are.
  const before = name.slice(0, -4);
  if (before === '' || /[_.-]$/.test(before)) return true;
  return /(?:smtp|db|mail|user|admin|root|ftp|ldap|redis|mysql|pg|sql|proxy|auth|login|api|app)$/i.test(before);
}
