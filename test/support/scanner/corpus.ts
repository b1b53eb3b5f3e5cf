/**
 * Labelled corpus generator shared by the tests and the benchmark: deterministic, realistic
 * source/config/docs files with planted secrets (labelled by line) and decoys that a careless
 * scanner reports (documented example keys, placeholders, environment references, hashes,
 * UUIDs, lockfile integrity strings, base64 images, public keys, tokens with a bad checksum).
 */
import { RULES } from '../../../scanner/rules';
import { ALNUM, B64, B64URL, DIGITS, HEX, LOWER, UPPER, createRng, samplePositive, type Rng } from './samples';

/** A secret planted in a corpus file; `line` (1-based) is where a scanner should report it. */
export interface PlantedSecret {
  readonly line: number;
  readonly ruleId: string;
  readonly secret: string;
}

export interface CorpusFile {
  readonly path: string;
  readonly content: string;
  readonly secrets: readonly PlantedSecret[];
}

export interface CorpusOptions {
  seed?: number;
  files?: number;
  /** Approximate size of each file in bytes. Default 4 KB. */
  fileBytes?: number;
  /** Expected planted secrets per file. Default 1. */
  secretsPerFile?: number;
  /** Expected decoys per file. Default 3. */
  decoysPerFile?: number;
}

const NOUNS = [
  'user', 'order', 'invoice', 'account', 'cart', 'payment', 'session', 'report', 'metric', 'event', 'queue', 'job',
  'task', 'profile', 'message', 'channel', 'upload', 'image', 'customer', 'product', 'shipment', 'ledger', 'tenant',
  'workspace', 'project', 'build', 'release', 'webhook', 'schedule', 'audit',
];
const VERBS = [
  'get', 'fetch', 'load', 'save', 'update', 'create', 'delete', 'list', 'sync', 'process', 'handle', 'validate',
  'render', 'compute', 'parse', 'format', 'send', 'retry', 'enqueue', 'archive',
];
const WORDS = [
  'the', 'service', 'retries', 'each', 'request', 'with', 'exponential', 'backoff', 'and', 'logs', 'failures', 'so',
  'that', 'operators', 'can', 'see', 'which', 'tenant', 'is', 'affected', 'before', 'after', 'deploy', 'cache',
  'entries', 'expire', 'when', 'config', 'changes', 'we', 'keep', 'this', 'small', 'because', 'callers', 'batch',
];

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const sentence = (rng: Rng, n: number): string => cap(Array.from({ length: n }, () => rng.pick(WORDS)).join(' ')) + '.';
const uuid = (rng: Rng): string => [8, 4, 4, 4, 12].map((n) => rng.chars(HEX, n)).join('-');

type Block = (rng: Rng) => string[];

/**
 * Repeats each block by its weight, for uniform picking. Blocks that mention passwords, tokens
 * or URLs are hard negatives but get low weights, so that about one line in twenty-five meets
 * a keyword, as in real code.
 */
function weighted(entries: readonly (readonly [number, Block])[]): Block[] {
  return entries.flatMap(([w, b]) => Array.from({ length: w }, () => b));
}

