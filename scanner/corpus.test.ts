import { generateCorpus, scoreFindings } from '../test/support/scanner/corpus';
import { RULES } from './rules';
import { scanText } from './scan';

describe('labelled corpus', () => {
  const files = generateCorpus({ seed: 42, files: 500 });
  const results = new Map(files.map((f) => [f.path, scanText(f.content, f.path)]));

  it('is deterministic and plants every rule among realistic file kinds', () => {
    const again = generateCorpus({ seed: 42, files: 5 });
    expect(again.map((f) => f.content)).toEqual(files.slice(0, 5).map((f) => f.content));
    const planted = new Set(files.flatMap((f) => f.secrets.map((s) => s.ruleId)));
    expect([...planted].sort()).toEqual(RULES.map((r) => r.id).sort());
    const kinds = new Set(files.map((f) => f.path.replace(/^.*\/[^/.]*/, '')));
    expect(kinds).toEqual(new Set(['.ts', '.py', '.go', '.yaml', '.env', '.json', '.md', '.lock']));
  });

  it('finds planted secrets with precision and recall of at least 0.98', () => {
    const score = scoreFindings(files, (f) => (results.get(f.path)?.findings ?? []).map((x) => x.line));
    expect(score.truePositives).toBeGreaterThan(400);
    expect(score.precision).toBeGreaterThanOrEqual(0.98);
    expect(score.recall).toBeGreaterThanOrEqual(0.98);
  });

  it('attributes planted secrets to their own rule', () => {
    let right = 0;
    let total = 0;
    for (const f of files) {
      const findings = results.get(f.path)?.findings ?? [];
      for (const s of f.secrets) {
        total++;
        if (findings.some((x) => x.line === s.line && x.ruleId === s.ruleId)) right++;
      }
    }
    expect(right / total).toBeGreaterThanOrEqual(0.98);
  });

  it('never leaks a planted secret into the findings', () => {
    for (const f of files) {
      const json = JSON.stringify(results.get(f.path));
      for (const s of f.secrets) expect(json.includes(s.secret)).toBe(false);
    }
  });
});
