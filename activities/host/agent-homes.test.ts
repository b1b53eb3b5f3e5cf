/**
 * Agents' homes on the host: made for the sandbox user, removed with everything the agent put
 * there, and never a way for the agent to reach a host file through a link.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { agentHomes } from './agent-homes';

const asRoot = process.getuid?.() === 0;
const SANDBOX_USER = { uid: 1000, gid: 1000 };

describe('agent homes', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'homes-'));
    chmodSync(dir, 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes a private home for the sandbox user under a root it may pass but not list', async () => {
    const homes = agentHomes(path.join(dir, 'homes'));
    const home = await homes.ensure('a1', SANDBOX_USER);
    expect(home).toBe(path.join(dir, 'homes', 'a1'));
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(statSync(homes.root).mode & 0o777).toBe(0o711);
    if (asRoot) expect([statSync(home).uid, statSync(home).gid]).toEqual([1000, 1000]);
    await expect(homes.ensure('a1', SANDBOX_USER)).resolves.toBe(home); // again: same home
    expect(() => homes.pathFor('../a1')).toThrow();
    expect(() => homes.pathFor('a/b')).toThrow();
  });

  it('removes a home without following the links the agent left in it', async () => {
    const outside = path.join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'keep.txt'), 'host file');
    const homes = agentHomes(path.join(dir, 'homes'));
    const home = await homes.ensure('a1');
    symlinkSync(outside, path.join(home, 'dir-link'));
    symlinkSync(path.join(outside, 'keep.txt'), path.join(home, 'file-link'));
    symlinkSync('/', path.join(home, 'root-link'));
    await homes.remove('a1');
    expect(existsSync(home)).toBe(false);
    expect(readFileSync(path.join(outside, 'keep.txt'), 'utf8')).toBe('host file');
    await expect(homes.remove('a1')).resolves.toBeUndefined(); // a missing home is fine
  });

  // A worker that is not root runs bwrap as itself: the agent's files are its own, and a
  // directory of mode 000 would stop a plain `rm -r`. Run the removal as such a worker.
  (asRoot ? it : it.skip)('removes a home with a directory the agent locked (mode 000), as a worker that is not root', () => {
    const root = path.join(dir, 'homes');
    mkdirSync(path.join(root, 'a1', 'locked', 'inner'), { recursive: true });
    writeFileSync(path.join(root, 'a1', 'locked', 'inner', 'f'), 'x');
    for (const p of [root, path.join(root, 'a1'), path.join(root, 'a1', 'locked'), path.join(root, 'a1', 'locked', 'inner'), path.join(root, 'a1', 'locked', 'inner', 'f')]) {
      chownSync(p, SANDBOX_USER.uid, SANDBOX_USER.gid);
    }
    chmodSync(path.join(root, 'a1', 'locked'), 0o000);
    const plainRm = spawnSync('rm', ['-rf', path.join(root, 'a1')], { ...SANDBOX_USER, encoding: 'utf8' });
    expect(plainRm.stderr).toMatch(/Permission denied/); // what the home would do to a plain removal
    const script = `require(${JSON.stringify(require.resolve('./agent-homes'))}).agentHomes(${JSON.stringify(root)}).remove('a1').then(() => console.log('removed'), (e) => console.log('failed', e.code))`;
    const run = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { ...SANDBOX_USER, encoding: 'utf8', cwd: path.resolve(__dirname, '../..') });
    expect(run.stdout.trim()).toBe('removed');
    expect(existsSync(path.join(root, 'a1'))).toBe(false);
  });

  it('removes a home nested deeper than a path may be long', async () => {
    const homes = agentHomes(path.join(dir, 'homes'));
    const home = await homes.ensure('deep');
    // 2100 levels, made relative to open directories as an agent can (`cd d` in a loop): a path
    // longer than PATH_MAX, and deeper than node's own rm can go (ENAMETOOLONG, or its stack).
    const deep =
      'import os,sys\nfd=os.open(sys.argv[1], os.O_RDONLY)\nfor i in range(2100):\n' +
      '    os.mkdir("d", dir_fd=fd); n=os.open("d", os.O_RDONLY, dir_fd=fd); os.close(fd); fd=n\n' +
      'os.close(os.open("f", os.O_WRONLY | os.O_CREAT, dir_fd=fd)); print("made")';
    const made = spawnSync('python3', ['-c', deep, home], { encoding: 'utf8' });
    expect(made.stdout.trim()).toBe('made');
    await homes.remove('deep');
    expect(existsSync(home)).toBe(false);
  });

  it('reaps the homes of closed runs only, and one that fails keeps none of the others', async () => {
    const homes = agentHomes(path.join(dir, 'homes'));
    await homes.ensure('closed-1');
    await homes.ensure('open-1');
    await homes.ensure('unreadable-1');
    await homes.ensure('closed-2');
    const isClosed = async (id: string) => {
      if (id.startsWith('unreadable')) throw new Error('Temporal did not answer');
      return id.startsWith('closed');
    };
    await expect(homes.reap(isClosed)).rejects.toThrow('Temporal did not answer');
    expect(existsSync(homes.pathFor('closed-1'))).toBe(false);
    expect(existsSync(homes.pathFor('closed-2'))).toBe(false);
    expect(existsSync(homes.pathFor('open-1'))).toBe(true);
    expect(existsSync(homes.pathFor('unreadable-1'))).toBe(true);
    expect(await homes.reap(async (id) => id.startsWith('closed'))).toBe(0);
  });
});