const TS_BLOCKS: Block[] = weighted([
  [12, (r) => [`import { ${cap(r.pick(NOUNS))}Service, type ${cap(r.pick(NOUNS))} } from './${r.pick(NOUNS)}-${r.pick(NOUNS)}';`]],
  [12, (r) => {
    const n = r.pick(NOUNS);
    return [`export interface ${cap(n)}Record {`, '  id: string;', `  ${r.pick(NOUNS)}Id: number;`, '  createdAt: Date;', `  tags?: string[];`, '}', ''];
  }],
  [16, (r) => {
    const v = r.pick(VERBS);
    const n = r.pick(NOUNS);
    const m = r.pick(NOUNS);
    return [
      `export async function ${v}${cap(n)}(${n}Id: string, opts: ${cap(n)}Options = {}): Promise<${cap(m)}[]> {`,
      `  const res = await client.get(\`/api/v1/${n}s/\${${n}Id}\`, { timeout: ${r.range(1, 30) * 1000} });`,
      '  if (!res.ok) {',
      `    throw new Error(\`failed to ${v} ${n}: \${res.status}\`);`,
      '  }',
      `  const ${m}s = res.data.items.filter((x: ${cap(m)}) => x.score > ${r.range(0, 99)});`,
      `  logger.info({ ${n}Id, count: ${m}s.length }, '${v} ${n}');`,
      `  return ${m}s;`,
      '}',
      '',
    ];
  }],
  [1, (r) => [
    `  const accessToken = await auth.getAccessToken(${r.pick(NOUNS)}Id);`,
    "  headers.set('Authorization', `Bearer ${accessToken}`);",
  ]],
  [1, () => ["  if (password.length < 12) throw new ValidationError('password too short');", '  const hashed = await bcrypt.hash(password, 12);']],
  [1, (r) => [`  const secretName = \`\${env}/${r.pick(NOUNS)}/db-credentials\`;`, '  const { apiKey, region } = config;']],
  [12, (r) => [`// ${sentence(r, r.range(6, 14))}`]],
  [8, (r) => ['/**', ` * ${sentence(r, r.range(8, 16))}`, ` * ${sentence(r, r.range(5, 12))}`, ' */']],
  [1, () => ['  tokenCount += countTokens(message.content);', '  const maxTokens = Math.min(limit, 4096);']],
  [1, () => ['export const schema = z.object({', '  email: z.string().email(),', '  password: z.string().min(12),', '  token: z.string().optional(),', '});']],
]);

const PY_BLOCKS: Block[] = weighted([
  [8, (r) => [`from ${r.pick(NOUNS)}.${r.pick(NOUNS)} import ${cap(r.pick(NOUNS))}Client`]],
  [16, (r) => {
    const n = r.pick(NOUNS);
    return [
      `def ${r.pick(VERBS)}_${n}(${n}_id: str, retries: int = ${r.range(1, 5)}) -> dict:`,
      `    """${sentence(r, r.range(6, 12))}"""`,
      `    resp = session.get(f"{BASE_URL}/${n}s/{${n}_id}", timeout=${r.range(2, 30)})`,
      '    resp.raise_for_status()',
      `    return {k: v for k, v in resp.json().items() if k != "${r.pick(NOUNS)}"}`,
      '',
    ];
  }],
  [8, (r) => [`class ${cap(r.pick(NOUNS))}Repository:`, '    def __init__(self, db):', '        self.db = db', `        self.table = "${r.pick(NOUNS)}s"`, '']],
  [1, () => ['api_key = os.environ.get("API_KEY")', 'password = getpass.getpass("Password: ")']],
  [8, (r) => [`# ${sentence(r, r.range(6, 14))}`]],
  [1, () => ['    token = request.headers.get("Authorization", "").removeprefix("Bearer ")', '    if not token:', '        raise Unauthorized()']],
]);

const GO_BLOCKS: Block[] = weighted([
  [16, (r) => {
    const n = r.pick(NOUNS);
    return [
      `func (s *Server) ${cap(r.pick(VERBS))}${cap(n)}(ctx context.Context, id string) (*${cap(n)}, error) {`,
      `\trow := s.db.QueryRowContext(ctx, "SELECT id, name FROM ${n}s WHERE id = $1", id)`,
      `\tvar out ${cap(n)}`,
      '\tif err := row.Scan(&out.ID, &out.Name); err != nil {',
      `\t\treturn nil, fmt.Errorf("${n} %s: %w", id, err)`,
      '\t}',
      '\treturn &out, nil',
      '}',
      '',
    ];
  }],
  [1, (r) => [`type ${cap(r.pick(NOUNS))}Config struct {`, '\tAddr     string `json:"addr"`', '\tPassword string `json:"password"`', '\tTimeout  time.Duration', '}', '']],
  [1, () => ['\ttoken := os.Getenv("GITHUB_TOKEN")', '\tif token == "" {', '\t\tlog.Fatal("GITHUB_TOKEN is required")', '\t}']],
  [8, (r) => [`// ${sentence(r, r.range(6, 14))}`]],
]);

