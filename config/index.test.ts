import { ConfigError, isSecretVariable, loadConfig } from './index';

describe('configuration', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ ORCHESTRATOR_PORT: 3001, VALKEY_PORT: 6379, TEMPORAL_TASK_QUEUE: 'agent-runs', SANDBOX_ENABLED: false, GIT_ALLOWED_SCHEMES: ['https', 'ssh'] });
  });

  it('fails fast naming the variable and the value it got', () => {
    expect(() => loadConfig({ ORCHESTRATOR_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ ORCHESTRATOR_PORT: 'eighty' })).toThrow(/ORCHESTRATOR_PORT="eighty"/);
    expect(() => loadConfig({ SANDBOX_ENABLED: 'maybe' })).toThrow(/SANDBOX_ENABLED="maybe"/);
  });

  it('never echoes the value of a secret variable', () => {
    let message = '';
    try {
      loadConfig({ ORCHESTRATOR_API_KEY: 'too-short' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('ORCHESTRATOR_API_KEY=[redacted]');
    expect(message).not.toContain('too-short');
  });

  it.each([
    ['CLAUDE_API_KEY', true],
    ['ORCHESTRATOR_API_KEY', true],
    ['GIT_HTTPS_TOKEN', true],
    ['VALKEY_PASSWORD', true],
    ['VALKEY_PORT', false],
    ['GIT_SSH_KEY_PATH', false],
  ])('%s is secret: %s', (name, secret) => expect(isSecretVariable(name)).toBe(secret));
});
