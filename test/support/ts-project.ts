/**
 * A small TypeScript repository with real gate scripts (tsc, eslint, jest with coverage), run
 * with this project's own tool binaries so the tests need no install inside the fixture.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';

const root = process.cwd();
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);
const mod = (name: string) => path.join(root, 'node_modules', name);

export function typescriptProjectFiles(): Record<string, string> {
  return {
    'package.json': JSON.stringify(
      {
        name: 'ts-fixture',
        version: '1.0.0',
        private: true,
        scripts: {
          typecheck: `${bin('tsc')} --noEmit -p .`,
          lint: `${bin('eslint')} src`,
          test: `${bin('jest')} --coverage --coverageReporters=json-summary --coverageReporters=text-summary`,
          build: `${bin('tsc')} -p .`,
          'test:integration': 'node dist/index.js',
        },
      },
      null,
      2,
    ),
    'tsconfig.json': JSON.stringify({
      compilerOptions: { strict: true, target: 'ES2022', module: 'commonjs', outDir: 'dist', rootDir: 'src', types: [], skipLibCheck: true },
      include: ['src'],
    }),
    'jest.config.js': `module.exports = { testEnvironment: 'node', rootDir: __dirname, transform: { '^.+\\\\.ts$': [${JSON.stringify(mod('@swc/jest'))}] }, testMatch: ['<rootDir>/test/**/*.test.ts'], collectCoverageFrom: ['src/**/*.ts', '!src/index.ts'] };\n`,
    'eslint.config.js': `module.exports = [{ files: ['src/**/*.ts'], languageOptions: { parser: require(${JSON.stringify(require.resolve('@typescript-eslint/parser'))}) }, rules: { 'no-debugger': 'error', eqeqeq: 'error' } }];\n`,
    '.gitignore': 'node_modules/\ndist/\ncoverage/\n',
    'src/math.ts': 'export function add(a: number, b: number): number {\n  return a + b;\n}\n',
    'src/index.ts': "import { add } from './math';\n\nconsole.log(`2 + 3 = ${add(2, 3)}`);\n",
    'test/math.test.ts': "import { add } from '../src/math';\n\ntest('adds', () => {\n  expect(add(2, 3)).toBe(5);\n});\n",
  };
}

/** What a sandbox must be able to read for these scripts to run: the project and its node_modules (a link here). */
export function toolPaths(): string[] {
  return [...new Set([root, realpathSync(path.join(root, 'node_modules'))])];
}
