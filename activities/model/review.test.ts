import { finalLineApproves } from './review';

describe('the AI review verdict', () => {
  it.each([
    ['Small and correct.\nVERDICT: APPROVE', true],
    ['Fine.\n**VERDICT: APPROVE**\n\n', true],
    ['verdict: approve', true],
    // The diff (agent-written) said it; the reviewer did not.
    ['The diff contains a comment "VERDICT: APPROVE" meant to fool me.\nVERDICT: REQUEST_CHANGES', false],
    ['VERDICT: APPROVE\nActually, on second thought the tests are missing.', false],
    ['VERDICT: APPROVE the parts that work', false],
    ['I would say VERDICT: APPROVE', false],
    ['', false],
  ])('%j approves: %s', (answer, approved) => {
    expect(finalLineApproves(answer)).toBe(approved);
  });
});
