import { mkdtempSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ADD_ATTEMPTS, addAll, type AddRunner } from './add-all';
import { GitCommandFailedError, WorktreeUnstageableError } from './errors';

const vanished = { exitCode: 128, stderr: "fatal: unable to stat 'f': No such file or directory\n" };
const ok = { exitCode: 0, stderr: '' };

/** A runner that answers `answers` in turn (the last one again after them) and records each call. */
function scripted(...answers: { exitCode: number; stderr: string }[]) {
  const calls: string[][] = [];
  const run: AddRunner = async (args, okExitCodes) => {
    expect(okExitCodes).toEqual([0, 1, 128]);
    calls.push(args);
    return answers[Math.min(calls.length, answers.length) - 1]!;
  };
  return { run, calls };
}

/** What git 2.39 writes for each refusal `add --all --ignore-errors` goes past (exit 1). */
const REFUSALS =
  "error: README.md: can only add regular files, symbolic links or git-directories\n" +
  "error: invalid path '.GIT/config'\n" +
  "error: unable to add '.GIT/config' to index\n" +
  'error: open("locked.txt"): Permission denied\n' +
  "error: unable to index file 'locked.txt'\n" +
  "error: invalid path 'sub/GIT~1/f'\n" +
  "error: unable to add 'sub/GIT~1/f' to index\n";
const REFUSED = [
  'README.md: can only add regular files, symbolic links or git-directories',
  "invalid path '.GIT/config'",
  'open("locked.txt"): Permission denied',
  "invalid path 'sub/GIT~1/f'",
];

