/** The end of a command's output, where failures are reported, cut to a size a model can read. */
import { plainText } from '../../domain/plain-text';

export const TAIL_MAX_BYTES = 4096;
export const TAIL_MAX_LINES = 60;

/**
 * Makes the output plain, redacts, then keeps the last `maxLines` lines and `maxBytes` bytes.
 * Redaction runs on the whole output before it is cut, so a cut never splits a secret into
 * pieces the redactor no longer recognises.
 */
export function outputTail(
  output: string,
  redact: (text: string) => string = (t) => t,
  maxBytes = TAIL_MAX_BYTES,
  maxLines = TAIL_MAX_LINES,
): string {
  const clean = redact(plainText(output)).trimEnd();
  let lines = clean.split('\n');
  let cut = false;
  if (lines.length > maxLines) {
    lines = lines.slice(-maxLines);
    cut = true;
  }
  let tail = lines.join('\n');
  if (Buffer.byteLength(tail) > maxBytes) {
    tail = lastBytes(tail, maxBytes);
    // Start at a line boundary when one is near, so the first line is not a fragment.
    const newline = tail.indexOf('\n');
    if (newline >= 0 && newline < 200) tail = tail.slice(newline + 1);
    cut = true;
  }
  return cut ? `[... earlier output omitted ...]\n${tail}` : tail;
}

function lastBytes(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  let start = buf.length - maxBytes;
  // Skip UTF-8 continuation bytes so no character is split.
  while (start < buf.length && ((buf[start] ?? 0) & 0xc0) === 0x80) start++;
  return buf.subarray(start).toString('utf8');
}
