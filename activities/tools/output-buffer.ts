import { cutAfter, cutBefore, SECRET_CONTEXT_CHARS } from '../../scanner';

/**
 * Collects command output up to a byte cap, keeping the head and the tail (the tail holds the error).
 * Output goes to the transcript, and its readers see it through the secret scanner's redaction,
 * which does not recognise half a token: so neither cut splits a secret. Each part keeps
 * SECRET_CONTEXT_CHARS more than it shows, and a cut through a secret moves off it.
 */
export class OutputBuffer {
  private head = '';
  private tail = '';
  /** Characters pushed once the head was full; more than the tail holds once it dropped some. */
  private afterHead = 0;
  private total = 0;
  private readonly half: number;

  constructor(private readonly maxBytes: number) {
    this.half = Math.floor(maxBytes / 2);
  }

  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    this.total += Buffer.byteLength(text);
    const cap = this.half + SECRET_CONTEXT_CHARS;
    let rest = text;
    if (this.head.length < cap) {
      const room = cap - this.head.length;
      this.head += text.slice(0, room);
      rest = text.slice(room);
    }
    if (rest) {
      this.afterHead += rest.length;
      this.tail = (this.tail + rest).slice(-cap);
    }
  }

  get truncated(): boolean {
    return this.total > this.maxBytes;
  }

  toString(): string {
    const whole = this.afterHead === this.tail.length;
    // What followed the head's first half, without a gap.
    const rest = whole ? this.head.slice(this.half) + this.tail : this.tail;
    // Nothing to leave out (over the cap in bytes, not in characters): the output whole, uncut.
    if (!this.truncated || (whole && rest.length <= this.half)) return this.head + this.tail;
    const head = this.head.slice(0, cutBefore(this.head, this.half));
    const tail = rest.slice(cutAfter(rest, rest.length - this.half));
    const dropped = this.total - Buffer.byteLength(head) - Buffer.byteLength(tail);
    return `${head}\n[... ${dropped} bytes of output truncated ...]\n${tail}`;
  }
}