const YAML_BLOCKS: Block[] = weighted([
  [1, (r) => {
    const n = r.pick(NOUNS);
    return [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      `  name: ${n}-api`,
      'spec:',
      `  replicas: ${r.range(1, 6)}`,
      '  template:',
      '    spec:',
      '      containers:',
      `        - name: ${n}`,
      `          image: registry.internal/${n}:${r.range(1, 9)}.${r.range(0, 20)}.${r.range(0, 40)}`,
      '          env:',
      '            - name: DB_PASSWORD',
      '              valueFrom:',
      '                secretKeyRef:',
      `                  name: ${n}-db`,
      '                  key: password',
      '---',
    ];
  }],
  [1, (r) => ['jobs:', '  test:', '    runs-on: ubuntu-latest', '    steps:', '      - uses: actions/checkout@v4', `      - run: npm test -- --shard=${r.range(1, 4)}/4`, '        env:', '          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}']],
  [8, (r) => [`# ${sentence(r, r.range(5, 10))}`, `timeout_seconds: ${r.range(5, 120)}`, `log_level: ${r.pick(['info', 'debug', 'warn'])}`]],
]);

const ENV_BLOCKS: Block[] = weighted([
  [8, (r) => [`NODE_ENV=${r.pick(['production', 'development'])}`, `PORT=${r.range(3000, 9000)}`, `LOG_LEVEL=${r.pick(['info', 'debug'])}`]],
  [1, () => ['API_KEY=', 'SECRET_KEY=changeme', 'DATABASE_URL=postgres://postgres:postgres@localhost:5432/dev']],
  [8, (r) => [`# ${sentence(r, r.range(4, 9))}`, `FEATURE_${r.pick(NOUNS).toUpperCase()}=${r.pick(['true', 'false'])}`]],
]);

const JSON_BLOCKS: Block[] = weighted([
  [2, (r) => [`  "${r.pick(NOUNS)}": {`, `    "enabled": ${r.pick(['true', 'false'])},`, `    "retries": ${r.range(0, 9)},`, `    "endpoint": "https://${r.pick(NOUNS)}.internal/api"`, '  },']],
  [3, (r) => [`  "requestId": "${uuid(r)}",`, `  "etag": "W/\\"${r.chars(HEX, 32)}\\"",`]],
]);

const MD_BLOCKS: Block[] = weighted([
  [16, (r) => [`## ${cap(r.pick(VERBS))} ${r.pick(NOUNS)}s`, '', sentence(r, r.range(12, 30)), '']],
  [1, (r) => ['```bash', `curl -H "Authorization: Bearer $TOKEN" https://api.internal/v1/${r.pick(NOUNS)}s`, '```', '']],
  [6, (r) => ['| option | default | meaning |', '| --- | --- | --- |', `| \`timeout\` | ${r.range(1, 60)}s | ${sentence(r, 5)} |`, '']],
  [1, () => ['Set `GITHUB_TOKEN` to a personal access token (it starts with `ghp_`) before running the script.', '']],
]);

const LOCK_BLOCKS: Block[] = [
  (r) => {
    const n = `${r.pick(NOUNS)}-${r.pick(VERBS)}`;
    const v = `${r.range(0, 9)}.${r.range(0, 30)}.${r.range(0, 30)}`;
    return [
      `    "node_modules/${n}": {`,
      `      "version": "${v}",`,
      `      "resolved": "https://registry.npmjs.org/${n}/-/${n}-${v}.tgz",`,
      `      "integrity": "sha512-${r.chars(B64, 86)}==",`,
      '      "dev": true',
      '    },',
    ];
  },
];

const YARN_BLOCKS: Block[] = [
  (r) => {
    const n = `${r.pick(NOUNS)}-${r.pick(VERBS)}`;
    const v = `${r.range(0, 9)}.${r.range(0, 30)}.${r.range(0, 30)}`;
    return [
      `${n}@^${v}:`,
      `  version "${v}"`,
      `  resolved "https://registry.yarnpkg.com/${n}/-/${n}-${v}.tgz#${r.chars(HEX, 40)}"`,
      `  integrity sha512-${r.chars(B64, 86)}==`,
      '',
    ];
  },
];

interface Kind {
  readonly ext: string;
  readonly weight: number;
  readonly blocks: readonly Block[];
  readonly head?: readonly string[];
  readonly tail?: readonly string[];
  /** Wraps a planted snippet (e.g. in a code fence); returns the lines and the offset of the snippet. */
  readonly wrap?: (lines: string[]) => { lines: string[]; offset: number };
}

