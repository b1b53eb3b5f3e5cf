import { redactSecrets } from '../scanner';
import { redactDeep } from './transcript';

describe('redactDeep', () => {
  const token = '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';

  it('redacts every string, the keys of an object included: a tool input is the model\'s to shape', () => {
    const content = [
      { type: 'text', text: `found ${token}` },
      { type: 'tool_use', id: 'a', name: 'bash', input: { command: 'true', [token]: 1, nested: [{ [`x-${token}`]: token }] } },
    ];
    const out = JSON.stringify(redactDeep(content, redactSecrets));
    expect(out).not.toContain(token);
    expect(out).toContain('ghp_…');
    expect(redactDeep({ type: 'text', n: 3, ok: true, none: null }, redactSecrets)).toEqual({ type: 'text', n: 3, ok: true, none: null });
  });
});
