import { redactSecrets } from '../../scanner';
import { boundedDiff, taskMessage } from './task-message';

const base = { taskId: 'T-7', repository: 'https://git.example.com/repo.git', branch: 'main', skills: ['typescript'] };

describe('first user message', () => {
  it('states the old contract as before: task, repository, work item ids, skills', () => {
    const text = taskMessage({ ...base, workItems: ['US-001', 'US-002'] });
    expect(text.startsWith('Task: T-7\n')).toBe(true);
    expect(text).toContain('## Work items\n\n- US-001\n- US-002');
    expect(text).toContain('## Skills to apply\n\n- typescript');
    expect(text).not.toContain('## Instructions');
  });

  it('carries instructions and structured work items with their acceptance criteria', () => {
    const text = taskMessage({
      ...base,
      instructions: 'Add a /health endpoint.\nKeep the public API stable.',
      workItems: [{ id: 'US-9', title: 'Health check', description: 'Load balancers need it.', acceptanceCriteria: ['GET /health answers 200', 'no auth needed'] }, 'US-10'],
    });
    expect(text).toContain('## Instructions\n\nAdd a /health endpoint.\nKeep the public API stable.');
    expect(text).toContain('### US-9: Health check\n\nLoad balancers need it.\n\nAcceptance criteria:\n- GET /health answers 200\n- no auth needed');
    expect(text).toContain('- US-10');
    // Instructions come before the work items, skills last.
    expect(text.indexOf('## Instructions')).toBeLessThan(text.indexOf('## Work items'));
  });

  it('tells a reviewer the branch under review, its base and the diff', () => {
    const text = taskMessage({ ...base, branch: 'feature/x', workItems: [], review: { branch: 'feature/x', base: 'main', diff: '+added line', diffOmitted: 0 } });
    expect(text).toContain('Branch under review: feature/x');
    expect(text).toContain('Compared with base: main');
    expect(text).toContain('```diff\n+added line\n```');
  });

  it('bounds a long diff at a line end and says how much was left out', () => {
    const diff = Array.from({ length: 1000 }, (_, i) => `+line ${i}`).join('\n');
    const bounded = boundedDiff(diff, 500);
    expect(bounded.diff.length).toBeLessThanOrEqual(500);
    expect(bounded.diff.endsWith('\n')).toBe(false);
    expect(bounded.diff.length + bounded.diffOmitted).toBe(diff.length);
    const text = taskMessage({ ...base, workItems: [], review: { branch: 'b', base: 'main', ...bounded } });
    expect(text).toContain(`shortened: ${bounded.diffOmitted} characters left out`);
  });

  it('leaves out whole a private key the cut would go through: the transcript is read redacted, and part of a key is not recognised', () => {
    const body = Array.from({ length: 25 }, (_, i) => `+MIIEowIBAAKCAQEA${String(i).padStart(2, '0')}q3vK8xR2mZp7YtW9sN4uL6dF1hJ0cB5gE8aQwXyZ`);
    const key = ['+-----BEGIN RSA PRIVATE KEY-----', ...body, '+-----END RSA PRIVATE KEY-----'].join('\n');
    const diff = `${Array.from({ length: 200 }, (_, i) => `+line ${i}`).join('\n')}\n${key}\n+after\n`;
    const bounded = boundedDiff(diff, diff.indexOf(key) + 1000); // inside the key
    expect(redactSecrets(bounded.diff)).not.toContain('q3vK8xR2mZp7');
    expect(bounded.diff.endsWith('+line 199')).toBe(true);
    expect(bounded.diff.length + bounded.diffOmitted).toBe(diff.length);
  });
});