const KINDS: readonly Kind[] = [
  { ext: 'ts', weight: 26, blocks: TS_BLOCKS },
  { ext: 'py', weight: 18, blocks: PY_BLOCKS },
  { ext: 'go', weight: 10, blocks: GO_BLOCKS, head: ['package main', ''] },
  { ext: 'yaml', weight: 10, blocks: YAML_BLOCKS },
  { ext: 'env', weight: 6, blocks: ENV_BLOCKS },
  { ext: 'json', weight: 8, blocks: JSON_BLOCKS, head: ['{'], tail: ['  "version": 1', '}'] },
  {
    ext: 'md',
    weight: 12,
    blocks: MD_BLOCKS,
    head: ['# Service notes', ''],
    wrap: (lines) => ({ lines: ['```', ...lines, '```'], offset: 1 }),
  },
  { ext: 'lock.json', weight: 5, blocks: LOCK_BLOCKS, head: ['{', '  "lockfileVersion": 3,', '  "packages": {'], tail: ['  }', '}'] },
  { ext: 'yarn.lock', weight: 5, blocks: YARN_BLOCKS, head: ['# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.', ''] },
];

function jwtIoSample(rng: Rng): string {
  const part = (json: string): string => Buffer.from(json, 'utf8').toString('base64url');
  return `${part('{"alg":"HS256","typ":"JWT"}')}.${part('{"sub":"1234567890","name":"John Doe","iat":1516239022}')}.${rng.chars(B64URL, 43)}`;
}

