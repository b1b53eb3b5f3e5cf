/**
 * A worker agent on a Go repository through the real worker: the standard profile's gates are
 * detected from go.mod at the base commit (go build, go vet, go test with a coverprofile), the
 * coverage they measure sends the agent back once, and the fixed work is pushed. Real Temporal,
 * Valkey, git and Go toolchain; the model is the scripted fake.
 */
import { createRemoteRepo, git, showFile } from './support/git-fixtures';
import { goProject } from './support/ecosystem-projects';
import { startHarness, type Harness } from './support/harness';

const edit = (path: string, old_str: string, new_str: string) => ({
  name: 'str_replace_based_edit_tool' as const,
  input: { command: 'str_replace', path, old_str, new_str },
});

describe('an agent run on a Go repository', () => {
  let h: Harness;
  beforeAll(async () => {
    // Detection and feedback are what this tests, so the commands run on the host with its warm Go
    // build cache: in the bubblewrap sandbox every command starts with an empty cache and compiles
    // the standard library again (two minutes for this run on an idle machine, ten under CI's load).
    // That Go is found inside the sandbox is tested in activities/sandbox/bubblewrap-runner.test.ts.
    h = await startHarness({ GATE_TIMEOUT_SECONDS: '600', GATE_COVERAGE_THRESHOLD: '85', SANDBOX_RUNTIME: 'none' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('runs go build, go vet and go test from the base commit, feeds back the coverage shortfall, and pushes the fixed work', async () => {
    const remote = createRemoteRepo(goProject('passing'));
    const taskId = 'T-go-mul';
    h.fakeModel.script(taskId, [
      { tools: [edit('calc.go', 'func Sub(a, b int) int { return a - b }', 'func Sub(a, b int) int { return a - b }\n\nfunc Mul(a, b int) int {\n\tr := a * b\n\treturn r\n}')] },
      { text: 'Added Mul.' },
      {
        tools: [
          edit(
            'calc_test.go',
            'func TestSub(',
            'func TestMul(t *testing.T) {\n\tif got := Mul(3, 4); got != 12 {\n\t\tt.Fatalf("Mul(3, 4) = %d", got)\n\t}\n}\n\nfunc TestSub(',
          ),
        ],
      },
      { text: 'Tested Mul.' },
    ]);
    const handle = await h.spawn({ taskId, repository: remote.url, gateProfile: 'standard' });
    const final = await handle.result();
    const gates = final.result?.gates ?? [];
    process.stdout.write(`go run gates:\n${gates.map((g) => `  ${g.name.padEnd(10)} ${g.outcome.padEnd(7)} ${String(g.durationMs).padStart(6)} ms  ${g.command ?? ''}  ${g.detail ?? ''}`).join('\n')}\n`);

    expect(final.status).toBe('completed');
    expect(gates.map((g) => [g.name, g.outcome, g.command])).toEqual([
      ['typecheck', 'passed', 'go build -o /dev/null ./...'],
      ['lint', 'passed', 'go vet ./...'],
      ['tests', 'passed', 'go test -coverprofile=coverage.out ./...'],
      ['coverage', 'passed', 'go test -coverprofile=coverage.out ./...'],
    ]);
    expect(gates.find((g) => g.name === 'coverage')?.detail).toMatch(/^lines coverage 100% >= threshold 85%/);

    // The first round's coverage went back to the agent: Mul was untested (2 of 4 statements covered).
    const requests = h.fakeModel.requestsFor(taskId);
    expect(requests).toHaveLength(4);
    const feedback = JSON.stringify(requests[2]!.body.messages.at(-1));
    expect(feedback).toContain('## coverage: failed');
    expect(feedback).toContain('lines coverage 50% < threshold 85%');

    const branch = final.result!.branch!;
    expect(showFile(remote.dir, branch, 'calc_test.go')).toContain('TestMul');
    // The coverprofile the gates wrote is ignored by the repository, so it never reaches the commit.
    expect(git(remote.dir, 'ls-tree', '--name-only', branch).split('\n')).not.toContain('coverage.out');
  }, 900_000);
});
