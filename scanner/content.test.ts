import { LINE_PIECE_CHARS, LINE_PIECE_OVERLAP, scanContent, scanContentYielding } from './content';
import { loadAllowlist } from './allow';
import { scanText } from './scan';

// A GitHub token with a valid checksum (the rule verifies it), generated once for these tests.
const TOKEN = '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';

describe('scanContent', () => {
  it('finds a secret on a line far longer than scanText reads, at its real line and column', () => {
    const prefix = `${'x'.repeat(150_000)} `;
    const text = `first\nconst blob = "${prefix}${TOKEN}";\n`;
    expect(scanText(text, 'a.js').findings).toEqual([]); // what the diff scan used to see
    const { findings, skipped } = scanContent(text, 'a.js');
    expect(skipped).toEqual([]);
    expect(findings.map((f) => [f.ruleId, f.line, f.column])).toEqual([['github-pat', 2, 'const blob = "'.length + prefix.length + 1]]);
  });

  it('finds a secret that straddles the boundary between two pieces of a long line', () => {
    const boundary = LINE_PIECE_CHARS - 10; // the token starts 10 characters before the first piece ends
    const text = `${'a '.repeat(boundary / 2)}${TOKEN} ${'b '.repeat(LINE_PIECE_CHARS)}`;
    expect(LINE_PIECE_OVERLAP).toBeGreaterThan(TOKEN.length);
    expect(scanContent(text, 'f').findings.map((f) => [f.line, f.column])).toEqual([[1, boundary + 1]]);
  });

  it('scans content with NUL bytes: UTF-16 text and strings inside binary data', () => {
    const utf16 = Buffer.from(`token = "${TOKEN}"\n`, 'utf16le');
    const binary = Buffer.concat([Buffer.from([0, 1, 2, 0, 0, 255]), Buffer.from(`\0${TOKEN}\0`), Buffer.alloc(1000)]);
    expect(scanText(utf16.toString('utf8'), 'u').skipped).toEqual([{ file: 'u', reason: 'binary file' }]);
    expect(scanContent(utf16, 'u').findings.map((f) => f.ruleId)).toEqual(['github-pat']);
    expect(scanContent(binary, 'b').findings.map((f) => f.ruleId)).toEqual(['github-pat']);
  });

  it('scans a text larger than the file cap in windows, including the last bytes', () => {
    const filler = 'const value = 1;\n'.repeat(300_000); // ~5 MB
    const { findings, skipped } = scanContent(`${filler}k = "${TOKEN}"\n`, 'big.js');
    expect(skipped).toEqual([]);
    expect(findings.map((f) => f.line)).toEqual([300_001]);
  });

  it('finds a private key split by a window boundary', () => {
    const pem = ['-----BEGIN RSA PRIVATE KEY-----', ...Array.from({ length: 25 }, (_, i) => `MIIEowIBAAKCAQEA${String(i).padStart(2, '0')}q3vK8xR2mZp7YtW9sN4uL6dF1hJ0cB5gE8aQwXyZ`), '-----END RSA PRIVATE KEY-----'].join('\n');
    // Enough lines before it that the key sits across the first window's end.
    const before = `${'y'.repeat(99)}\n`.repeat(9_995);
    const { findings } = scanContent(`${before}${pem}\n`, 'k.pem');
    expect(findings.map((f) => f.ruleId)).toContain('private-key');
  });

  it('ignores inline allow markers when asked to (an untrusted author cannot allowlist its own leak)', () => {
    const text = `const t = "${TOKEN}"; // orchestrator:allow\n`;
    expect(scanContent(text, 'f').findings).toEqual([]);
    expect(scanContent(text, 'f', { honourInlineAllow: false }).findings.map((f) => [f.ruleId, f.column])).toEqual([['github-pat', 12]]);
  });

  it('still honours the allowlist file (read from the base commit by callers)', () => {
    const allowlist = loadAllowlist('fixtures/**\n');
    expect(scanContent(`t = "${TOKEN}"`, 'fixtures/token.txt', { allowlist }).findings).toEqual([]);
  });
});

describe('scanContent on hostile shapes', () => {
  // Linear in size whatever the shape: a per-line object for each NUL or a quadratic step would time this out.
  it('scans 30 MB of NUL bytes, millions of tiny lines and one 20 MB line', () => {
    expect(scanContent(Buffer.alloc(30 * 1024 * 1024), 'zeros.bin').findings).toEqual([]);
    expect(scanContent('a\n'.repeat(5_000_000), 'lines.txt').findings).toEqual([]);
    const { findings } = scanContent(`${'q'.repeat(20 * 1024 * 1024)} ${TOKEN}`, 'one-line.txt');
    expect(findings.map((f) => [f.line, f.column])).toEqual([[1, 20 * 1024 * 1024 + 2]]);
  });
});

describe('scanContentYielding', () => {
  /** Turns of the event loop taken while `scan` runs (0: it held the loop throughout). */
  async function turnsDuring<T>(scan: () => Promise<T>): Promise<{ value: T; turns: number }> {
    let turns = 0;
    let done = false;
    const tick = () => {
      if (done) return;
      turns += 1;
      setImmediate(tick);
    };
    setImmediate(tick);
    const value = await scan();
    done = true;
    return { value, turns };
  }

  // Windows of whole lines, and a single 6 MB line (a blob of one line is one window): both are
  // scanned a window's worth at a time, and find what scanContent finds, at the same places.
  it.each([
    ['many lines', `${'x = 1\n'.repeat(300_000)}t = "${TOKEN}"\n${'y = 2\n'.repeat(300_000)}t2 = "${TOKEN.replace('a', 'b')}" ${TOKEN}\n`],
    ['one line', `${'a '.repeat(500_000 - 6)}${TOKEN} ${'b '.repeat(2_500_000)}${TOKEN}`],
  ])('gives the event loop turns while it scans %s, and finds what scanContent finds', async (_name, text) => {
    const { value, turns } = await turnsDuring(() => scanContentYielding(text, 'f'));
    expect(turns).toBeGreaterThanOrEqual(3);
    const where = (r: ReturnType<typeof scanContent>) => r.findings.map((f) => [f.ruleId, f.line, f.column]);
    expect(where(value)).toEqual(where(scanContent(text, 'f')));
    expect(value.findings.length).toBeGreaterThan(0);
    expect((await turnsDuring(async () => scanContent(text, 'f'))).turns).toBe(0);
  }, 60_000);

  it('finds a secret that straddles two parts of a very long line', async () => {
    // The first part of the line ends near 1,000,000 characters (its pieces overlap by LINE_PIECE_OVERLAP).
    for (const at of [999_000, 999_990, 1_000_020]) {
      const text = `${'a'.repeat(at)} ${TOKEN} ${'b'.repeat(1_500_000)}`;
      const found = (await scanContentYielding(text, 'f')).findings.map((f) => [f.line, f.column]);
      expect([at, found]).toEqual([at, [[1, at + 2]]]);
    }
  }, 60_000);
});