/** Non-secrets that look like secrets. Each returns lines to insert. */
const DECOYS: Block[] = [
  () => ['aws_access_key_id = AKIAIOSFODNN7EXAMPLE', 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  () => ['OPENAI_API_KEY=<YOUR_KEY>'],
  () => ['API_KEY=${API_KEY}'],
  () => ['token: "{{ .Values.apiToken }}"'],
  () => ['STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx'],
  () => ['API_KEY=your-api-key-here'],
  () => ['password = "****************"'],
  () => ['const apiKey = process.env.OPENAI_API_KEY;'],
  () => ['api_key = os.environ["STRIPE_KEY"]'],
  () => ['export GITHUB_TOKEN=$GH_TOKEN'],
  (r) => [`  "commit": "${r.chars(HEX, 40)}",`],
  (r) => [`sha256 = "${r.chars(HEX, 64)}"`],
  (r) => [`password_hash: "${r.chars(HEX, 64)}"`],
  (r) => [`    "id": "${uuid(r)}",`],
  (r) => [`client_token_id = "${uuid(r)}"`],
  (r) => [`github.com/${r.pick(NOUNS)}/${r.pick(NOUNS)} v1.${r.range(0, 20)}.${r.range(0, 9)} h1:${r.chars(B64, 43)}=`],
  (r) => [`  integrity sha512-${r.chars(B64, 86)}==`],
  (r) => [`.logo { background: url(data:image/png;base64,iVBORw0KGgo${r.chars(B64, r.range(200, 1500))}=); }`],
  (r) => [`![diagram](data:image/png;base64,iVBORw0KGgo${r.chars(B64, r.range(200, 1500))})`],
  // Right shape, wrong checksum: what an agent might invent for a test fixture.
  (r) => [`const fakeToken = "ghp_${r.chars(ALNUM, 36)}";`],
  (r) => [`NPM_TOKEN=npm_${r.chars(ALNUM, 36)}`],
  // The jwt.io documentation token, built here rather than written out.
  (r) => [`const sample = "${jwtIoSample(r)}";`],
  (r) => ['-----BEGIN CERTIFICATE-----', ...Array.from({ length: 6 }, () => r.chars(B64, 64)), '-----END CERTIFICATE-----'],
  (r) => [`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${r.chars(B64, 43)} deploy@${r.pick(NOUNS)}-host`],
  () => ['-----BEGIN OPENSSH PRIVATE KEY-----', '<paste your key here>', '-----END OPENSSH PRIVATE KEY-----'],
  () => ['DATABASE_URL=postgres://postgres:postgres@localhost:5432/app_dev'],
  () => ['REDIS_URL=redis://localhost:6379/0'],
  () => ['MONGO_URL=mongodb://root:example@mongo:27017/'],
  (r) => [`STRIPE_PUBLISHABLE_KEY=pk_live_${r.chars(ALNUM, 24)}`],
  (r) => [`  "customer": "cus_${r.chars(ALNUM, 14)}",`],
  (r) => [`nonce = "${r.chars(B64URL, 22)}"`],
  () => ['password: "correct horse battery staple"'],
  () => ['  secret: !vault |'],
  (r) => [`AWS_ACCESS_KEY_ID=AKIA${r.chars(UPPER, 10)}`],
  (r) => [`const tokenizer = "${r.pick(NOUNS)}-${r.pick(NOUNS)}-${LOWER.charAt(r.int(26))}${r.range(1, 9)}";`],
  (r) => [`SESSION_SECRET=${r.pick(['dev', 'local', 'test'])}-${r.pick(['secret', 'session', 'key'])}`],
  (r) => [`"token_type": "Bearer", "expires_in": ${r.range(300, 3600)}`],
  (r) => [`release_sha: ${r.chars(HEX, 40)}`],
  (r) => [`  "lastEvaluatedKey": "${r.chars(DIGITS, 16)}",`],
];

/** Weighted pick of a file kind. */
function pickKind(rng: Rng): Kind {
  const total = KINDS.reduce((s, k) => s + k.weight, 0);
  let x = rng.next() * total;
  for (const k of KINDS) {
    x -= k.weight;
    if (x < 0) return k;
  }
  return KINDS[0] as Kind;
}

function poisson(rng: Rng, mean: number): number {
  // Knuth; means here are small.
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rng.next();
  while (p > limit) {
    k++;
    p *= rng.next();
  }
  return k;
}

/**
 * Generates one corpus file. `ruleCursor` cycles through the rules so that every rule is
 * planted about equally often.
 */
function generateFile(rng: Rng, index: number, options: Required<CorpusOptions>, ruleCursor: { next: number }): CorpusFile {
  const kind = pickKind(rng);
  const dir = rng.pick(['src', 'lib', 'services', 'config', 'docs', 'deploy', 'scripts', 'internal']);
  const name = kind.ext === 'lock.json' ? `${index}/package-lock.json` : kind.ext === 'yarn.lock' ? `${index}/yarn.lock` : `${rng.pick(NOUNS)}-${index}.${kind.ext}`;
  const path = `${dir}/${rng.pick(NOUNS)}/${name}`;

  // Insertions are chosen first and placed between body blocks.
  const inserts: { lines: string[]; secret?: { offset: number; ruleId: string; secret: string } }[] = [];
  for (let i = poisson(rng, options.secretsPerFile); i > 0; i--) {
    const rule = RULES[ruleCursor.next++ % RULES.length] as (typeof RULES)[number];
    const sample = samplePositive(rule.id, rng);
    const wrapped = kind.wrap ? kind.wrap(sample.lines) : { lines: sample.lines, offset: 0 };
    inserts.push({ lines: wrapped.lines, secret: { offset: wrapped.offset + sample.line, ruleId: rule.id, secret: sample.secret } });
  }
  for (let i = poisson(rng, options.decoysPerFile); i > 0; i--) {
    const decoy = rng.pick(DECOYS)(rng);
    inserts.push({ lines: kind.wrap ? kind.wrap(decoy).lines : decoy });
  }

  const lines: string[] = [...(kind.head ?? [])];
  const secrets: PlantedSecret[] = [];
  let bytes = 0;
  const blockCount = Math.max(inserts.length + 1, 4);
  let placed = 0;
  for (let b = 0; bytes < options.fileBytes || b < blockCount; b++) {
    const block = rng.pick(kind.blocks)(rng);
    lines.push(...block);
    for (const l of block) bytes += l.length + 1;
    if (placed < inserts.length && (rng.chance(0.3) || bytes >= options.fileBytes * ((placed + 1) / (inserts.length + 1)))) {
      const ins = inserts[placed++] as (typeof inserts)[number];
      if (ins.secret) secrets.push({ line: lines.length + ins.secret.offset + 1, ruleId: ins.secret.ruleId, secret: ins.secret.secret });
      lines.push(...ins.lines);
      for (const l of ins.lines) bytes += l.length + 1;
    }
  }
  while (placed < inserts.length) {
    const ins = inserts[placed++] as (typeof inserts)[number];
    if (ins.secret) secrets.push({ line: lines.length + ins.secret.offset + 1, ruleId: ins.secret.ruleId, secret: ins.secret.secret });
    lines.push(...ins.lines);
  }
  lines.push(...(kind.tail ?? []), '');
  return { path, content: lines.join('\n'), secrets };
}

const DEFAULTS: Required<CorpusOptions> = { seed: 1, files: 400, fileBytes: 4096, secretsPerFile: 1, decoysPerFile: 3 };

/** Yields corpus files one by one (the benchmark streams 100 MB of them to disk). */
export function* corpusFiles(options: CorpusOptions = {}): Generator<CorpusFile> {
  const opts = { ...DEFAULTS, ...options };
  const rng = createRng(opts.seed);
  const cursor = { next: opts.seed % RULES.length };
  for (let i = 0; i < opts.files; i++) yield generateFile(rng, i, opts, cursor);
}

/** The whole corpus in memory. */
export function generateCorpus(options: CorpusOptions = {}): CorpusFile[] {
  return [...corpusFiles(options)];
}

export interface Score {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  precision: number;
  recall: number;
}

/**
 * Precision and recall of reported lines against the planted labels: a finding is correct when
 * a secret was planted on its line; a planted secret is found when some finding is on its line.
 */
export function scoreFindings(files: readonly CorpusFile[], reportedLines: (file: CorpusFile) => readonly number[]): Score {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const file of files) {
    const labelled = new Set(file.secrets.map((s) => s.line));
    const reported = reportedLines(file);
    const hitLines = new Set<number>();
    for (const line of reported) {
      if (labelled.has(line)) hitLines.add(line);
      else fp++;
    }
    tp += hitLines.size;
    fn += labelled.size - hitLines.size;
  }
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  return { truePositives: tp, falsePositives: fp, falseNegatives: fn, precision, recall };
}


