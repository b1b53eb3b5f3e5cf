import { fitDiff } from './fit-diff';

const fileDiff = (name: string, lines: string[]) => `diff --git a/${name} b/${name}\n--- a/${name}\n+++ b/${name}\n@@ -0,0 +1,${lines.length} @@\n${lines.map((l) => `+${l}\n`).join('')}`;

describe('fitting a diff to what the review reads', () => {
  it('keeps a diff that fits whole', () => {
    const diff = fileDiff('a.ts', ['one', 'two']);
    expect(fitDiff(diff, 1000)).toEqual({ text: diff, omitted: 0, cutFiles: [] });
  });

  it('shows a short change whole however long the file before it, and marks where the long one is cut', () => {
    const padding = fileDiff('aaa-padding.txt', Array.from({ length: 5000 }, (_, i) => `harmless line ${i}`));
    const change = fileDiff('src/zzz.js', ['require("child_process").exec(process.env.PAYLOAD);']);
    const fitted = fitDiff(padding + change, 20_000);
    expect(fitted.text.length).toBeLessThanOrEqual(20_000);
    expect(fitted.text).toContain(change);
    expect(fitted.text.startsWith('diff --git a/aaa-padding.txt')).toBe(true);
    expect(fitted.text).toMatch(/\+harmless line \d+\n\[review: \d+ more characters of the diff of a\/aaa-padding\.txt b\/aaa-padding\.txt are not shown\]\n/);
    expect(fitted.cutFiles).toEqual(['a/aaa-padding.txt b/aaa-padding.txt']);
    expect(fitted.omitted).toBe(padding.length - fitted.text.indexOf('[review:'));
  });

  it('stays within the limit with thousands of files, naming those it cannot show at all', () => {
    const many = Array.from({ length: 3000 }, (_, i) => fileDiff(`f${i}.txt`, ['x'.repeat(100)])).join('');
    const oneLine = fileDiff('min.js', ['y'.repeat(300_000)]);
    const fitted = fitDiff(many + oneLine, 200_000);
    expect(fitted.text.length).toBeLessThanOrEqual(200_000);
    expect(fitted.cutFiles).toContain('a/min.js b/min.js');
    expect(fitted.text).toMatch(new RegExp(`\\[review: the diffs of ${fitted.cutFiles.length} files are not shown at all: a/f0\\.txt b/f0\\.txt; .* and ${fitted.cutFiles.length - 20} more\\]\\n$`));
    expect(fitted.text).not.toContain('y'.repeat(1000));
  });
});
