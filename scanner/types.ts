/** Shared types of the secret scanner. */

/** One detection rule of the table in rules.ts. */
export interface Rule {
  /** Stable kebab-case id, printed in findings and SARIF. */
  readonly id: string;
  readonly description: string;
  /** Lower-case ASCII literals; a line meets `pattern` only if one of them occurs in it (ASCII case-insensitively). */
  readonly keywords: readonly string[];
  /**
   * Where the secret is; the engine sets the `d`, `g` and `y` flags itself. Must be linear-time:
   * bounded quantifiers, a leading boundary, no nested quantifiers.
   */
  readonly pattern: RegExp;
  /** Capture group holding the secret; default: the first group that took part, else the whole match. */
  readonly secretGroup?: number;
  /** Minimum Shannon entropy (bits per char) of the secret. */
  readonly minEntropy?: number;
  /** Checksum / structure check on the secret; `m` is the match, whose `input` is the line (the whole text for multi-line rules). */
  readonly validate?: (secret: string, m: RegExpExecArray) => boolean;
  /** Known non-secrets for this rule (documented examples...), tested against the secret. */
  readonly allow?: readonly RegExp[];
  /** Set false for rules whose values legitimately contain placeholder-like text. Default true. */
  readonly placeholderCheck?: boolean;
  /**
   * Default true: every match starts where one of the keywords starts, so the engine tries the
   * pattern (sticky) only there. Set false when a keyword sits inside the match.
   */
  readonly anchored?: boolean;
  /** The match may run past the end of its line (an anchored rule, e.g. a PEM block). */
  readonly multiline?: boolean;
  /** Another pattern that must occur within `span` characters of the match (e.g. `"type": "service_account"`). */
  readonly nearby?: { readonly pattern: RegExp; readonly span: number };
  /** Maps the secret to the value that is fingerprinted (e.g. a PEM body without line breaks). */
  readonly normalize?: (secret: string) => string;
  /**
   * Default true: the prefilter also looks for the keywords base64- and hex-encoded, and the
   * rules scan what the runs holding them decode to (encoded.ts). Each encoded form costs the
   * prefilter's pass over every text a little, so a rule whose keywords are only context, met
   * with other rules' keywords, can leave them out.
   */
  readonly encodedKeywords?: boolean;
}

/** A detected secret. `match` is redacted; the secret itself never leaves the scanner. */
export interface SecretFinding {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
  ruleId: string;
  description: string;
  /** At most 4 leading characters of the secret, then `…`. */
  match: string;
  /** sha256 (hex) of the secret: put it in the allowlist file to accept the value. */
  fingerprint: string;
}

/** A file or line that was not scanned, and why. */
export interface SkippedFile {
  file: string;
  reason: string;
}

export interface ScanResult {
  findings: SecretFinding[];
  skipped: SkippedFile[];
}

/** Values a repository accepts: fingerprints of known secrets and path globs. */
export interface Allowlist {
  readonly fingerprints: ReadonlySet<string>;
  /** True when `file` (repository-relative, `/`-separated) matches one of the allowlist's globs. */
  readonly allowsPath: (file: string) => boolean;
}

export interface ScanOptions {
  allowlist?: Allowlist;
  /** Files larger than this (UTF-8 bytes) are skipped. Default 2 MiB. */
  maxFileBytes?: number;
  /** Candidate lines longer than this (chars) are skipped. Default 20,000. */
  maxLineLength?: number;
  /** Rule table; defaults to RULES. */
  rules?: readonly Rule[];
  /**
   * The text's own bytes when the text is pure ASCII (as read from a file): saves encoding
   * it again for the keyword prefilter. Ignored unless its length is the text's.
   */
  asciiBytes?: Uint8Array;
}
