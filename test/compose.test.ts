/**
 * temporal-docker-compose.yml: the compose tool accepts it (`docker compose config`, or Debian's
 * `docker-compose config`), and its topology is the one the service needs. No image is pulled
 * and nothing is started. Structure is checked on the tool's JSON output where the tool has
 * `config --format json` (Compose v2), and always with regexes on the files (no YAML parser).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SA, SEARCH_ATTRIBUTE_NAMES } from '../domain/search-attributes';
import { SearchAttributeType } from '@temporalio/common';
import { configSchema, loadConfig } from '../config';

const ROOT = path.resolve(__dirname, '..');
const COMPOSE_FILE = 'temporal-docker-compose.yml';
const read = (rel: string) => readFileSync(path.join(ROOT, rel), 'utf8');

const WORKERS = ['worker-1', 'worker-2', 'worker-3'];
const EXPECTED_SERVICES = ['postgresql', 'temporal-schema', 'temporal', 'temporal-setup', 'temporal-ui', 'valkey', ...WORKERS, 'api'];
const SEARCH_ATTRIBUTES = ['TaskId', 'AgentType', 'AgentStatus', 'Repository', 'GateProfile', 'RetryOf', 'ForkOf'];
const DOCKER_SOCKET = '/var/run/docker.sock';
/** Values for the variables the file requires (`${VAR:?...}`). */
const REQUIRED_ENV = { CLAUDE_API_KEY: 'test-model-key', ORCHESTRATOR_API_KEY: 'test-api-key-0123456789' };

const INSTALL_HINT =
  'no compose tool found: install Debian\'s "docker-compose" package (apt-get install -y docker-compose), ' +
  'or the Docker Compose v2 CLI plugin ("docker compose")';

interface ComposeTool {
  argv: string[];
  label: string;
  /** Compose v2 prints `config --format json`; v1 prints YAML only. */
  json: boolean;
}

