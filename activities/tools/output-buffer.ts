/** Collects command output up to a byte cap, keeping the head and the tail (the tail holds the error). */
export class OutputBuffer {
  private head = '';
  private tail = '';
  private total = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    this.total += Buffer.byteLength(text);
    const half = Math.floor(this.maxBytes / 2);
    if (this.head.length < half) {
      const room = half - this.head.length;
      this.head += text.slice(0, room);
      this.tail = (this.tail + text.slice(room)).slice(-half);
    } else {
      this.tail = (this.tail + text).slice(-half);
    }
  }

  get truncated(): boolean {
    return this.total > this.maxBytes;
  }

  toString(): string {
    if (!this.truncated) return this.head + this.tail;
    const dropped = this.total - Buffer.byteLength(this.head) - Buffer.byteLength(this.tail);
    return `${this.head}\n[... ${dropped} bytes of output truncated ...]\n${this.tail}`;
  }
}
