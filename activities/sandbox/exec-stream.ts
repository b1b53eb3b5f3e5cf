/**
 * Docker multiplexes an exec's stdout and stderr onto one connection when no TTY is
 * allocated: each frame is an 8-byte header (stream type, 3 zero bytes, big-endian length)
 * followed by the payload. This splits the frames again and decodes each stream as UTF-8,
 * keeping a multi-byte character whole when a frame boundary cuts through it.
 */
import { StringDecoder } from 'node:string_decoder';

const HEADER_BYTES = 8;
const STDERR = 2;

export type ExecStreamName = 'stdout' | 'stderr';

export class ExecStreamDemuxer {
  private pending: Buffer = Buffer.alloc(0);
  private readonly decoders: Record<ExecStreamName, StringDecoder> = {
    stdout: new StringDecoder('utf8'),
    stderr: new StringDecoder('utf8'),
  };

  constructor(private readonly onText: (text: string, stream: ExecStreamName) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= HEADER_BYTES) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < HEADER_BYTES + size) return;
      const stream: ExecStreamName = this.pending[0] === STDERR ? 'stderr' : 'stdout';
      const payload = this.pending.subarray(HEADER_BYTES, HEADER_BYTES + size);
      this.pending = this.pending.subarray(HEADER_BYTES + size);
      const text = this.decoders[stream].write(payload);
      if (text) this.onText(text, stream);
    }
  }

  /** Flushes any incomplete character left at the end of either stream. */
  end(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = this.decoders[stream].end();
      if (rest) this.onText(rest, stream);
    }
  }
}
