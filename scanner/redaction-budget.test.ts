import { SAMPLERS, createRng } from '../test/support/scanner/samples';
import { FREE_STEPS } from './redaction-budget';
import { REDACTION_RULES } from './redaction-rules';
import { redactSecrets, secretSpans } from './scan';

const rng = createRng(7);
const ghToken = (): string => SAMPLERS['github-pat']!.make(rng);
const WITHHELD = /\[\.\.\. (\d+) characters withheld: finding the secrets in them took too long \.\.\.\]$/;

/**
 * What redaction kept before its marker: the start of the text redacted as without a budget (a
 * stop may fall inside a line, before an encoded run), and the marker counts the rest. Returns the
 * number of whole lines kept.
 */
function expectWithheldAfterPrefix(redacted: string, text: string, unbounded: string): number {
  const marker = WITHHELD.exec(redacted);
  expect(marker).not.toBeNull();
  const kept = redacted.slice(0, marker!.index);
  expect(unbounded.startsWith(kept)).toBe(true);
  expect(Number(marker![1])).toBeGreaterThan(0);
  expect(Number(marker![1])).toBeLessThan(text.length);
  return kept.split('\n').length - 1;
}

describe('redaction with a budget', () => {
  it('withholds, with a note, the 30 KB line repeating a keyword it could not finish in time: the token before it redacted, the one after it not given out', () => {
    const [first, last] = [ghToken(), ghToken()];
    const text = `first ${first}\n${'LS0tLS1CRUdJTi'.repeat(2_143)}\nlast ${last}\n`;
    const redacted = redactSecrets(text);
    expect(redacted).toMatch(new RegExp(`^first ghp_…\\n${WITHHELD.source}`));
    expect(redacted).not.toContain(last);
    expect(redacted).not.toContain('LS0tLS1CRUdJTi');
  });

  it('stops where the deadline passed and gives out nothing after it: plain, base64-encoded and \\u-escaped tokens, one a line', () => {
    const tokens = Array.from({ length: 3 * FREE_STEPS }, () => ghToken());
    const spell = [(t: string) => t, (t: string) => Buffer.from(t).toString('base64'), (t: string) => `\\u0067${t.slice(1)}`];
    for (const [kind, encode] of spell.entries()) {
      const lines = tokens.map((t, i) => `line ${i} ${encode(t)} ok`);
      const redacted = redactSecrets(lines.join('\n'), REDACTION_RULES, 0);
      for (const t of tokens) expect([kind, redacted.includes(t) || redacted.includes(encode(t))]).toEqual([kind, false]);
      const unbounded = redactSecrets(lines.join('\n'), REDACTION_RULES, Number.POSITIVE_INFINITY);
      const kept = expectWithheldAfterPrefix(redacted, lines.join('\n'), unbounded);
      // Encoded runs are decoded after the plain pass, which spent the budget here: withheld from the first.
      expect([kind, kept > 0, kept < lines.length]).toEqual([kind, kind !== 1, true]);
    }
  });

  it('counts the rest of the text as one secret from where it stopped, so that no cut goes through it', () => {
    const lines = Array.from({ length: 3 * FREE_STEPS }, (_, i) => `line ${i} ${ghToken()}`);
    const text = lines.join('\n');
    const spans = secretSpans(text, REDACTION_RULES, 0);
    const rest = spans.at(-1)!;
    expect(rest.end).toBe(text.length);
    expect(rest.start).toBeLessThan(text.length);
    expect(spans.length).toBeLessThan(secretSpans(text, REDACTION_RULES, Number.POSITIVE_INFINITY).length);
  });

  it('leaves ordinary text to the end: 30 KB of build log, and 64 lines naming tokens with no time at all', () => {
    let log = '';
    for (let i = 1; log.length < 30_000; i++) log += `${`output line ${i}: some build log text`.padEnd(63)}\n`;
    expect(redactSecrets(log)).toBe(log);
    // Fewer keywords than the free steps: whole even with no time at all (a loaded machine cannot change it).
    const tokens = Array.from({ length: FREE_STEPS / 4 }, (_, i) => `step ${i}: pushed with ${ghToken()}`).join('\n');
    const unbounded = redactSecrets(tokens, REDACTION_RULES, Number.POSITIVE_INFINITY);
    expect(unbounded).not.toContain('ghp_aCre');
    expect(redactSecrets(tokens, REDACTION_RULES, 0)).toBe(unbounded);
  });
});
