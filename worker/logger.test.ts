import { createRedactingLogger, createWorkerLogger, temporalLogger } from './logger';

const SECRET = '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';

function logged(fields: Record<string, unknown>, msg: string): Record<string, unknown> {
  const lines: string[] = [];
  createWorkerLogger('info', { write: (line) => lines.push(line) }).info(fields, msg);
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

describe('createWorkerLogger', () => {
  it('redacts a secret split by an escape or control character, which pino writes escaped (\\u001b) and a reader of the line prints', () => {
    const line = logged({ renamed: [`keys/${SECRET.slice(0, 8)}\u001b[0m${SECRET.slice(8)}/.git`], other: `${SECRET.slice(0, 6)}\u0000${SECRET.slice(6)}` }, 'renamed');
    expect(line.renamed).toEqual(['keys/ghp_…/.git']);
    expect(line.other).toBe('ghp_…');
  });

  it('redacts a secret split by a zero-width space or a bidi override, which pino writes as they are', () => {
    const line = logged({ a: `${SECRET.slice(0, 8)}\u200b${SECRET.slice(8)}`, b: `${SECRET.slice(0, 8)}\u202e${SECRET.slice(8)}` }, 'invisible');
    expect([line.a, line.b]).toEqual(['ghp_…', 'ghp_…']);
  });

  it('ends a line whose end it withheld, too slow to redact (a 30 KB run of a keyword), and gives out no secret after it', () => {
    const lines: string[] = [];
    createWorkerLogger('info', { write: (line) => lines.push(line) }).info({ output: `${'LS0tLS1CRUdJTi'.repeat(2_143)} ${SECRET}` }, 'tool output');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/characters withheld: finding the secrets in them took too long \.\.\.\]\n$/);
    expect(lines[0]).not.toContain(SECRET);
  });

  it('makes each string plain on its own: an escape left open does not swallow the rest of the line', () => {
    const line = logged({ path: 'a\u001b]0;title', next: 'kept', n: 3 }, 'an open OSC');
    expect(line).toMatchObject({ path: 'a', next: 'kept', n: 3, msg: 'an open OSC' });
  });

  it('leaves a backslash the text holds (\\\\u001b in the line) as it is', () => {
    expect(logged({ text: 'C:\\u001b' }, 'm').text).toBe('C:\\u001b');
  });

  it("passes Temporal's own logs (the SDK's, workflows' and activities' log) through the same redaction, errors serialised", () => {
    const lines: string[] = [];
    const sdk = temporalLogger(createWorkerLogger('info', { write: (line) => lines.push(line) }));
    sdk.warn(`Activity failed: token ${SECRET}`, { error: new Error(`push refused for ${SECRET}`), workflowId: 'agent-1' });
    sdk.debug('below the level: not written');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(SECRET.slice(4));
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, source: 'temporal', msg: 'Activity failed: token ghp_…', workflowId: 'agent-1', error: { message: 'push refused for ghp_…' } });
  });

  it("redacts the API's lines too: an error logged whole keeps no secret", () => {
    const lines: string[] = [];
    createRedactingLogger('orchestrator-api', { level: 'info' }, { write: (line) => lines.push(line) }).error({ err: new Error(`upstream said ${SECRET}`) }, 'request failed');
    expect(lines[0]).not.toContain(SECRET.slice(4));
    expect(JSON.parse(lines[0]!)).toMatchObject({ service: 'orchestrator-api', err: { message: 'upstream said ghp_…' } });
  });
});
