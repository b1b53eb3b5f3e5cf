import { buildPrefilter, candidateLines } from './prefilter';
import { RULES } from './rules';
import { createRng } from '../test/support/scanner/samples';

const prefilter = buildPrefilter(RULES);

/** Every (rule, keyword start) by plain string search. */
function naiveHits(text: string): string[] {
  const lower = text.toLowerCase();
  const hits = new Set<string>();
  RULES.forEach((rule, r) => {
    for (const k of rule.keywords) for (let i = lower.indexOf(k); i >= 0; i = lower.indexOf(k, i + 1)) hits.add(`${r}@${i}`);
  });
  return [...hits].sort();
}

function prefilterHits(text: string): string[] {
  const { lines, hitRule, hitStart } = candidateLines(prefilter, text);
  const hits = new Set<string>();
  for (const line of lines) {
    const whole = (line.start === 0 || text[line.start - 1] === '\n') && (line.end === text.length || text[line.end] === '\n');
    if (!whole || text.slice(line.start, line.end).includes('\n')) hits.add(`bad line ${line.start}-${line.end}`);
    for (let h = line.hitFrom; h < line.hitTo; h++) {
      if ((hitStart[h] as number) < line.start) hits.add(`hit before its line at ${hitStart[h]}`);
      hits.add(`${hitRule[h]}@${hitStart[h]}`);
    }
  }
  return [...hits].sort();
}

/** Random text dense in keyword fragments, so that hits fall on segment boundaries too. */
function keywordSoup(seed: number, length: number): string {
  const rng = createRng(seed);
  const words = [...RULES.flatMap((r) => r.keywords), 'x', ' ', '\n', '=', 'AKIA', 'Token', 'SECRET', 'ghp_', 'http'];
  let out = '';
  while (out.length < length) out += rng.pick(words) + (rng.chance(0.3) ? rng.chars('abcXYZ019_-.', rng.range(0, 5)) : '');
  return out.slice(0, length);
}

describe('keyword prefilter', () => {
  it.each([0, 1, 7, 100, 4096, 32_767, 32_768, 65_536, 65_539, 140_001])(
    'finds exactly the keyword occurrences of plain search in %i characters',
    (length) => {
      const text = keywordSoup(length + 1, length);
      expect(prefilterHits(text)).toEqual(naiveHits(text));
    },
  );

  it('matches keywords ASCII case-insensitively and only adds hits around non-ASCII text', () => {
    const text = 'Ünïcödé 上 PASSWORD=x\n名前 Secret_Access_Key ghp_ ✓ İ token';
    const naive = naiveHits(text.replace(/[^ -~\n]/g, '#'));
    expect(prefilterHits(text)).toEqual(expect.arrayContaining(naive));
  });

  it('rejects keywords that are not lower-case ASCII', () => {
    const bad = { ...RULES[0]!, keywords: ['Token'] };
    expect(() => buildPrefilter([bad])).toThrow(/lower-case ASCII/);
  });
});
