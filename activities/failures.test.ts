/** Whatever an activity throws leaves the worker redacted and bounded: message, stack and causes. */
import { ApplicationFailure, CancelledFailure, DefaultFailureConverter, defaultPayloadConverter, ensureApplicationFailure } from '@temporalio/common';
import { TypedError } from '../domain/typed-error';
import { WorktreeUnstageableError } from './git/errors';
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

  it('makes git\'s refusal of a worktree final, redacted: a retry would meet the same tree', () => {
    const failure = toActivityFailure(new WorktreeUnstageableError([`invalid path '${SECRET}/.GIT/config'`, "failed to encode 'a.txt' from NOPE to UTF-8"])) as ApplicationFailure;
    expect(failure).toMatchObject({ type: 'WorktreeUnstageable', nonRetryable: true });
    expect(failure.message).toBe("git cannot stage the worktree as it is: invalid path 'AKIA…/.GIT/config'; failed to encode 'a.txt' from NOPE to UTF-8");
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

  // What the worker sends for an activity's failure: ensureApplicationFailure, then the failure converter.
  const sentFailure = (thrown: unknown) => new DefaultFailureConverter().errorToFailure(ensureApplicationFailure(thrown), defaultPayloadConverter);

  it.each([
    ['a string', () => `git said: token ${SECRET}`],
    ['a plain object', () => ({ message: `token ${SECRET}`, stack: `Error: token ${SECRET}\n    at x`, cause: new Error(`spawn ${SECRET}`) })],
    // Its message is a getter: it cannot be redacted in place.
    ['a DOMException', () => new DOMException(`token ${SECRET}`, 'DataCloneError')],
  ])('redacts %s thrown as it goes to Temporal, and bounds it', async (_what, make) => {
    const activities = classifyFailures({
      fails: async () => {
        throw make();
      },
      long: async () => {
        const thrown = make();
        throw typeof thrown === 'string' ? thrown.repeat(1000) : thrown;
      },
    });
    const thrown = await activities.fails().then(() => undefined, (err: unknown) => err);
    const sent = sentFailure(thrown);
    expect(JSON.stringify(sent)).not.toContain(SECRET);
    expect(sent.message).toMatch(/token AKIA…$/);
    expect(sent.applicationFailureInfo?.nonRetryable).toBeFalsy();
    const long = sentFailure(await activities.long().then(() => undefined, (err: unknown) => err));
    expect(long.message!.length).toBeLessThanOrEqual(MAX_FAILURE_MESSAGE);
  });

  it('leaves no secret in a cause deeper than it rewrites: Temporal sends every cause', () => {
    let err = new Error(`spawn ${SECRET} ENOENT`);
    for (let i = 0; i < 8; i++) err = new Error(`step ${i} failed`, { cause: err });
    expect(JSON.stringify(sentFailure(toActivityFailure(err)))).not.toContain(SECRET);
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
