/** The end of a command's output, where failures are reported, cut to a size a model can read. */

export const TAIL_MAX_BYTES = 4096;
export const TAIL_MAX_LINES = 60;

/* eslint-disable no-control-regex -- terminal escape sequences and control characters are what these match */
/**
 * Terminal escape sequences: CSI (colours, cursor moves), the string commands OSC, DCS, SOS, PM and
 * APC up to their BEL or ST terminator (or the line's end: one left open must not swallow the
 * output after it), and the short ESC sequences (ESC c resets the terminal, ESC ( 0 switches charset).
 */
const ESCAPE_SEQUENCE = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b[\]PX^_][^\u0007\u001b\n]*(?:\u0007|\u001b\\)?|\u001b[ -/]*[0-~]?/g;
/** What is left of C0 and C1 control characters once line ends are `\n`; tabs stay. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
/* eslint-enable no-control-regex */

/**
 * Text a command printed, made plain: escape sequences and control characters removed, line ends
 * made `\n`. Gate results go to clients that may print them to a terminal (an OSC 52 would write
 * the reader's clipboard), and a control character inside a secret would hide it from redaction
 * while a reader that drops it sees the secret whole: so this runs before redaction.
 */
export function plainText(text: string): string {
  return text.replace(ESCAPE_SEQUENCE, '').replace(/\r\n?/g, '\n').replace(CONTROL, '');
}

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