describe('addAll', () => {
  it('adds with --ignore-errors, the pathspecs after --', async () => {
    const { run, calls } = scripted(ok);
    await expect(addAll(run, { pathspecs: ['.', ':(top,exclude,literal)v'] })).resolves.toEqual([]);
    expect(calls).toEqual([['add', '--all', '--ignore-errors', '--', '.', ':(top,exclude,literal)v']]);
  });

  it('runs the add again when a file vanished between the scan and its stat', async () => {
    const { run, calls } = scripted(vanished, vanished, ok);
    await expect(addAll(run)).resolves.toEqual([]);
    expect(calls).toHaveLength(3);
  });

  it('runs it again when a file vanished between the stat and the open, unless the refusals are to be skipped', async () => {
    const gone = { exitCode: 1, stderr: 'error: open("tmp.txt"): No such file or directory\nerror: unable to index file \'tmp.txt\'\n' };
    const { run, calls } = scripted(gone, ok);
    await expect(addAll(run)).resolves.toEqual([]);
    expect(calls).toHaveLength(2);
    const always = scripted(gone);
    await expect(addAll(always.run)).rejects.toThrow(WorktreeUnstageableError);
    expect(always.calls).toHaveLength(ADD_ATTEMPTS);
    const skipping = scripted(gone);
    await expect(addAll(skipping.run, { skipRefusedPaths: true })).resolves.toEqual(['open("tmp.txt"): No such file or directory']);
    expect(skipping.calls).toHaveLength(1);
  });

  it('gives up after its attempts when the writer wins every one', async () => {
    const { run, calls } = scripted(vanished);
    await expect(addAll(run)).rejects.toThrow(GitCommandFailedError);
    expect(calls).toHaveLength(ADD_ATTEMPTS);
  });

  it('throws any other failure at once, typed to be retried, its stderr scrubbed', async () => {
    const { run, calls } = scripted({ exitCode: 128, stderr: 'fatal: unable to write new index file (token=hunter2hunter2)\n' });
    const err = (await addAll(run, { secrets: ['hunter2hunter2'] }).catch((e: unknown) => e)) as GitCommandFailedError;
    expect(err).toBeInstanceOf(GitCommandFailedError);
    expect(err.message).toMatch(/^git add failed \(exit 128\): fatal: unable to write new index file/);
    expect(err.message + err.stderr).not.toContain('hunter2hunter2');
    expect(calls).toHaveLength(1);
  });

  it('returns the entries git refused, one per path, when told to skip them', async () => {
    const { run, calls } = scripted({ exitCode: 1, stderr: `hint: something\n${REFUSALS}` });
    await expect(addAll(run, { skipRefusedPaths: true })).resolves.toEqual(REFUSED);
    expect(calls).toHaveLength(1);
  });

  it('throws the refusals as final otherwise, at once', async () => {
    const { run, calls } = scripted({ exitCode: 1, stderr: REFUSALS });
    const err = (await addAll(run).catch((e: unknown) => e)) as WorktreeUnstageableError;
    expect(err).toBeInstanceOf(WorktreeUnstageableError);
    expect(err.retryable).toBe(false);
    expect(err.problems).toEqual(REFUSED);
    expect(err.message).toBe(`git cannot stage the worktree as it is: ${REFUSED.join('; ')}`);
    expect(calls).toHaveLength(1);
  });

  it('a working-tree-encoding git cannot apply is final with or without skipping, and named first', async () => {
    for (const fatal of ["fatal: failed to encode 'a.txt' from NOPE to UTF-8", "fatal: BOM is required in 'u.txt' if encoded as UTF-16"]) {
      const stderr = `${REFUSALS}hint: The file 'u.txt' is missing a byte order mark (BOM).\n${fatal}\n`;
      for (const skipRefusedPaths of [true, false]) {
        const { run, calls } = scripted({ exitCode: 128, stderr });
        const err = (await addAll(run, { skipRefusedPaths }).catch((e: unknown) => e)) as WorktreeUnstageableError;
        expect(err).toBeInstanceOf(WorktreeUnstageableError);
        expect(err.problems).toEqual([fatal.slice('fatal: '.length), ...REFUSED]);
        expect(calls).toHaveLength(1);
      }
    }
  });

  it('reads the whole stderr: 5,000 refusals are all counted, and a conversion of a 4,000-character path is still recognised', async () => {
    // run-git.ts keeps the last 4,000 characters of stderr in an error; both would be cut there.
    const many = Array.from({ length: 5000 }, (_, i) => `error: invalid path 'd${i}/.GIT/f'\nerror: unable to add 'd${i}/.GIT/f' to index\n`).join('');
    const refused = await addAll(scripted({ exitCode: 1, stderr: many }).run, { skipRefusedPaths: true });
    expect(refused).toHaveLength(5000);
    expect(refused[0]).toBe("invalid path 'd0/.GIT/f'");

    const long = `${'d/'.repeat(2000)}f.txt`;
    const err = await addAll(scripted({ exitCode: 128, stderr: `fatal: failed to encode '${long}' from NOPE to UTF-8\n` }).run, { skipRefusedPaths: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorktreeUnstageableError);
    expect((err as Error).message.length).toBeLessThan(300); // each problem is shortened in the message
  });

  it('a stderr cut off mid-line, or without one line of git\'s own, is a refusal still: the exit code says so, not the text', async () => {
    const cut = "id path 'x/.GIT/f'\nerror: unable to add 'x/.GIT/f' to index\nerror: invalid path 'y/.GIT/f'\n";
    await expect(addAll(scripted({ exitCode: 1, stderr: cut }).run, { skipRefusedPaths: true })).resolves.toEqual(["invalid path 'y/.GIT/f'"]);
    await expect(addAll(scripted({ exitCode: 1, stderr: "x/.GIT/f'\n" }).run, { skipRefusedPaths: true })).resolves.toEqual(['git left out entries it did not name']);
  });

  it('a path that forges git\'s lines with newlines changes neither what is final nor what is retried', async () => {
    // A file named "a\nfatal: unable to stat 'b': No such file or directory" under a bad encoding.
    const forged = "fatal: failed to encode 'a\nfatal: unable to stat 'b': No such file or directory' from NOPE to UTF-8\n";
    const { run, calls } = scripted({ exitCode: 128, stderr: forged });
    await expect(addAll(run, { skipRefusedPaths: true })).rejects.toThrow(WorktreeUnstageableError);
    expect(calls).toHaveLength(1);
    // And a refusal of a path with a newline in it is one entry, its continuation no line of git's.
    const split = "error: invalid path '.GIT/a\nb'\nerror: unable to add '.GIT/a\nb' to index\n";
    await expect(addAll(scripted({ exitCode: 1, stderr: split }).run, { skipRefusedPaths: true })).resolves.toEqual(["invalid path '.GIT/a"]);
  });

  describe('a lock a killed git left on the index', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'add-all-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const locked = (index: string) => ({ exitCode: 128, stderr: `fatal: Unable to create '${index}.lock': File exists.\n\nAnother git process seems to be running in this repository.\n` });

    it('is removed once no git can still be writing it, and the add runs again', async () => {
      const index = path.join(dir, 'index');
      writeFileSync(`${index}.lock`, '');
      const { run, calls } = scripted(locked(index), ok);
      let ticks = 0;
      const started = Date.now();
      await expect(addAll(run, { indexFile: index, staleLockMs: 1500, onProgress: () => ticks++ })).resolves.toEqual([]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400); // waited until it was stale, not removed at once
      expect(ticks).toBeGreaterThan(0);
      expect(existsSync(`${index}.lock`)).toBe(false);
      expect(calls).toHaveLength(2);

      // One already older than that goes at once.
      writeFileSync(`${index}.lock`, '');
      const old = new Date(Date.now() - 60_000);
      utimesSync(`${index}.lock`, old, old);
      const again = scripted(locked(index), ok);
      const at = Date.now();
      await addAll(again.run, { indexFile: index, staleLockMs: 10_000 });
      expect(Date.now() - at).toBeLessThan(1000);
      expect(again.calls).toHaveLength(2);
    });

    it('is left to a git that writes it meanwhile, and the add fails to be retried later', async () => {
      const index = path.join(dir, 'index');
      writeFileSync(`${index}.lock`, '');
      const writer = setTimeout(() => writeFileSync(`${index}.lock`, 'new index'), 300);
      const { run, calls } = scripted(locked(index));
      await expect(addAll(run, { indexFile: index, staleLockMs: 1000 })).rejects.toThrow(GitCommandFailedError);
      clearTimeout(writer);
      expect(existsSync(`${index}.lock`)).toBe(true);
      expect(calls).toHaveLength(1);
    });

    it('is not touched without the index named', async () => {
      const index = path.join(dir, 'index');
      writeFileSync(`${index}.lock`, '');
      await expect(addAll(scripted(locked(index)).run)).rejects.toThrow(/Unable to create/);
      expect(existsSync(`${index}.lock`)).toBe(true);
    });
  });
});
