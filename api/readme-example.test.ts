/** The spawn request the README shows is one the API accepts on its default configuration. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config';
import { budgetCeilings } from './agents-service';
import { spawnRequestSchema } from './request-schemas';

function readmeSpawnExample(): unknown {
  const readme = readFileSync(path.resolve(__dirname, '../README.md'), 'utf8');
  const block = /```json\nPOST \/agents\/spawn\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no POST /agents/spawn example');
  return JSON.parse(block[1]!);
}

describe("the README's spawn example", () => {
  it('passes the spawn validation on the default configuration', () => {
    const config = loadConfig({});
    const schema = spawnRequestSchema({ allowedSchemes: config.GIT_ALLOWED_SCHEMES, ceilings: budgetCeilings(config) });
    const parsed = schema.safeParse(readmeSpawnExample());
    expect(parsed.error?.issues ?? []).toEqual([]);
  });
});
