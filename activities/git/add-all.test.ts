import { ADD_ATTEMPTS, addAll } from './add-all';
import { GitCommandFailedError } from './errors';

const vanished = () => new GitCommandFailedError('git add failed (exit 128)', 'add', 128, "fatal: unable to stat 'f': No such file or directory\n");

describe('addAll', () => {
  it('runs the add again when a file vanished between the scan and its stat', async () => {
    const calls: string[][] = [];
    const run = async (args: string[]) => {
      calls.push(args);
      if (calls.length < 3) throw vanished();
      return 'added';
    };
    await expect(addAll(run, ['add', '--all'])).resolves.toBe('added');
    expect(calls).toEqual([['add', '--all'], ['add', '--all'], ['add', '--all']]);
  });

  it('gives up after its attempts when the writer wins every one', async () => {
    let calls = 0;
    const run = async () => {
      calls++;
      throw vanished();
    };
    await expect(addAll(run, ['add', '--all'])).rejects.toThrow('git add failed');
    expect(calls).toBe(ADD_ATTEMPTS);
  });

  it('throws any other failure at once', async () => {
    let calls = 0;
    const run = async () => {
      calls++;
      throw new GitCommandFailedError('git add failed (exit 128)', 'add', 128, "error: open(\"secret\"): Permission denied\n");
    };
    await expect(addAll(run, ['add', '--all'])).rejects.toThrow('git add failed');
    expect(calls).toBe(1);
  });
});