function run(argv: string[], env: NodeJS.ProcessEnv = process.env) {
  const [cmd, ...args] = argv;
  return spawnSync(cmd!, args, { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
}

function findComposeTool(): ComposeTool | undefined {
  const plugin = run(['docker', 'compose', 'version', '--short']);
  if (plugin.status === 0) return { argv: ['docker', 'compose'], label: `docker compose ${plugin.stdout.trim()}`, json: true };
  const standalone = run(['docker-compose', 'version', '--short']);
  if (standalone.status === 0) {
    const version = standalone.stdout.trim();
    return { argv: ['docker-compose'], label: `docker-compose ${version}`, json: !version.startsWith('1.') };
  }
  return undefined;
}

/** The environment for a `config` run: this process's, the required variables, minus `without`. */
function composeEnv(without: string[] = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...REQUIRED_ENV };
  for (const name of without) delete env[name];
  return env;
}

function stripComments(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .map((line) => line.replace(/\s+#.*$/, ''))
    .join('\n');
}

/** Each service's block of the compose file (comments removed), keyed by service name. */
function serviceBlocks(text: string): Map<string, string> {
  const body = stripComments(text);
  const services = /^services:\s*\n([\s\S]*?)(?=^\S|(?![\s\S]))/m.exec(body);
  if (!services) throw new Error(`${COMPOSE_FILE} has no top-level services: key`);
  const blocks = new Map<string, string>();
  const re = /^ {2}([A-Za-z0-9._-]+):\s*\n((?:(?: {4}.*)?\n)*)/gm;
  for (const m of services[1]!.matchAll(re)) blocks.set(m[1]!, m[2]!);
  return blocks;
}

function block(blocks: Map<string, string>, name: string): string {
  const b = blocks.get(name);
  if (b === undefined) throw new Error(`service ${name} is missing from ${COMPOSE_FILE}`);
  return b;
}

/** A top-level `x-...: &name` block's text (comments removed): what services merge with `<<: *name`. */
function anchorBlock(text: string, name: string): string {
  const m = new RegExp(`^[\\w-]+: &${name}\\s*\\n((?:(?: {2}.*)?\\n)*)`, 'm').exec(stripComments(text));
  if (!m) throw new Error(`anchor ${name} not found in ${COMPOSE_FILE}`);
  return m[1]!;
}

/** Environment variable names set in a service block (map form), including a merged anchor's. */
function envNames(text: string, blocks: Map<string, string>, service: string): string[] {
  const names = new Set<string>();
  const envSection = /^ {4}environment:\s*\n((?: {6}.*\n)*)/m.exec(block(blocks, service));
  for (const line of (envSection?.[1] ?? '').split('\n')) {
    const m = /^ {6}([A-Z0-9_]+):/.exec(line);
    if (m) names.add(m[1]!);
    const merge = /^ {6}<<: \*([\w-]+)/.exec(line);
    if (merge) {
      const anchor = new RegExp(`^[\\w-]+: &${merge[1]}\\s*\\n((?: {2}.*\\n)*)`, 'm').exec(stripComments(text));
      if (!anchor) throw new Error(`anchor ${merge[1]} not found`);
      for (const a of anchor[1]!.matchAll(/^ {2}([A-Z0-9_]+):/gm)) names.add(a[1]!);
    }
  }
  return [...names];
}

const tool = findComposeTool();
const composeText = read(COMPOSE_FILE);
const blocks = serviceBlocks(composeText);

describe(`${COMPOSE_FILE} with the compose CLI`, () => {
  it('has a compose tool to validate with', () => {
    if (!tool) throw new Error(INSTALL_HINT);
    expect(tool.label).toBeTruthy();
  });

  // Without a tool the first test fails with the install hint; these then fail too, loudly.
  const withTool = it;

  withTool(`passes \`config --quiet\` (${tool?.label ?? 'no tool'})`, () => {
    const res = run([...tool!.argv, '-f', COMPOSE_FILE, 'config', '--quiet'], composeEnv());
    expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
  });

  withTool.each(Object.keys(REQUIRED_ENV))('refuses to render without %s', (name) => {
    const res = run([...tool!.argv, '-f', COMPOSE_FILE, 'config', '--quiet'], composeEnv([name]));
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain(name);
  });

  // What a worker and the API are given, read from the rendered YAML (both compose versions print it), checked by the config they load.
  const renderedEnv = (service: string, env: Record<string, string>): Record<string, string> => {
    const res = run([...tool!.argv, '-f', COMPOSE_FILE, 'config'], { ...composeEnv(), ...env });
    expect(res.status).toBe(0);
    const section = new RegExp(`^ {2}${service}:\\n(?: {4}.*\\n)*? {4}environment:\\n((?: {6}.*\\n)*)`, 'm').exec(res.stdout);
    const vars: Record<string, string> = {};
    for (const m of (section?.[1] ?? '').matchAll(/^ {6}([A-Z0-9_]+): ?(.*)$/gm)) {
      const raw = m[2]!;
      vars[m[1]!] = raw.startsWith("'") ? raw.slice(1, -1).replace(/''/g, "'") : raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    }
    return vars;
  };

  withTool.each([
    // The config refuses a token without the hosts it may go to; compose passed the token and not the hosts, so no worker could start with one.
    ['an https token, with the hosts it belongs to', { GIT_HTTPS_TOKEN: 'tok-0123456789abcdef', GIT_HTTPS_TOKEN_HOSTS: 'git.example.com' }, { GIT_HTTPS_TOKEN_HOSTS: ['git.example.com'] }],
    ['the git URL schemes', { GIT_ALLOWED_SCHEMES: 'https,ssh,file' }, { GIT_ALLOWED_SCHEMES: ['https', 'ssh', 'file'] }],
  ])('hands the workers %s set for compose, and they start with it', (_what, env, expected) => {
    for (const name of WORKERS) expect(loadConfig(renderedEnv(name, env))).toMatchObject(expected);
  });

  withTool('hands the API the git URL schemes it validates spawns against', () => {
    expect(loadConfig(renderedEnv('api', { GIT_ALLOWED_SCHEMES: 'https,file' }))).toMatchObject({ GIT_ALLOWED_SCHEMES: ['https', 'file'] });
  });

  // Compose v1 (Debian's docker-compose) has no JSON output: there the file-text checks below stand in.
  if (tool?.json) describe('rendered model (config --format json)', () => {
    interface Svc {
      image?: string;
      build?: unknown;
      command?: string[] | null;
      entrypoint?: string[] | null;
      environment?: Record<string, string | null>;
      ports?: { target: number; published?: string | number }[];
      volumes?: { type: string; source?: string; target: string }[];
      depends_on?: Record<string, { condition: string }>;
      healthcheck?: { test?: string[] };
    }
    let services: Record<string, Svc>;
    beforeAll(() => {
      const res = run([...tool!.argv, '-f', COMPOSE_FILE, 'config', '--format', 'json'], composeEnv());
      expect(res.status).toBe(0);
      services = (JSON.parse(res.stdout) as { services: Record<string, Svc> }).services;
    });

    it('has every service', () => {
      expect(Object.keys(services).sort()).toEqual([...EXPECTED_SERVICES].sort());
    });

    it('builds the workers and the api from the Dockerfile into one image, the workers with their own command', () => {
      expect(services.api!.build).toBeDefined();
      expect(services.api!.command ?? null).toBeNull();
      for (const name of WORKERS) {
        expect(services[name]!.build).toBeDefined();
        expect(services[name]!.image).toBe(services.api!.image);
        expect(services[name]!.command?.join(' ')).toMatch(/^node dist\/worker\/main\.js$/);
      }
    });

    it('wires the orchestrator environment; each worker is a host of its own, with its own id and workspace volume', () => {
      const a = services.api!.environment!;
      expect(a).toMatchObject({ ORCHESTRATOR_PORT: '3001', ORCHESTRATOR_HOST: '0.0.0.0', ORCHESTRATOR_API_KEY: REQUIRED_ENV.ORCHESTRATOR_API_KEY });
      expect(services.api!.volumes ?? []).toEqual([]);
      const volumes = new Set<string | undefined>();
      for (const name of WORKERS) {
        const w = services[name]!.environment!;
        for (const env of [w, a]) {
          expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
          expect(env.VALKEY_HOST).toBe('valkey');
        }
        expect(w.CLAUDE_API_KEY).toBe(REQUIRED_ENV.CLAUDE_API_KEY);
        expect(w.SANDBOX_ENABLED).toBe(process.env.SANDBOX_ENABLED || 'false');
        expect(w.WORKER_HOST_ID).toBe(name);
        const workspaces = services[name]!.volumes!.find((v) => v.target === w.WORKSPACE_ROOT);
        expect(workspaces?.type).toBe('volume');
        volumes.add(workspaces?.source);
      }
      expect(volumes.size).toBe(WORKERS.length);
    });

    it('publishes the UI on 8233 (its 8080) and the API on 3001', () => {
      expect(services['temporal-ui']!.ports).toEqual([expect.objectContaining({ target: 8080, published: expect.stringMatching(/^8233$/) })]);
      expect(services.api!.ports).toEqual([expect.objectContaining({ target: 3001, published: '3001' })]);
    });

    it('starts in order', () => {
      expect(services['temporal-schema']!.depends_on).toEqual({ postgresql: expect.objectContaining({ condition: 'service_healthy' }) });
      expect(services.temporal!.depends_on).toEqual({ 'temporal-schema': expect.objectContaining({ condition: 'service_completed_successfully' }) });
      expect(services['temporal-setup']!.depends_on).toEqual({ temporal: expect.objectContaining({ condition: 'service_healthy' }) });
      for (const s of [...WORKERS, 'api']) {
        expect(services[s]!.depends_on).toEqual({
          'temporal-setup': expect.objectContaining({ condition: 'service_completed_successfully' }),
          valkey: expect.objectContaining({ condition: 'service_healthy' }),
        });
      }
    });

    it('mounts the Docker socket into no service but the workers', () => {
      for (const [name, svc] of Object.entries(services)) {
        if (WORKERS.includes(name)) continue;
        expect({ name, sources: (svc.volumes ?? []).map((v) => v.source) }).not.toEqual({ name, sources: expect.arrayContaining([DOCKER_SOCKET]) });
      }
    });
  });
});

describe(`${COMPOSE_FILE} structure (file text)`, () => {
  it('has every service', () => {
    expect([...blocks.keys()].sort()).toEqual([...EXPECTED_SERVICES].sort());
  });

  it('follows the samples-server topology: PostgreSQL, admin-tools schema step, temporalio/server, temporalio/ui', () => {
    expect(block(blocks, 'postgresql')).toMatch(/^ {4}image: postgres:/m);
    expect(block(blocks, 'temporal-schema')).toMatch(/^ {4}image: temporalio\/admin-tools:/m);
    expect(block(blocks, 'temporal-schema')).toMatch(/setup-postgres\.sh/);
    expect(block(blocks, 'temporal')).toMatch(/^ {4}image: temporalio\/server:/m);
    expect(composeText).not.toMatch(/temporalio\/auto-setup/);
    expect(block(blocks, 'temporal-ui')).toMatch(/^ {4}image: temporalio\/ui:/m);
    expect(block(blocks, 'temporal-ui')).toMatch(/^ {6}- "?8233:8080"?$/m);
    expect(block(blocks, 'valkey')).toMatch(/^ {4}image: valkey\/valkey:/m);

    const schema = read('deploy/scripts/setup-postgres.sh');
    for (const db of ['temporal', 'temporal_visibility']) expect(schema).toContain(db);
    for (const verb of ['create', 'setup-schema', 'update-schema']) expect(schema).toMatch(new RegExp(`\\b${verb}\\b`));
    expect(schema).toContain('temporal-sql-tool');
  });

  it('registers the search attributes the workflow sets, all Keyword', () => {
    expect([...SEARCH_ATTRIBUTE_NAMES].sort()).toEqual([...SEARCH_ATTRIBUTES].sort());
    for (const key of Object.values(SA)) expect(key.type).toBe(SearchAttributeType.KEYWORD);

    const setup = block(blocks, 'temporal-setup');
    expect(setup).toMatch(/^ {4}image: temporalio\/admin-tools:/m);
    expect(setup).toMatch(/\.\/deploy\/scripts:\/scripts/);
    expect(setup).toMatch(/\/scripts\/setup-namespace\.sh/);

    const script = stripComments(read('deploy/scripts/setup-namespace.sh'));
    const list = /^SEARCH_ATTRIBUTES="([^"]*)"/m.exec(script);
    expect(list?.[1]?.split(/\s+/).sort()).toEqual([...SEARCH_ATTRIBUTES].sort());
    expect(script).toMatch(/^\s*temporal operator search-attribute create [^\n]*--name "\$name" --type Keyword\b/m);
    expect(script).toMatch(/operator namespace create/);
  });

  it('sets matching.priorityLevels to 10 in the dynamic config the server loads', () => {
    const temporal = block(blocks, 'temporal');
    expect(temporal).toMatch(/DYNAMIC_CONFIG_FILE_PATH: config\/dynamicconfig\/development-sql\.yaml/);
    expect(temporal).toMatch(/- \.\/deploy\/dynamicconfig:\/etc\/temporal\/config\/dynamicconfig/);
    const dc = stripComments(read('deploy/dynamicconfig/development-sql.yaml'));
    expect(dc).toMatch(/^matching\.priorityLevels:\s*\n\s+- value: 10\s*$/m);
  });

  it('passes only variables config/index.ts knows to the workers and the api', () => {
    const known = new Set(Object.keys(configSchema.shape));
    for (const service of [...WORKERS, 'api']) {
      const unknown = envNames(composeText, blocks, service).filter((n) => !known.has(n));
      expect({ service, unknown }).toEqual({ service, unknown: [] });
    }
    const workerEnv = anchorBlock(composeText, 'worker-env');
    const api = block(blocks, 'api');
    expect(composeText).toMatch(/CLAUDE_API_KEY: \$\{CLAUDE_API_KEY:\?/);
    expect(composeText).toMatch(/ORCHESTRATOR_API_KEY: \$\{ORCHESTRATOR_API_KEY:\?/);
    expect(workerEnv).toMatch(/SANDBOX_ENABLED: \$\{SANDBOX_ENABLED:-false\}/);
    expect(workerEnv).toMatch(/WORKSPACE_ROOT: \/data\/workspaces/);
    for (const [i, name] of WORKERS.entries()) {
      const worker = block(blocks, name);
      expect(worker).toMatch(/^ {4}<<: \*worker$/m);
      expect(worker).toMatch(/^ {6}<<: \*worker-env$/m);
      expect(worker).toMatch(new RegExp(`^ {6}WORKER_HOST_ID: ${name}$`, 'm'));
      expect(worker).toMatch(new RegExp(`^ {6}- workspaces-${i + 1}:/data/workspaces$`, 'm'));
    }
    expect(api).not.toMatch(/WORKSPACE_ROOT|workspaces:/);
    expect(api).toMatch(/ORCHESTRATOR_HOST: 0\.0\.0\.0/);
    expect(api).toMatch(/ORCHESTRATOR_PORT: "?3001"?/);
  });

  it('has healthchecks and start-up conditions', () => {
    for (const s of ['postgresql', 'temporal', 'valkey', 'api']) expect({ s, hc: /^ {4}healthcheck:/m.test(block(blocks, s)) }).toEqual({ s, hc: true });
    expect(block(blocks, 'temporal')).toMatch(/temporal-schema:\s*\n\s+condition: service_completed_successfully/);
    for (const text of [anchorBlock(composeText, 'worker'), block(blocks, 'api')]) {
      expect(text).toMatch(/temporal-setup:\s*\n\s+condition: service_completed_successfully/);
      expect(text).toMatch(/valkey:\s*\n\s+condition: service_healthy/);
    }
  });

  it('keeps what Valkey is given: an append-only file fsynced every second, on a volume', () => {
    const valkey = block(blocks, 'valkey');
    expect(valkey).toMatch(/valkey-server --dir \/data --appendonly yes --appendfsync everysec/);
    expect(valkey).toMatch(/^ {6}- valkey-data:\/data$/m);
  });

  it('mounts the Docker socket into no service (comments aside): mounting it into the workers is an opt-in', () => {
    for (const [name, text] of blocks) expect({ name, mountsSocket: text.includes('docker.sock') }).toEqual({ name, mountsSocket: false });
    expect(anchorBlock(composeText, 'worker')).not.toContain('docker.sock');
    expect(composeText).toMatch(/#\s+- \/var\/run\/docker\.sock:\/var\/run\/docker\.sock/);
  });

  it('builds a non-root Node 20 bookworm-slim image with git that runs the API by default', () => {
    const dockerfile = stripComments(read('Dockerfile'));
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/node:20-bookworm-slim/);
    expect(dockerfile).toMatch(/\bnpm ci\b/);
    expect(dockerfile).toMatch(/apt-get install[^\n]*\bgit\b/);
    expect(dockerfile).toMatch(/^USER (?!root|0\b)\S+/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/api\/main\.js"\]/m);
    // Compiled in a stage with the dev dependencies; the runtime stage takes only dist/.
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', '.data', '.tools', 'dist', '.git']) expect(ignored).toContain(entry);
  });
});
