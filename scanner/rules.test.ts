import { RULES } from './rules';
import { SAMPLERS, createRng, samplePositive } from '../test/support/scanner/samples';
import { scanText } from './scan';

const SAMPLES_PER_RULE = 25;

/**
 * Rules recognised by the name a value is assigned to: a truncated random value under such a
 * name is still a plausible secret, which the generic rule may rightly report.
 */
const CONTEXT_RULES = new Set(['aws-secret-access-key', 'twilio-auth-token', 'cloudflare-api-token', 'azure-shared-access-key']);
/** Rules that report such a value by its name or its vendor's name. */
const BY_NAME = new Set(['generic-secret', 'vendor-keyed-secret']);

describe('rule table', () => {
  it('covers at least 40 formats with unique ids', () => {
    expect(RULES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
  });

  it('has a sample generator for every rule and no generator without a rule', () => {
    expect(Object.keys(SAMPLERS).sort()).toEqual(RULES.map((r) => r.id).sort());
  });

  it('declares only lower-case keywords', () => {
    for (const rule of RULES) for (const k of rule.keywords) expect(k).toBe(k.toLowerCase());
  });
});

describe.each(RULES.map((r) => r.id))('rule %s', (ruleId) => {
  it('reports generated secrets of its format on the right line, redacted', () => {
    const rng = createRng(ruleId.length * 7919 + 17);
    for (let i = 0; i < SAMPLES_PER_RULE; i++) {
      const sample = samplePositive(ruleId, rng);
      const text = ['// config', ...sample.lines, ''].join('\n');
      const { findings } = scanText(text, 'config.txt');
      const hit = findings.find((f) => f.line === sample.line + 2);
      expect({ sample: i, ruleId: hit?.ruleId }).toEqual({ sample: i, ruleId });
      expect(JSON.stringify(findings)).not.toContain(sample.secret);
      expect(hit?.match.length).toBeLessThanOrEqual(5);
    }
  });

  it('ignores near misses: wrong checksum or length, placeholders, references', () => {
    const rng = createRng(ruleId.length * 104729 + 3);
    const sampler = SAMPLERS[ruleId];
    if (sampler === undefined) throw new Error('sampler missing');
    for (let round = 0; round < 5; round++) {
      for (const lines of sampler.nearMisses(rng)) {
        const { findings } = scanText(lines.join('\n'), 'near-miss.txt');
        const reported = findings.map((f) => f.ruleId).filter((id) => !(CONTEXT_RULES.has(ruleId) && BY_NAME.has(id)));
        expect({ input: lines.join('\n'), reported }).toEqual({ input: lines.join('\n'), reported: [] });
      }
    }
  });
});
