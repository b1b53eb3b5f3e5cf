import { msToNumber } from '@temporalio/common/lib/time';
import * as activityOptions from '../workflows/activity-options';
import { ConfigError, isSecretVariable, loadConfig, sandboxRuntime } from './index';

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
    ['WORKER_ACTIVITY_SLOTS', 'many', 'WORKER_ACTIVITY_SLOTS="many": must be a number in decimal digits'],
    ['WORKER_WORKFLOW_TASK_SLOTS', '1', 'WORKER_WORKFLOW_TASK_SLOTS="1": Too small: expected number to be >=2'],
    ['KILL_ACK_TIMEOUT_SECONDS', '0.5', 'KILL_ACK_TIMEOUT_SECONDS="0.5": Invalid input: expected int, received number'],
  ])('refuses %s=%s with a message naming it', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(`invalid configuration: ${message}`);
  });

  it.each([
    // Number(' ') is 0: a blank port would have bound a random one, a blank threshold made the coverage gate pass at 0 %.
    ['ORCHESTRATOR_PORT', ' '],
    ['GATE_COVERAGE_THRESHOLD', ' '],
    ['WORKER_MAX_CACHED_WORKFLOWS', '\t'],
    ['SANDBOX_CPUS', ' '],
    // Read as 16 and as 1000 by Number(): not what anyone writes for a port or a budget.
    ['VALKEY_PORT', '0x10'],
    ['AGENT_MAX_TURNS', '1e3'],
    ['AGENT_MAX_COST_USD', '0b1'],
  ])('refuses %s=%j: numbers are written in decimal digits', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(`${name}=${JSON.stringify(value)}: must be a number in decimal digits`);
  });

  it('refuses port 0 for the API: it would listen on a port nobody knows', () => {
    expect(() => loadConfig({ ORCHESTRATOR_PORT: '0' })).toThrow('ORCHESTRATOR_PORT="0": Too small');
  });

  it('reads decimal numbers, fractions included', () => {
    expect(loadConfig({ VALKEY_PORT: '6380', SANDBOX_CPUS: '0.5', AGENT_MAX_COST_USD: '2.25', GATE_COVERAGE_THRESHOLD: '0' })).toMatchObject({
      VALKEY_PORT: 6380,
      SANDBOX_CPUS: 0.5,
      AGENT_MAX_COST_USD: 2.25,
      GATE_COVERAGE_THRESHOLD: 0,
    });
  });

  it.each([
    // body-parser read these as 1 byte, as 1 byte, as "refuse every body" and as no bound at all.
    ['1e3', 'must be a size like 256kb or 1mb'],
    ['1x', 'must be a size like 256kb or 1mb'],
    ['-1', 'must be a size like 256kb or 1mb'],
    ['10tb', 'must be a size like 256kb or 1mb'],
    ['200mb', 'must be at most 100mb'],
    ['0', 'must be at least 1kb'],
    ['big', 'must be a size like 256kb or 1mb'],
  ])('refuses ORCHESTRATOR_BODY_LIMIT=%s', (value, message) => {
    expect(() => loadConfig({ ORCHESTRATOR_BODY_LIMIT: value })).toThrow(`ORCHESTRATOR_BODY_LIMIT=${JSON.stringify(value)}: ${message}`);
  });

  it('refuses HTTP server limits Node would refuse, or that leave no connection besides the event streams', () => {
    expect(() => loadConfig({ ORCHESTRATOR_HEADERS_TIMEOUT_SECONDS: '60', ORCHESTRATOR_REQUEST_TIMEOUT_SECONDS: '30' })).toThrow(
      'ORCHESTRATOR_HEADERS_TIMEOUT_SECONDS="60": must be at most ORCHESTRATOR_REQUEST_TIMEOUT_SECONDS (30)',
    );
    expect(() => loadConfig({ ORCHESTRATOR_MAX_CONNECTIONS: '500' })).toThrow('ORCHESTRATOR_MAX_CONNECTIONS="500": must be above ORCHESTRATOR_MAX_EVENT_STREAMS (500)');
    expect(loadConfig({})).toMatchObject({
      ORCHESTRATOR_HEADERS_TIMEOUT_SECONDS: 10,
      ORCHESTRATOR_REQUEST_TIMEOUT_SECONDS: 30,
      ORCHESTRATOR_RESPONSE_TIMEOUT_SECONDS: 60,
      ORCHESTRATOR_KEEP_ALIVE_TIMEOUT_SECONDS: 5,
      ORCHESTRATOR_MAX_CONNECTIONS: 2000,
    });
  });

  it('reads ORCHESTRATOR_BODY_LIMIT as bytes', () => {
    expect(loadConfig({}).ORCHESTRATOR_BODY_LIMIT).toBe(256 * 1024);
    expect(loadConfig({ ORCHESTRATOR_BODY_LIMIT: '1.5MB' }).ORCHESTRATOR_BODY_LIMIT).toBe(1.5 * 1024 * 1024);
    expect(loadConfig({ ORCHESTRATOR_BODY_LIMIT: '65536' }).ORCHESTRATOR_BODY_LIMIT).toBe(65536);
  });

  it.each([
    // A typo or a scheme the API has no URL form for left every spawn refused, and put protocol.<x>.allow=always in git's config.
    ['htps', 'htps'],
    ['https,ext', 'ext'],
    ['git', 'git'],
  ])('refuses GIT_ALLOWED_SCHEMES=%s, naming the scheme it does not know', (value, unknown) => {
    expect(() => loadConfig({ GIT_ALLOWED_SCHEMES: value })).toThrow(`GIT_ALLOWED_SCHEMES=${JSON.stringify(value)}: "${unknown}" is not a supported scheme (https, http, ssh, file)`);
  });

  it('refuses a GIT_ALLOWED_SCHEMES that allows nothing, and reads schemes in any case', () => {
    expect(() => loadConfig({ GIT_ALLOWED_SCHEMES: ',' })).toThrow('GIT_ALLOWED_SCHEMES=",": must name at least one scheme');
    expect(loadConfig({ GIT_ALLOWED_SCHEMES: 'HTTPS, File' }).GIT_ALLOWED_SCHEMES).toEqual(['https', 'file']);
  });

  // The SDK rewrites these combinations with a log line of its own: the worker would run with other
  // budgets than the ones configured.
  it('refuses a workflow cache of 1, which the SDK would make 2', () => {
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '1' })).toThrow('WORKER_MAX_CACHED_WORKFLOWS="1": must be 0 (no cache) or at least 2');
  });

  it('refuses more workflow task slots than cached workflows, which the SDK would cut down', () => {
    expect(() => loadConfig({ WORKER_WORKFLOW_TASK_SLOTS: '50', WORKER_MAX_CACHED_WORKFLOWS: '20' })).toThrow(
      'WORKER_WORKFLOW_TASK_SLOTS="50": must not exceed WORKER_MAX_CACHED_WORKFLOWS (20) while the cache is on',
    );
    expect(loadConfig({ WORKER_WORKFLOW_TASK_SLOTS: '50', WORKER_MAX_CACHED_WORKFLOWS: '0' }).WORKER_WORKFLOW_TASK_SLOTS).toBe(50);
  });

  it('fits the default workflow task slots (40) to a smaller cache', () => {
    expect(loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '10' }).WORKER_WORKFLOW_TASK_SLOTS).toBe(10);
    expect(loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '0' }).WORKER_WORKFLOW_TASK_SLOTS).toBe(40);
  });

  // Each of these runs inside an activity whose own timeout (workflows/activity-options.ts) is fixed:
  // a longer setting could never apply; Temporal cut the activity first and retried it, commands and all.
  it.each([
    ['MODEL_REQUEST_TIMEOUT_SECONDS', activityOptions.modelCall, 60, 'a model call'],
    ['TOOL_TIMEOUT_SECONDS', activityOptions.toolBatch, 60, 'a tool batch'],
    ['GATE_TIMEOUT_SECONDS', activityOptions.gates, 60, 'the gates of a phase'],
    // The coordinator's one request per attempt; COORDINATOR_TIMEOUT_SECONDS went to 600 against a 1-minute activity.
    ['COORDINATOR_TIMEOUT_SECONDS', activityOptions.coordinator, 5, 'a report to the coordinator'],
    // Cleanup stops the container first, then salvages and removes the worktree.
    ['SANDBOX_GRACEFUL_STOP_TIMEOUT_SECONDS', activityOptions.cleanup, 60, 'cleanup (the container stop, then salvage and worktree removal)'],
  ])('refuses a %s its activity could never wait for', (name, options, margin, what) => {
    const activitySeconds = msToNumber(options.startToCloseTimeout!) / 1000;
    const limit = activitySeconds - margin;
    expect(() => loadConfig({ [name]: String(activitySeconds) })).toThrow(`${name}="${activitySeconds}": must be at most ${limit} s: ${what} runs in an activity that times out after ${activitySeconds} s`);
    expect(loadConfig({ [name]: String(limit) })).toMatchObject({ [name]: limit });
  });

  it('waits a few seconds for a kill to be acknowledged, within the kill deadline', () => {
    expect(loadConfig({})).toMatchObject({ KILL_ACK_TIMEOUT_SECONDS: 3, KILL_DEADLINE_SECONDS: 30 });
  });

  it('picks the sandbox runtime: bubblewrap by default, docker with SANDBOX_ENABLED=true, none only when asked', () => {
    expect(sandboxRuntime(loadConfig({}))).toBe('bubblewrap');
    expect(sandboxRuntime(loadConfig({ SANDBOX_ENABLED: 'true' }))).toBe('docker');
    expect(sandboxRuntime(loadConfig({ SANDBOX_RUNTIME: 'none' }))).toBe('none');
    expect(sandboxRuntime(loadConfig({ SANDBOX_RUNTIME: 'docker' }))).toBe('docker');
    expect(() => loadConfig({ SANDBOX_ENABLED: 'true', SANDBOX_RUNTIME: 'bubblewrap' })).toThrow(/SANDBOX_RUNTIME="bubblewrap": conflicts with SANDBOX_ENABLED=true/);
    expect(() => loadConfig({ SANDBOX_RUNTIME: 'chroot' })).toThrow(/SANDBOX_RUNTIME="chroot"/);
    expect(() => loadConfig({ SANDBOX_READONLY_PATHS: '/opt/tools,relative' })).toThrow(/SANDBOX_READONLY_PATHS=.*must list absolute paths/);
  });

  it('refuses a Docker network name under bubblewrap, which ran the commands without network instead', () => {
    expect(() => loadConfig({ SANDBOX_NETWORK: 'agents-net' })).toThrow(
      'SANDBOX_NETWORK="agents-net": the bubblewrap sandbox has only none or host (the host\'s network); a Docker network needs SANDBOX_RUNTIME=docker',
    );
    expect(loadConfig({ SANDBOX_NETWORK: 'host' }).SANDBOX_NETWORK).toBe('host');
    expect(loadConfig({ SANDBOX_NETWORK: 'agents-net', SANDBOX_RUNTIME: 'docker' }).SANDBOX_NETWORK).toBe('agents-net');
    expect(loadConfig({ SANDBOX_NETWORK: 'agents-net', SANDBOX_ENABLED: 'true' }).SANDBOX_NETWORK).toBe('agents-net');
  });

  it.each([
    // Mounted read-only into every agent's sandbox: each of these let an agent read what it must not.
    [{ SANDBOX_READONLY_PATHS: '/' }, 'SANDBOX_READONLY_PATHS="/": must not mount / (the whole host) into the sandbox'],
    [{ SANDBOX_READONLY_PATHS: '/opt/tools,/srv', WORKSPACE_ROOT: '/srv/orchestrator/workspaces' }, "SANDBOX_READONLY_PATHS=\"/opt/tools,/srv\": /srv holds WORKSPACE_ROOT (every agent's worktree and home)"],
    [{ SANDBOX_READONLY_PATHS: '/srv/orchestrator/workspaces/homes', WORKSPACE_ROOT: '/srv/orchestrator/workspaces' }, 'SANDBOX_READONLY_PATHS="/srv/orchestrator/workspaces/homes": /srv/orchestrator/workspaces/homes is inside WORKSPACE_ROOT'],
    [{ SANDBOX_READONLY_PATHS: '/home/orchestrator/.cargo/bin,/home/orchestrator', GIT_SSH_KEY_PATH: '/home/orchestrator/.ssh/id_ed25519' }, '/home/orchestrator holds GIT_SSH_KEY_PATH'],
    [{ SANDBOX_READONLY_PATHS: '/run' }, '/run holds DOCKER_SOCKET'],
    [{ SANDBOX_READONLY_PATHS: '/opt/tools', SANDBOX_RUNTIME: 'docker' }, 'SANDBOX_READONLY_PATHS="/opt/tools": only the bubblewrap sandbox mounts them; build the tools into SANDBOX_IMAGE for docker'],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it.each([
    // /usr and a few system files are in every bubblewrap sandbox whatever SANDBOX_READONLY_PATHS says.
    [{ GIT_SSH_KEY_PATH: '/usr/local/etc/orchestrator/id_ed25519' }, 'GIT_SSH_KEY_PATH="/usr/local/etc/orchestrator/id_ed25519": is below /usr, which the bubblewrap sandbox mounts read-only for every agent: the git key must be kept elsewhere'],
    [{ WORKSPACE_ROOT: '/usr/local/var/orchestrator' }, "WORKSPACE_ROOT=\"/usr/local/var/orchestrator\": is below /usr, which the bubblewrap sandbox mounts read-only for every agent: every agent's worktree and home must be kept elsewhere"],
    [{ GIT_SSH_KEY_PATH: '/etc/ssl/certs/deploy-key' }, 'is below /etc/ssl/certs'],
  ])('refuses %j: every agent could read it', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
    expect(() => loadConfig({ ...env, SANDBOX_RUNTIME: 'docker' })).not.toThrow(); // docker mounts none of them
  });

  it('mounts tool chains that hold nothing of the service', () => {
    expect(loadConfig({ SANDBOX_READONLY_PATHS: '/opt/rust/bin,/usr/local/go', WORKSPACE_ROOT: '/srv/workspaces', GIT_SSH_KEY_PATH: '/etc/orchestrator/id_ed25519' }).SANDBOX_READONLY_PATHS).toEqual(['/opt/rust/bin', '/usr/local/go']);
  });

  it('refuses an https token without the hosts it belongs to', () => {
    expect(() => loadConfig({ GIT_HTTPS_TOKEN: 'tok_abcdefghijklmnop' })).toThrow(/GIT_HTTPS_TOKEN_HOSTS=undefined: required when GIT_HTTPS_TOKEN is set/);
    expect(loadConfig({ GIT_HTTPS_TOKEN: 'tok_abcdefghijklmnop', GIT_HTTPS_TOKEN_HOSTS: 'git.example.com, git.example.com:8443' }).GIT_HTTPS_TOKEN_HOSTS).toEqual(['git.example.com', 'git.example.com:8443']);
    expect(() => loadConfig({ GIT_HTTPS_TOKEN_HOSTS: 'https://git.example.com' })).toThrow(/must list host or host:port names/);
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
    // HTTP trims a header value, and cannot carry a line break: no client could ever send these keys, every request would be 401.
    ['a trailing line break (a secret file)', 'k'.repeat(20) + '\n'],
    ['a leading space', ' ' + 'k'.repeat(20)],
    ['only spaces', ' '.repeat(20)],
    ['a character beyond ASCII', 'k'.repeat(20) + 'é'],
  ])('refuses an ORCHESTRATOR_API_KEY with %s, without echoing it', (_what, key) => {
    let message = '';
    try {
      loadConfig({ ORCHESTRATOR_API_KEY: key });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe('invalid configuration: ORCHESTRATOR_API_KEY=[redacted]: must be printable ASCII without spaces (what an X-API-Key header carries)');
  });

  it.each([
    ['a trailing line break', 's3cret-valkey-pw\n'],
    ['a leading space', ' s3cret-valkey-pw'],
  ])('refuses a VALKEY_PASSWORD with %s, without echoing it', (_what, password) => {
    expect(() => loadConfig({ VALKEY_PASSWORD: password })).toThrow(
      'invalid configuration: VALKEY_PASSWORD=[redacted]: must not start or end with spaces or hold a line break (a password read from a file keeps its last line break)',
    );
    expect(loadConfig({ VALKEY_PASSWORD: 'pw with inner spaces' }).VALKEY_PASSWORD).toBe('pw with inner spaces');
  });

  it.each([
    // A URL where a host name belongs (REDIS_URL habits): ioredis looked it up as a name, and the API logged
    // "getaddrinfo ENOTFOUND redis://:<password>@localhost" on every reconnect.
    ['VALKEY_HOST', 'redis://:s3cretpw@localhost', 'redis://[redacted]@localhost', 'must be a host name or IP address (no scheme, port or credentials)'],
    ['VALKEY_HOST', 'valkey.internal:6379', 'valkey.internal:6379', 'must be a host name or IP address (no scheme, port or credentials)'],
    ['VALKEY_HOST', ' ', ' ', 'must be a host name or IP address (no scheme, port or credentials)'],
    ['ORCHESTRATOR_HOST', 'http://0.0.0.0', 'http://0.0.0.0', 'must be a host name or IP address (no scheme, port or credentials)'],
    // The SDK refused it too, at connect, repeating it whole: the worker printed the password on stderr.
    ['TEMPORAL_ADDRESS', 'https://user:s3cretpw@temporal:7233', 'https://[redacted]@temporal:7233', 'must be host or host:port (e.g. temporal.internal:7233)'],
    ['TEMPORAL_ADDRESS', 'temporal:99999', 'temporal:99999', 'must be host or host:port (e.g. temporal.internal:7233)'],
  ])('refuses %s=%s, naming it and hiding credentials', (name, value, shown, message) => {
    let error = '';
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      error = (err as Error).message;
    }
    expect(error).toBe(`invalid configuration: ${name}=${JSON.stringify(shown)}: ${message}`);
  });

  it('takes host names, IPv4 and IPv6 addresses', () => {
    expect(loadConfig({ VALKEY_HOST: 'valkey-0.valkey.svc.cluster.local', ORCHESTRATOR_HOST: '::', TEMPORAL_ADDRESS: '[::1]:7233' })).toMatchObject({
      VALKEY_HOST: 'valkey-0.valkey.svc.cluster.local',
      ORCHESTRATOR_HOST: '::',
      TEMPORAL_ADDRESS: '[::1]:7233',
    });
    expect(loadConfig({ VALKEY_HOST: '10.0.0.5', ORCHESTRATOR_HOST: '0.0.0.0', TEMPORAL_ADDRESS: 'temporal' })).toMatchObject({ VALKEY_HOST: '10.0.0.5', TEMPORAL_ADDRESS: 'temporal' });
  });

  it.each([
    // z.url() took any scheme: the worker started, and every run then failed at its first model call or gate report.
    ['ANTHROPIC_BASE_URL', 'file:///etc/passwd'],
    ['ANTHROPIC_BASE_URL', 'localhost:3002'],
    ['COORDINATOR_URL', 'ftp://coordinator.internal/qc'],
  ])('refuses %s=%s: it must be an http or https URL', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(`${name}=${JSON.stringify(value)}: must be an http:// or https:// URL`);
  });

  it('accepts a coordinator URL with a path prefix', () => {
    expect(loadConfig({ COORDINATOR_URL: 'https://coordinator.internal:8443/qc' }).COORDINATOR_URL).toBe('https://coordinator.internal:8443/qc');
  });

  it.each([
    ['https://orchestrator:hunter2@coordinator.internal/qc', 'https://[redacted]@coordinator.internal/qc'],
    ['https://orchestrator@coordinator.internal', 'https://[redacted]@coordinator.internal'],
    ['https:orchestrator:hunter2@coordinator.internal', 'https:[redacted]@coordinator.internal'],
    // Not a valid URL (the port), refused for that: the password is hidden all the same.
    ['https://orchestrator:hun@ter2@coordinator.internal:99999', 'https://[redacted]@coordinator.internal:99999'],
  ])('refuses COORDINATOR_URL=%s with credentials, naming the variable and hiding them', (url, shown) => {
    let message = '';
    try {
      loadConfig({ COORDINATOR_URL: url });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`COORDINATOR_URL=${JSON.stringify(shown)}: `);
    expect(message).not.toMatch(/hunter2|hun@ter2|orchestrator[:@]/);
  });

  it('says why a coordinator URL with credentials is refused', () => {
    expect(() => loadConfig({ COORDINATOR_URL: 'https://orchestrator:hunter2@coordinator.internal' })).toThrow(
      'invalid configuration: COORDINATOR_URL="https://[redacted]@coordinator.internal": must not include a user name or password (user:password@)',
    );
  });

  it.each([
    ['CLAUDE_API_KEY', true],
    ['ORCHESTRATOR_API_KEY', true],
    ['GIT_HTTPS_TOKEN', true],
    ['VALKEY_PASSWORD', true],
    ['VALKEY_PORT', false],
    ['GIT_SSH_KEY_PATH', false],
  ])('%s is secret: %s', (name, secret) => expect(isSecretVariable(name)).toBe(secret));

  describe('cost and context', () => {
    it('prices the default model and plans for a 200K context, compacting from half to a fifth', () => {
      const c = loadConfig({});
      expect(c).toMatchObject({ AGENT_MAX_COST_USD: 10, PROMPT_CACHE: '5m', CONTEXT_WINDOW_TOKENS: 200_000, CONTEXT_COMPACT_AT: 0.5, CONTEXT_COMPACT_TO: 0.2 });
      expect(c.MODEL_PRICES['claude-sonnet-5-5']).toEqual({ input: 2, output: 10, cacheWrite5m: 2.5, cacheWrite1h: 4, cacheRead: 0.2 });
    });

    it('merges MODEL_PRICES over the built-in table, with cache prices from the input price when not given', () => {
      const c = loadConfig({ MODEL_PRICES: '{"my-model":{"input":4,"output":20},"claude-sonnet-5-5":{"input":1,"output":5,"cacheRead":0.05}}', AGENT_MODEL: 'my-model' });
      expect(c.MODEL_PRICES['my-model']).toEqual({ input: 4, output: 20, cacheWrite5m: 5, cacheWrite1h: 8, cacheRead: 0.4 });
      expect(c.MODEL_PRICES['claude-sonnet-5-5']).toMatchObject({ input: 1, cacheRead: 0.05, cacheWrite5m: 1.25 });
      expect(c.MODEL_PRICES['claude-haiku-4-5']).toBeDefined();
    });

    it.each([
      [{ MODEL_PRICES: 'cheap' }, 'MODEL_PRICES="cheap": must be a JSON object of model prices'],
      [{ MODEL_PRICES: '{"m":{"input":-1,"output":1}}' }, 'MODEL_PRICES="{\\"m\\":{\\"input\\":-1,\\"output\\":1}}": m.input: Too small'],
      [{ MODEL_PRICES: '{"m":{"input":1}}' }, 'm.output:'],
      [{ MODEL_PRICES: '{"m":{"input":1,"output":1,"cacheWrite":2}}' }, 'm: Unrecognized key'],
      [{ AGENT_MODEL: 'gpt-4o' }, 'AGENT_MODEL="gpt-4o": has no known price; add it to MODEL_PRICES'],
      [{ AGENT_MAX_COST_USD: '0' }, 'AGENT_MAX_COST_USD="0": must be a positive amount of US dollars'],
      [{ PROMPT_CACHE: '10m' }, 'PROMPT_CACHE="10m": must be one of 5m, 1h, off'],
      [{ CONTEXT_COMPACT_AT: '1.5' }, 'CONTEXT_COMPACT_AT="1.5": must be a share of the context window, below 1'],
      [{ CONTEXT_COMPACT_AT: '0.4', CONTEXT_COMPACT_TO: '0.4' }, 'CONTEXT_COMPACT_TO="0.4": must be below CONTEXT_COMPACT_AT (0.4)'],
      [{ CONTEXT_WINDOW_TOKENS: '10000', AGENT_MAX_TOKENS_PER_TURN: '8192' }, 'AGENT_MAX_TOKENS_PER_TURN="8192": must be at most 5000: a request at CONTEXT_COMPACT_AT (0.5) of CONTEXT_WINDOW_TOKENS (10000) and all a turn may write must fit the window'],
    ])('refuses %j naming the variable', (env, message) => {
      expect(() => loadConfig(env)).toThrow(message);
    });
  });
});