/**
 * About `bytes` of adversarial near misses: prefixes without bodies, bodies one character
 * short, unterminated PEM blocks and quotes, keyword floods, long runs of token characters.
 * Meant to expose super-linear patterns; nothing in it is a secret.
 */
export function hostileText(seed: number, bytes: number): string {
  const rng = createRng(seed);
  const pieces: ((r: Rng) => string)[] = [
    (r) => Array.from({ length: 40 }, () => `ghp_${r.chars(ALNUM, 35)}`).join(' '),
    () => 'ghp_'.repeat(2000),
    (r) => Array.from({ length: 60 }, () => `AKIA${r.chars(UPPER, 15)}`).join(','),
    (r) => ['-----BEGIN RSA PRIVATE KEY-----', r.chars(B64, 64), r.chars(B64, 64)].join('\n'),
    () => '-----BEGIN PRIVATE KEY-----'.repeat(300),
    (r) => Array.from({ length: 50 }, () => `eyJ${r.chars(B64URL, 30)}.`).join(''),
    () => 'password='.repeat(1500),
    (r) => `password: "${r.chars(ALNUM, 190)}`,
    () => 'postgres://a:'.repeat(800),
    (r) => `https://user:${r.chars(ALNUM, 150)} https://${'a:'.repeat(500)}`,
    (r) => `sk-proj-${r.chars(B64URL, 3000)}`,
    (r) => Array.from({ length: 80 }, () => `xoxb-${r.chars(DIGITS, 12)}-`).join(''),
    (r) => Array.from({ length: 200 }, () => `${r.chars(DIGITS, 9)}:AA`).join(''),
    () => 'abc1Q~'.repeat(1000),
    (r) => `{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\n${r.chars(B64, 3000)}`,
    (r) => Array.from({ length: 50 }, () => `secret_access_key = ${r.chars(B64, 39)}`).join('; '),
    (r) => Array.from({ length: 100 }, () => `${r.chars(HEX, 31)}-us1`).join(' '),
    (r) => Array.from({ length: 400 }, () => r.pick(['token', 'secret', 'api_key', 'sk', 'http://', 'hf_', 'dapi', 'eyJ'])).join(''),
    (r) => `${r.chars(B64, 4000)}`,
    (r) => `token = ${'$'.repeat(100)}${r.chars(ALNUM, 100)}`,
  ];
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const piece = (pieces[i % pieces.length] as (r: Rng) => string)(rng);
    parts.push(piece);
    size += piece.length + 1;
  }
  return parts.join('\n');
}
