import { ExecStreamDemuxer, type ExecStreamName } from './exec-stream';

function frame(stream: 1 | 2, payload: Buffer | string): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const header = Buffer.alloc(8);
  header.writeUInt8(stream, 0);
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

function collect(): { parts: Array<[ExecStreamName, string]>; demuxer: ExecStreamDemuxer } {
  const parts: Array<[ExecStreamName, string]> = [];
  return { parts, demuxer: new ExecStreamDemuxer((text, stream) => parts.push([stream, text])) };
}

describe('ExecStreamDemuxer', () => {
  it('separates stdout and stderr frames in order', () => {
    const { parts, demuxer } = collect();
    demuxer.push(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, 'more')]));
    expect(parts).toEqual([
      ['stdout', 'out\n'],
      ['stderr', 'err\n'],
      ['stdout', 'more'],
    ]);
  });

  it('reassembles frames split across chunks at any byte', () => {
    const whole = Buffer.concat([frame(1, 'hello '), frame(1, 'world')]);
    for (let cut = 1; cut < whole.length; cut++) {
      const { parts, demuxer } = collect();
      demuxer.push(whole.subarray(0, cut));
      demuxer.push(whole.subarray(cut));
      expect(parts.map(([, t]) => t).join('')).toBe('hello world');
    }
  });

  it('keeps a multi-byte character whole when a frame boundary cuts through it', () => {
    const euro = Buffer.from('€'); // 3 bytes
    const { parts, demuxer } = collect();
    demuxer.push(Buffer.concat([frame(1, euro.subarray(0, 1)), frame(1, euro.subarray(1))]));
    demuxer.end();
    expect(parts.map(([, t]) => t).join('')).toBe('€');
  });
});
