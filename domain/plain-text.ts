/** Command output as a reader sees it, before it is redacted for one. */

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
 * Characters a reader does not see: zero-width space, word joiner, invisible operators, byte-order
 * mark, soft hyphen, and the bidirectional marks and overrides (which also reorder what is shown).
 */
const INVISIBLE = /[\u00ad\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
/**
 * Zero-width (non-)joiners next to printable ASCII. Between letters of other scripts and in emoji
 * sequences they shape what is shown and stay; inside an ASCII token they only hide it.
 */
const ASCII_JOINER = /(?<=[\x21-\x7e])[\u200c\u200d]+|[\u200c\u200d]+(?=[\x21-\x7e])/g;

/**
 * Text a command printed, made plain: escape sequences and control characters removed, line ends
 * made `\n`. Gate results and transcripts go to clients that may print them to a terminal (an
 * OSC 52 would write the reader's clipboard), and an escape or control character inside a secret
 * (grep --color=always highlights its match apart from the rest) hides it from redaction while a
 * reader that drops it sees the secret whole: so this runs before redaction. Invisible characters
 * go for the same reason: a zero-width space inside a token hides it from redaction, not from a reader.
 */
export function plainText(text: string): string {
  return text.replace(ESCAPE_SEQUENCE, '').replace(/\r\n?/g, '\n').replace(CONTROL, '').replace(INVISIBLE, '').replace(ASCII_JOINER, '');
}
