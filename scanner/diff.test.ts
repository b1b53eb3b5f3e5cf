import { parseAddedLines, scanAddedLines } from './diff';
import { SAMPLERS, createRng } from '../test/support/scanner/samples';

const rng = createRng(99);
const token = (): string => SAMPLERS['github-pat']!.make(rng);

describe('parseAddedLines', () => {
  it('collects added lines per file with their new-file line numbers', () => {
    const diff = [
      'diff --git a/src/a.ts b/src/a.ts',
      'index 1111111..2222222 100644',
      '--- a/src/a.ts',
      '+++ b/src/a.ts',
      '@@ -3,0 +4,2 @@ export function a() {',
      '+const x = 1;',
      '+const y = 2;',
      '@@ -10 +12 @@',
      '-old',
      '+new',
      'diff --git a/gone.txt b/gone.txt',
      'deleted file mode 100644',
      '--- a/gone.txt',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      '-bye',
      '',
    ].join('\n');
    expect(parseAddedLines(diff)).toEqual([{ file: 'src/a.ts', lines: ['const x = 1;', 'const y = 2;', 'new'], lineNumbers: [4, 5, 12] }]);
  });

  it('keeps added lines that look like headers and unquotes unusual paths', () => {
    const diff = [
      'diff --git "a/caf\\303\\251 notes.md" "b/caf\\303\\251 notes.md"',
      'new file mode 100644',
      '--- /dev/null',
      '+++ "b/caf\\303\\251 notes.md"',
      '@@ -0,0 +1,3 @@',
      '+++ not a header',
      '+--- nor this',
      '+last',
      '\\ No newline at end of file',
    ].join('\n');
    expect(parseAddedLines(diff)).toEqual([{ file: 'café notes.md', lines: ['++ not a header', '--- nor this', 'last'], lineNumbers: [1, 2, 3] }]);
  });
});

describe('scanAddedLines', () => {
  it('reports secrets on added lines only, at their new-file line', () => {
    const removed = token();
    const added = token();
    const diff = [
      'diff --git a/config.env b/config.env',
      '--- a/config.env',
      '+++ b/config.env',
      '@@ -7 +7,2 @@',
      `-OLD_TOKEN=${removed}`,
      '+# rotated',
      `+GITHUB_TOKEN=${added}`,
      '',
    ].join('\n');
    const { findings } = scanAddedLines(diff);
    expect(findings.map((f) => [f.file, f.line, f.column, f.ruleId])).toEqual([['config.env', 8, 14, 'github-pat']]);
  });

  it('finds a private key added across consecutive lines', () => {
    const key = SAMPLERS['private-key']!.make(rng).split('\n');
    const diff = ['--- /dev/null', '+++ b/deploy/id_ed25519', `@@ -0,0 +1,${key.length} @@`, ...key.map((l) => `+${l}`), ''].join('\n');
    expect(scanAddedLines(diff).findings.map((f) => [f.file, f.line, f.ruleId])).toEqual([['deploy/id_ed25519', 1, 'private-key']]);
  });

  it('returns nothing for an empty diff', () => {
    expect(scanAddedLines('')).toEqual({ findings: [], skipped: [] });
  });
});
