import pino from 'pino';
import { createApp, AuthConfigurationError } from '../../api/app';
import { createRng, SAMPLERS } from '../support/scanner/samples';
import { spawnBody, startTestApi, TEST_API_KEY, type TestApi } from './api-harness';

const context = (overrides: Record<string, unknown>) => ({
  repository: 'https://git.example.com/repo.git',
  branch: 'main',
  workItems: ['US-001'],
  skills: ['typescript'],
  ...overrides,
});

describe('REST API: authentication, validation and error shape', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api.close();
  });

  describe('authentication', () => {
    it.each([
      ['no X-API-Key header', { anonymous: true }],
      ['a wrong key of the same length', { anonymous: true, headers: { 'X-API-Key': TEST_API_KEY.replace(/.$/, 'X') } }],
      ['a wrong key of another length', { anonymous: true, headers: { 'X-API-Key': 'short' } }],
      ['the key in Authorization instead', { anonymous: true, headers: { Authorization: `Bearer ${TEST_API_KEY}` } }],
    ])('refuses /agents requests with %s (401)', async (_name, options) => {
      const res = await api.request('POST', '/agents/spawn', { body: spawnBody(), ...options });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: 'unauthorized', message: 'missing or invalid X-API-Key header' } });
    });

    it('guards every /agents route, including unknown ones', async () => {
      for (const [method, path] of [
        ['GET', '/agents/00000000-0000-4000-8000-000000000000/status'],
        ['POST', '/agents/00000000-0000-4000-8000-000000000000/kill'],
        ['POST', '/agents/kill-all'],
        ['GET', '/agents/whatever'],
      ] as const) {
        expect((await api.request(method, path, { anonymous: true })).status).toBe(401);
      }
    });

    it('serves /health without a key', async () => {
      const res = await api.request('GET', '/health', { anonymous: true });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok', uptime: expect.any(Number) });
    });

    it('refuses to build the app without an API key', () => {
      const logger = pino({ level: 'silent' });
      const config = { ...api.config, ORCHESTRATOR_API_KEY: undefined };
      expect(() => createApp({ client: api.client, redis: api.redis, store: api.store, config, logger, eventFeed: api.eventFeed })).toThrow(AuthConfigurationError);
    });

    it('runs without auth only when ORCHESTRATOR_AUTH_DISABLED=true, warning at start', async () => {
      const open = await startTestApi({ env: { ORCHESTRATOR_API_KEY: '', ORCHESTRATOR_AUTH_DISABLED: 'true' } });
      try {
        expect(open.logs.some((line) => line.includes('"level":40') && line.includes('ORCHESTRATOR_AUTH_DISABLED=true'))).toBe(true);
        const res = await open.request('GET', '/agents/00000000-0000-4000-8000-000000000000/status', { anonymous: true });
        expect(res.status).toBe(404);
      } finally {
        await open.close();
      }
    });
  });

  describe('spawn body validation', () => {
    const longList = Array.from({ length: 101 }, (_, i) => `US-${i}`);
    const cases: [string, unknown, string][] = [
      ['missing taskId', spawnBody({ taskId: undefined }), 'taskId: is required'],
      ['empty taskId', spawnBody({ taskId: '' }), 'taskId: must be a non-empty string'],
      ['numeric taskId', spawnBody({ taskId: 42 }), 'taskId: must be a string'],
      ['oversized taskId', spawnBody({ taskId: 'T'.repeat(129) }), 'taskId: must be 1-128 characters'],
      ['taskId with a control character', spawnBody({ taskId: 'T-1\n' }), 'taskId: must be 1-128 characters'],
      ['taskId with a path', spawnBody({ taskId: '../../etc' }), 'taskId: must be 1-128 characters'],
      ['unknown agent type', spawnBody({ agentType: 'root' }), 'agentType: must be one of worker, reviewer, tester'],
      ['missing agent type', spawnBody({ agentType: undefined }), 'agentType: is required'],
      ['unknown gate profile', spawnBody({ gateProfile: 'lax' }), 'gateProfile: must be one of strict, standard, minimal, custom'],
      ['unknown missingGates policy', spawnBody({ missingGates: 'ignore' }), 'missingGates: must be one of fail, skip'],
      ['missingGates as a boolean', spawnBody({ missingGates: true }), 'missingGates: must be one of fail, skip'],
      ['priority below 1', spawnBody({ priority: 0 }), 'priority: must be between 1 and 10'],
      ['priority above 10', spawnBody({ priority: 11 }), 'priority: must be between 1 and 10'],
      ['fractional priority', spawnBody({ priority: 2.5 }), 'priority: must be an integer'],
      ['priority as a string', spawnBody({ priority: '5' }), 'priority: must be a number'],
      ['missing context', spawnBody({ context: undefined }), 'context: is required'],
      ['context as a string', spawnBody({ context: 'repo' }), 'context: must be an object'],
      ['remote-helper repository', spawnBody({ context: context({ repository: 'ext::evil' }) }), 'context.repository: remote helper "ext::" is not allowed'],
      ['repository with a command', spawnBody({ context: context({ repository: 'ext::sh -c touch% /tmp/pwned' }) }), 'context.repository: must not contain whitespace'],
      ['file repository when not allowed', spawnBody({ context: context({ repository: 'file:///srv/repo.git' }) }), 'context.repository: scheme "file" is not allowed'],
      ['repository with credentials', spawnBody({ context: context({ repository: 'https://user:pw@git.example.com/r.git' }) }), 'context.repository: must not embed credentials'],
      ['option-like repository', spawnBody({ context: context({ repository: '--upload-pack=touch /tmp/x' }) }), 'context.repository:'],
      ['option-like branch', spawnBody({ context: context({ branch: '-D' }) }), 'context.branch: must not start with "-"'],
      ['branch with ..', spawnBody({ context: context({ branch: 'a..b' }) }), 'context.branch: must not contain ".."'],
      ['branch with a NUL', spawnBody({ context: context({ branch: 'main\u0000' }) }), 'context.branch: must not contain control characters'],
      ['workItems not an array', spawnBody({ context: context({ workItems: 'US-001' }) }), 'context.workItems: must be an array of work item ids or objects'],
      ['work item neither id nor object', spawnBody({ context: context({ workItems: [7] }) }), 'context.workItems.0: must be a work item id (a string) or an object'],
      ['work item object without id', spawnBody({ context: context({ workItems: [{ title: 'x' }] }) }), 'context.workItems.0.id: is required'],
      ['work item with an unknown field', spawnBody({ context: context({ workItems: [{ id: 'US-1', priority: 1 }] }) }), 'context.workItems.0.priority: is not a known field'],
      ['oversized work item description', spawnBody({ context: context({ workItems: [{ id: 'US-1', description: 'd'.repeat(8001) }] }) }), 'context.workItems.0.description: must be at most 8000 characters'],
      ['acceptance criteria as a string', spawnBody({ context: context({ workItems: [{ id: 'US-1', acceptanceCriteria: 'works' }] }) }), 'context.workItems.0.acceptanceCriteria: must be an array of strings'],
      ['too many acceptance criteria', spawnBody({ context: context({ workItems: [{ id: 'US-1', acceptanceCriteria: Array(31).fill('ok') }] }) }), 'context.workItems.0.acceptanceCriteria: must have at most 30 items'],
      ['instructions over 32 KB (in UTF-8 bytes)', spawnBody({ context: context({ instructions: 'é'.repeat(16_385) }) }), 'context.instructions: must be at most 32768 bytes'],
      ['instructions with an escape sequence', spawnBody({ context: context({ instructions: 'do it\u001b[2J' }) }), 'context.instructions: must not contain control characters other than line breaks and tabs'],
      ['empty instructions', spawnBody({ context: context({ instructions: '' }) }), 'context.instructions: must not be empty'],
      ['too many workItems', spawnBody({ context: context({ workItems: longList }) }), 'context.workItems: must have at most 100 items'],
      ['oversized work item', spawnBody({ context: context({ workItems: ['x'.repeat(201)] }) }), 'context.workItems.0: must be at most 200 characters'],
      ['work item with an escape sequence', spawnBody({ context: context({ workItems: ['ok', '\u001b[31mred'] }) }), 'context.workItems.1: must not contain control characters'],
      ['empty work item', spawnBody({ context: context({ workItems: [''] }) }), 'context.workItems.0: must not be empty'],
      ['skills not an array', spawnBody({ context: context({ skills: { ts: true } }) }), 'context.skills: must be an array of strings'],
      ['non-string skill', spawnBody({ context: context({ skills: [1] }) }), 'context.skills.0: must be a string'],
      ['unknown top-level field', spawnBody({ command: 'rm -rf /' }), 'command: is not a known field'],
      ['unknown context field', spawnBody({ context: context({ token: 'ghp_x' }) }), 'context.token: is not a known field'],
      ['custom profile without gates', spawnBody({ gateProfile: 'custom' }), 'context.gates: is required when gateProfile is custom'],
      ['gates without the custom profile', spawnBody({ context: context({ gates: ['lint'] }) }), 'context.gates: is only allowed when gateProfile is custom'],
      ['unknown gate', spawnBody({ gateProfile: 'custom', context: context({ gates: ['lint', 'deploy'] }) }), 'context.gates.1: must be one of'],
      ['repeated gate', spawnBody({ gateProfile: 'custom', context: context({ gates: ['lint', 'lint'] }) }), 'context.gates: must not repeat a gate'],
      ['budgets not an object', spawnBody({ budgets: 5 }), 'budgets: must be an object { maxTurns?, maxOutputTokens?, maxCostUsd?, maxWallTimeSeconds? }'],
      ['a budget over the server ceiling', spawnBody({ budgets: { maxTurns: 51 } }), "budgets.maxTurns: must be at most 50 (the server's ceiling)"],
      ['a cost budget over the server ceiling', spawnBody({ budgets: { maxCostUsd: 10.5 } }), "budgets.maxCostUsd: must be at most 10 (the server's ceiling)"],
      ['a cost budget of nothing', spawnBody({ budgets: { maxCostUsd: 0 } }), 'budgets.maxCostUsd: must be at least 0.0001'],
      ['a cost budget as a string', spawnBody({ budgets: { maxCostUsd: '5' } }), 'budgets.maxCostUsd: must be a number'],
      ['a fractional turn budget', spawnBody({ budgets: { maxTurns: 2.5 } }), 'budgets.maxTurns: must be an integer'],
      ['an unknown budget', spawnBody({ budgets: { maxDollars: 1 } }), 'budgets.maxDollars: is not a known field'],
      ['a base branch for a worker', spawnBody({ context: context({ baseBranch: 'main' }) }), 'context.baseBranch: is only allowed for reviewers'],
      ['an option-like base branch', spawnBody({ agentType: 'reviewer', context: context({ baseBranch: '--force' }) }), 'context.baseBranch: must not start with "-"'],
      ['an array body', [spawnBody()], 'body: must be a JSON object'],
    ];

    it.each(cases)('rejects %s with 400 naming the field', async (_name, body, message) => {
      const res = await api.request('POST', '/agents/spawn', { body });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.message).toContain(message);
      expect(res.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: message.split(':')[0] })]));
    });

    it('reports every bad field at once', async () => {
      const res = await api.request('POST', '/agents/spawn', { body: { taskId: '', agentType: 'x', context: context({ branch: '' }), extra: 1 } });
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['agentType', 'context.branch', 'extra', 'taskId']);
    });

    it('lists at most 20 problems and counts the rest: 20,000 unknown keys do not make a megabyte-sized answer', async () => {
      const body = { ...spawnBody(), ...Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, 1])) };
      const res = await api.request('POST', '/agents/spawn', { body });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toHaveLength(21);
      expect(res.body.error.details.at(-1)).toEqual({ path: 'body', message: 'and 19980 more problems' });
      expect(JSON.stringify(res.body).length).toBeLessThan(4000);
    });

    it('accepts a custom gate profile with its gates (202)', async () => {
      const res = await api.request('POST', '/agents/spawn', { body: spawnBody({ gateProfile: 'custom', priority: 1, context: context({ gates: ['lint', 'tests'] }) }) });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ agentId: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'spawning' });
    });
  });

  describe('duplicate keys', () => {
    // JSON.parse keeps the last of two equal keys; a proxy or the coordinator's own check may read the
    // first. A body whose meaning depends on the reader is refused, and nothing is started for it.
    const raw = (body: string) => api.request('POST', '/agents/spawn', { body, headers: { 'Content-Type': 'application/json' } });
    it.each([
      ['agentType, checked as a worker and run as a reviewer', (id: string) => `{"agentType":"worker","taskId":"${id}","agentType":"reviewer","context":{"repository":"https://git.example.com/r.git","branch":"main"}}`, 'agentType'],
      ['a key spelled with an escape', (id: string) => `{"taskId":"${id}","agentType":"worker","context":{"branch":"main","repository":"https://git.example.com/r.git","br\\u0061nch":"evil"}}`, 'context.branch'],
      ['a key inside a work item', (id: string) => `{"taskId":"${id}","agentType":"worker","context":{"repository":"https://git.example.com/r.git","branch":"main","workItems":["a",{"id":"x","id":"y"}]}}`, 'context.workItems.1.id'],
    ])('rejects %s with 400 naming the key, creating nothing', async (_name, body, path) => {
      const taskId = `T-dup-${Math.random().toString(36).slice(2, 10)}`;
      const res = await raw(body(taskId));
      expect(res.status).toBe(400);
      expect(res.body.error).toEqual({ code: 'validation_failed', message: `${path}: must not be given twice`, details: [{ path, message: 'must not be given twice' }] });
      expect(await api.redis.exists(`orchestrator:task:${taskId}`)).toBe(0);
    });

    it('still reads equal strings that are values, not keys, and keys repeated in different objects', async () => {
      const res = await raw(`{"taskId":"T-dup-ok-${Math.random().toString(36).slice(2, 10)}","agentType":"worker","context":{"repository":"https://git.example.com/r.git","branch":"main","workItems":[{"id":"a"},{"id":"b"}],"skills":["branch","branch"]}}`);
      expect(res.status).toBe(202);
    });
  });

  describe('secrets in the task', () => {
    // A spawn's task is the workflow's input: a secret in it would be kept in Temporal's history,
    // the transcript and the first model request. Refused before anything is created, never echoed.
    const TOKEN = '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';
    // Fresh per run: a workflow named by it would stay in the test server's visibility store.
    const FRESH = SAMPLERS['github-pat']!.make(createRng(Date.now() % 2 ** 31));
    const echoed = new RegExp(`aCreHz2w|hunter2|${FRESH.slice(4, 16)}`);
    it.each([
      ['instructions', { context: context({ instructions: `Push with ${TOKEN} when done.` }) }, 'context.instructions'],
      ['a work item id', { context: context({ workItems: ['US-1', TOKEN] }) }, 'context.workItems.1'],
      ['a work item description', { context: context({ workItems: [{ id: 'US-1', description: `the CI token is ${TOKEN}` }] }) }, 'context.workItems.0.description'],
      ['an acceptance criterion', { context: context({ workItems: [{ id: 'US-1', acceptanceCriteria: ['ok', `password: hunter2hunter2`] }] }) }, 'context.workItems.0.acceptanceCriteria.1'],
      ['a skill', { context: context({ skills: [TOKEN] }) }, 'context.skills.0'],
      // Names too: each goes into the history and the first model request, the task id also into the pushed branch and its commit.
      ['the task id', { taskId: FRESH }, 'taskId'],
      ['the repository URL', { context: context({ repository: `https://git.example.com/${FRESH}/repo.git` }) }, 'context.repository'],
      ['the branch', { context: context({ branch: `feature/${FRESH}` }) }, 'context.branch'],
      ['the base branch of a review', { agentType: 'reviewer', context: context({ baseBranch: `release/${FRESH}` }) }, 'context.baseBranch'],
    ])('rejects a secret in %s with 400 naming the field, creating nothing and echoing nothing', async (_where, overrides, field) => {
      const body = spawnBody(overrides);
      const res = await api.request('POST', '/agents/spawn', { body });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual([{ path: field, message: expect.stringMatching(/^must not hold a secret \(.+\)/) }]);
      expect(JSON.stringify(res.body)).not.toMatch(echoed);
      expect(api.logs.join('\n')).not.toMatch(echoed);
      expect(await api.redis.exists(`orchestrator:task:${body.taskId}`)).toBe(0);
      expect((await api.client.workflow.count(`TaskId = '${String(body.taskId)}'`)).count).toBe(0);
    });

    it('accepts a task naming identifiers that hold a vendor prefix, which only redaction takes for secrets', async () => {
      const instructions = 'Fix disk_test_handlesMissingMountPointGracefully and rename SLOVAKIANDCZECHREPUBLICS.';
      const res = await api.request('POST', '/agents/spawn', { body: spawnBody({ context: context({ instructions }) }) });
      expect({ status: res.status, body: res.status === 202 ? undefined : res.body }).toEqual({ status: 202, body: undefined });
    });

    it('rejects a secret in a kill reason, which goes to the audit stream and the events', async () => {
      const res = await api.request('POST', '/agents/00000000-0000-4000-8000-000000000000/kill', { body: { reason: `rotate ${TOKEN}` } });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual([{ path: 'reason', message: expect.stringMatching(/^must not hold a secret/) }]);
      expect(JSON.stringify(res.body)).not.toContain('aCreHz2w');
    });
  });

  describe('transport errors', () => {
    it('answers 413 for a body over ORCHESTRATOR_BODY_LIMIT', async () => {
      const res = await api.request('POST', '/agents/spawn', { body: spawnBody({ context: context({ workItems: ['x'.repeat(300 * 1024)] }) }) });
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('payload_too_large');
    });

    it.each([
      ['text/plain', 'hello'],
      ['application/x-www-form-urlencoded', 'taskId=T-1'],
      ['multipart/form-data; boundary=x', '--x--'],
    ])('answers 415 for a %s body', async (type, body) => {
      const res = await api.request('POST', '/agents/spawn', { body, headers: { 'Content-Type': type } });
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe('unsupported_media_type');
    });

    it.each([['{"taskId": '], ['null'], ['"just a string"']])('answers 400 for the malformed JSON body %s', async (body) => {
      const res = await api.request('POST', '/agents/spawn', { body, headers: { 'Content-Type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('malformed_json');
    });

    it.each([
      ['gzip', 'not gzip at all'],
      ['deflate', '{"taskId": "T-1"}'],
      ['br', 'not brotli'],
    ])('answers 400 for a body that does not decode as its Content-Encoding (%s) says', async (encoding, body) => {
      const res = await api.request('POST', '/agents/spawn', { body, headers: { 'Content-Type': 'application/json', 'Content-Encoding': encoding } });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: { code: 'malformed_body', message: 'request body does not decode as its Content-Encoding says' } });
    });

    it.each([
      ['a word', 'GET', '/agents/not-a-uuid/status'],
      ['a number', 'POST', '/agents/12345/kill'],
      ['300 characters', 'GET', `/agents/${'a'.repeat(300)}/status`],
    ])('answers 400 for an agent id that is %s, not a UUID', async (_name, method, path) => {
      const res = await api.request(method, path);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe('agentId: must be a UUID');
    });

    it.each([
      ['GET', '/agents/%E0%A4%A/status'],
      ['POST', '/agents/%/kill'],
      ['GET', '/agents/%ZZ/status'],
    ])('answers 400 for malformed percent-encoding in %s %s', async (method, path) => {
      const res = await api.request(method, path, { body: method === 'POST' ? {} : undefined });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: { code: 'malformed_path', message: 'the request path has malformed percent-encoding' } });
    });

    it.each([
      ['an unknown field', { reason: 'x', force: true }, 'force: is not a known field'],
      ['a control character', { reason: 'stop\u0007now' }, 'reason: must not contain control characters'],
      ['an oversized reason', { reason: 'r'.repeat(501) }, 'reason: must be at most 500 characters'],
      ['a numeric reason', { reason: 7 }, 'reason: must be a string'],
    ])('rejects a kill body with %s (400)', async (_name, body, message) => {
      const res = await api.request('POST', '/agents/00000000-0000-4000-8000-000000000000/kill', { body });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe(message);
    });

    it.each([
      ['GET', '/nowhere'],
      ['GET', '/agents/nowhere/at/all'],
    ])('answers unknown route %s %s with a JSON 404', async (method, path) => {
      const res = await api.request(method, path);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: 'not_found', message: expect.stringContaining('no route') } });
    });

    it.each([
      ['GET', '/agents/spawn', 'POST'],
      ['DELETE', '/agents/00000000-0000-4000-8000-000000000000/status', 'GET, HEAD'],
    ])('answers %s %s, a route with other methods, with 405 and Allow: %s', async (method, path, allow) => {
      const res = await api.request(method, path);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      expect(res.body.error).toMatchObject({ code: 'method_not_allowed', message: expect.stringContaining(`allowed: ${allow}`) });
    });

    it('answers 404 not_found for an agent nobody knows', async () => {
      const res = await api.request('GET', '/agents/00000000-0000-4000-8000-000000000000/status');
      expect(res.status).toBe(404);
      expect(res.body.error).toEqual({ code: 'not_found', message: 'agent 00000000-0000-4000-8000-000000000000 not found' });
    });
  });

  it('never writes the API key to the logs, and never sends a stack trace', async () => {
    const responses = await Promise.all([
      api.request('POST', '/agents/spawn', { body: spawnBody() }),
      api.request('POST', '/agents/spawn', { body: '{bad', headers: { 'Content-Type': 'application/json' } }),
      api.request('GET', '/agents/nope/status'),
      api.request('GET', '/agents/00000000-0000-4000-8000-000000000000/status', { headers: { Authorization: 'Bearer secret-bearer-token' } }),
    ]);
    const logText = api.logs.join('');
    expect(logText).toContain('[redacted]');
    expect(logText).not.toContain(TEST_API_KEY);
    expect(logText).not.toContain('secret-bearer-token');
    for (const res of responses) expect(JSON.stringify(res.body)).not.toMatch(/\bat .*\.ts:\d+|"stack"/);
  });
});
