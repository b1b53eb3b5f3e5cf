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

  it('gives model calls their own slot budget, larger than the one for everything else', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ WORKER_MODEL_SLOTS: 500, WORKER_ACTIVITY_SLOTS: 50, WORKER_LOCAL_ACTIVITY_SLOTS: 200, WORKER_WORKFLOW_TASK_SLOTS: 40, WORKER_MAX_CACHED_WORKFLOWS: 1000 });
    expect(loadConfig({ WORKER_MODEL_SLOTS: '2000', WORKER_ACTIVITY_SLOTS: '8' })).toMatchObject({ WORKER_MODEL_SLOTS: 2000, WORKER_ACTIVITY_SLOTS: 8 });
  });

  it.each([
    ['WORKER_MODEL_SLOTS', '0', 'WORKER_MODEL_SLOTS="0": Too small: expected number to be >=1'],
    ['WORKER_ACTIVITY_SLOTS', 'many', 'WORKER_ACTIVITY_SLOTS="many": Invalid input: expected number, received NaN'],
    ['WORKER_WORKFLOW_TASK_SLOTS', '1', 'WORKER_WORKFLOW_TASK_SLOTS="1": Too small: expected number to be >=2'],
    ['KILL_ACK_TIMEOUT_SECONDS', '0.5', 'KILL_ACK_TIMEOUT_SECONDS="0.5": Invalid input: expected int, received number'],
  ])('refuses %s=%s with a message naming it', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(`invalid configuration: ${message}`);
  });

  it('waits a few seconds for a kill to be acknowledged, within the kill deadline', () => {
    expect(loadConfig({})).toMatchObject({ KILL_ACK_TIMEOUT_SECONDS: 3, KILL_DEADLINE_SECONDS: 30 });
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
