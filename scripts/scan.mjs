// `npm run scan`: runs the secret scanner's compiled CLI (dist/scanner/cli.js), compiling
// scanner/ first when dist/ is missing or older than a source file, so a scan never pays for
// TypeScript compilation except right after a change.
import { execFileSync } from 'node:child_process';
import process from 'node:process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'scanner', 'cli.js');

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

function stale() {
  const built = mtime(cli);
  if (built < 0) return true;
  const sources = [path.join(root, 'tsconfig.scanner.json'), path.join(root, 'tsconfig.json')];
  for (const name of readdirSync(path.join(root, 'scanner'))) {
    if (name.endsWith('.ts') && !name.endsWith('.test.ts')) sources.push(path.join(root, 'scanner', name));
  }
  return sources.some((file) => mtime(file) > built);
}

if (stale()) {
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.scanner.json')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
const { main } = createRequire(import.meta.url)(cli);
process.exitCode = await main(process.argv.slice(2));
