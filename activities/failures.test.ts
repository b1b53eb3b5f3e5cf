/** Whatever an activity throws leaves the worker redacted and bounded: message, stack and causes. */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { TypedError } from '../domain/typed-error';
import { classifyFailures, MAX_FAILURE_MESSAGE, toActivityFailure } from './failures';

// A made-up AWS access key id; the scanner's rules recognise its shape.
const SECRET = 'AKIAQ3VZL7WD5NTXKB2M';

class InputRefused extends TypedError {
  readonly type = 'InvalidInput';
}

describe('toActivityFailure', () => {
  it('redacts a typed error and keeps its type and retryability', () => {
    const failure = toActivityFailure(new InputRefused(`cannot open ${SECRET}/d/d`)) as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(failure.message).toMatch(/^cannot open AKIA…/);
    expect(JSON.stringify({ m: failure.message, s: failure.stack })).not.toContain(SECRET);
  });

  it('redacts an untyped error in place: its class, message, stack and causes', () => {
    const cause = new Error(`spawn ${SECRET} ENOENT`);
    const err = new RangeError(`the command ${SECRET} failed`, { cause });
    const out = toActivityFailure(err);
    expect(out).toBe(err);
    expect(out).toBeInstanceOf(RangeError);
    expect(err.message).toBe('the command AKIA… failed');
    expect(`${err.stack} ${cause.message} ${cause.stack}`).not.toContain(SECRET);
  });

  it(`cuts a message longer than ${MAX_FAILURE_MESSAGE} characters, after redacting it`, () => {
    const err = new Error(`${'d/'.repeat(3000)}${SECRET}`);
    toActivityFailure(err);
    expect(err.message.length).toBe(MAX_FAILURE_MESSAGE);
    expect(err.message.endsWith('…')).toBe(true);
    const typed = toActivityFailure(new InputRefused(`${SECRET}${'/d'.repeat(3000)}`)) as ApplicationFailure;
    expect(typed.message.length).toBe(MAX_FAILURE_MESSAGE);
    expect(typed.message.startsWith('AKIA…/d')).toBe(true);
  });

  it('lets a cancellation through untouched', () => {
    const cancelled = new CancelledFailure(`cancelled ${SECRET}`);
    expect(toActivityFailure(cancelled)).toBe(cancelled);
    expect(cancelled.message).toContain(SECRET);
  });

  it('applies to every activity it wraps', async () => {
    const activities = classifyFailures({
      fails: async () => {
        throw new Error(`token ${SECRET}`);
      },
    });
    await expect(activities.fails()).rejects.toThrow('token AKIA…');
  });
});
