/**
 * A worker agent under the strict profile on a small TypeScript repository: every gate is a real
 * command (tsc, eslint, jest with coverage, build, a smoke run) and the AI review is a model turn.
 */
import { createRemoteRepo, showFile } from './support/git-fixtures';
import { startHarness, type Harness } from './support/harness';
import { toolPaths, typescriptProjectFiles } from './support/ts-project';

describe('strict profile on a TypeScript repository', () => {
  let h: Harness;
  beforeAll(async () => {
    // The fixture's gate scripts call this project's tools by absolute path: let the sandbox read them.
    h = await startHarness({ GATE_TIMEOUT_SECONDS: '180', SANDBOX_READONLY_PATHS: toolPaths().join(',') });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('runs typecheck, lint, tests, coverage, build, integration and review, then pushes', async () => {
    const remote = createRemoteRepo(typescriptProjectFiles());
    const taskId = 'T-strict-ts';
    h.fakeModel.script(taskId, [
      {
        tools: [
          { name: 'str_replace_based_edit_tool', input: { command: 'create', path: 'src/mul.ts', file_text: 'export function mul(a: number, b: number): number {\n  return a * b;\n}\n' } },
          { name: 'str_replace_based_edit_tool', input: { command: 'create', path: 'test/mul.test.ts', file_text: "import { mul } from '../src/mul';\n\ntest('multiplies', () => {\n  expect(mul(2, 3)).toBe(6);\n});\n" } },
        ],
      },
      { text: 'Added mul() with a test.' },
      // The AI review gate: one model turn over the diff.
      { text: 'Small, tested, correct.\nVERDICT: APPROVE' },
    ]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'strict' });
    const final = await handle.result();
    const gates = final.result?.gates ?? [];
    // The figures for the record: what a strict run reported, gate by gate.
    process.stdout.write(`strict run gates:\n${gates.map((g) => `  ${g.name.padEnd(12)} ${g.outcome.padEnd(8)} ${String(g.durationMs).padStart(6)} ms  ${g.commitSha ? g.commitSha.slice(0, 8) : 'worktree'}  ${g.detail ?? ''}`).join('\n')}\n`);
    expect(final.status).toBe('completed');
    expect(gates.map((g) => [g.name, g.outcome])).toEqual([
      ['typecheck', 'passed'],
      ['lint', 'passed'],
      ['tests', 'passed'],
      ['coverage', 'passed'],
      ['build', 'passed'],
      ['integration', 'passed'],
      ['review', 'passed'],
    ]);
    expect(gates.find((g) => g.name === 'integration')?.outputTail).toContain('2 + 3 = 5');
    expect(gates.filter((g) => g.commitSha).every((g) => g.commitSha === final.result?.commitSha)).toBe(true);
    expect(JSON.stringify(h.fakeModel.requestsFor(taskId)[2]!.body.messages[0])).toContain('src/mul.ts');
    expect(showFile(remote.dir, final.result!.branch!, 'src/mul.ts')).toContain('a * b');
  }, 600_000); // seven real gates (tsc, eslint, jest twice, build, a smoke run) in a sandbox: minutes on a loaded machine
});
