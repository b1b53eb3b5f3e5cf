import { estimateTextTokens } from './token-estimate';

describe('estimateTextTokens', () => {
  it('counts ASCII at one token per three characters', () => {
    expect(estimateTextTokens('abcdef')).toBe(2);
    expect(estimateTextTokens('a'.repeat(3000))).toBe(1000);
  });

  it('counts each character beyond ASCII as a token: 32 KB of Chinese is not a third of its characters', () => {
    const chinese = '请修复登录页面的错误并添加测试'.repeat(700); // 10,500 characters
    expect(estimateTextTokens(chinese)).toBe(10_500);
  });

  it('counts a character outside the BMP once, though JavaScript stores it as two code units', () => {
    expect(estimateTextTokens('😀😀')).toBe(2);
    expect(estimateTextTokens('ok 😀')).toBe(2); // "ok " is one token, the emoji another
  });
});
