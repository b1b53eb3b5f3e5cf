/** Ways a repository accepts a value the scanner would report: inline markers and the allowlist file. */
import ignore from 'ignore';
import type { Allowlist } from './types';

/** A line containing this marker (typically in a comment) produces no finding. */
export const INLINE_ALLOW_MARKER = 'orchestrator:allow';

/** Name of the allowlist file, read by the CLI from the root of the scanned tree. */
export const ALLOWLIST_FILE = '.secretsignore';

const FINGERPRINT = /^(?:fingerprint:\s*)?([0-9a-f]{64})$/i;

/**
 * Parses allowlist text: one entry per line, `#` starts a comment. A sha256 fingerprint
 * (optionally written `fingerprint:<hex>`) accepts that secret anywhere; any other entry is a
 * gitignore-style path glob whose files are not scanned.
 */
export function loadAllowlist(text: string): Allowlist {
  const fingerprints = new Set<string>();
  const globs: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fp = FINGERPRINT.exec(line);
    if (fp?.[1] !== undefined) fingerprints.add(fp[1].toLowerCase());
    else globs.push(line);
  }
  const matcher = globs.length > 0 ? ignore().add(globs) : undefined;
  return {
    fingerprints,
    allowsPath: (file: string): boolean => {
      if (matcher === undefined) return false;
      const relative = file.replace(/\\/g, '/').replace(/^(?:\.\/|\/)+/, '');
      if (relative === '' || relative.startsWith('../')) return false;
      return matcher.ignores(relative);
    },
  };
}

/** An allowlist that accepts nothing. */
export const EMPTY_ALLOWLIST: Allowlist = { fingerprints: new Set(), allowsPath: () => false };
