/**
 * The editor tool against a worktree an attacker controls: links (dangling, to directories, to
 * /proc), a link flipped while the editor works, FIFOs, hard links, oversized files. Real files,
 * a real second process for the race.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runEditorCommand, ToolInputError, type EditorCommand, type EditorContext } from './editor';
import { PathOutsideWorkspaceError } from '../host/paths';
import { runWithDescriptorLimit } from '../../test/support/hostile-trees';

describe('editor tool', () => {
  let tmp: string;
  let root: string;
  let outside: string;
  let ctx: EditorContext;
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'editor-'));
    root = path.join(tmp, 'worktree');
    outside = path.join(tmp, 'host');
    mkdirSync(root);
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'secret.txt'), 'HOST SECRET\n');
    ctx = { hostRoot: root, visibleRoot: '/workspace', readOnly: false, maxOutputBytes: 100_000, maxFileBytes: 64 * 1024 };
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  const run = (cmd: EditorCommand, over: Partial<EditorContext> = {}) => runEditorCommand(cmd, { ...ctx, ...over });

  it('creates, views, edits and inserts, making parent directories', async () => {
    expect(await run({ command: 'create', path: '/workspace/src/deep/a.txt', file_text: 'one\ntwo\n' })).toBe('File created: /workspace/src/deep/a.txt');
    expect(await run({ command: 'str_replace', path: 'src/deep/a.txt', old_str: 'two', new_str: 'TWO' })).toContain('File edited');
    await run({ command: 'insert', path: 'src/./deep/../deep/a.txt', insert_line: 1, insert_text: 'one and a half' });
    expect(readFileSync(path.join(root, 'src/deep/a.txt'), 'utf8')).toBe('one\none and a half\nTWO\n');
    expect(await run({ command: 'view', path: 'src/deep/a.txt', view_range: [2, 3] })).toBe('     2\tone and a half\n     3\tTWO');
    expect(await run({ command: 'view', path: '/workspace' })).toBe('src/');
    expect(await run({ command: 'view', path: `${root}/src` })).toBe('deep/');
  });

  it('refuses paths outside the worktree and the .git directory', async () => {
    await expect(run({ command: 'view', path: '../host/secret.txt' })).rejects.toBeInstanceOf(PathOutsideWorkspaceError);
    await expect(run({ command: 'view', path: '/etc/passwd' })).rejects.toBeInstanceOf(PathOutsideWorkspaceError);
    await expect(run({ command: 'create', path: '.git/hooks/pre-commit', file_text: 'x' })).rejects.toThrow('managed by the orchestrator');
  });

  it('does not follow a dangling symlink when creating a file', async () => {
    const target = path.join(outside, 'created-through-link');
    symlinkSync(target, path.join(root, 'x'));
    await expect(run({ command: 'create', path: 'x', file_text: 'pwned' })).rejects.toThrow(/symbolic link/);
    expect(existsSync(target)).toBe(false);
  });

  it('does not follow symlinks to files or through symlinked directories', async () => {
    symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'file-link'));
    symlinkSync(outside, path.join(root, 'dir-link'));
    symlinkSync('/proc/self', path.join(root, 'proc'));
    for (const p of ['file-link', 'dir-link/secret.txt', 'proc/environ']) {
      const err = await run({ command: 'view', path: p }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ToolInputError);
      expect(String(err)).not.toContain('HOST SECRET');
    }
    await expect(run({ command: 'create', path: 'dir-link/new.txt', file_text: 'x' })).rejects.toBeInstanceOf(ToolInputError);
    await expect(run({ command: 'str_replace', path: 'file-link', old_str: 'HOST', new_str: 'PWNED' })).rejects.toBeInstanceOf(ToolInputError);
    expect(readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe('HOST SECRET\n');
    expect(existsSync(path.join(outside, 'new.txt'))).toBe(false);
  });

  it('never reads through a link that another process flips while the editor works', async () => {
    mkdirSync(path.join(root, 'real'));
    writeFileSync(path.join(root, 'real', 'environ'), 'harmless\n');
    // Flip `d` between a real directory and /proc/self as fast as a shell can.
    // Its own process group: the stop below also takes the `ln` or `mv` it is running, which would
    // otherwise go on writing into the directory while the test removes it.
    const flipper = spawn('sh', ['-c', `cd ${root} && while :; do ln -sfn /proc/self d.tmp && mv -T d.tmp d; rm -f d; ln -sfn real d.tmp && mv -T d.tmp d; done`], { stdio: 'ignore', detached: true });
    const flipperExited = new Promise((resolve) => flipper.once('exit', resolve));
    try {
      const outcomes = new Set<string>();
      for (let i = 0; i < 300; i++) {
        const text = await run({ command: 'view', path: 'd/environ' }).catch((e: unknown) => `error: ${(e as Error).message}`);
        outcomes.add(text.startsWith('error') ? 'refused' : text);
        expect(text).not.toContain('PATH=');
      }
      expect([...outcomes].every((o) => o === 'refused' || o.includes('harmless'))).toBe(true);
    } finally {
      process.kill(-flipper.pid!, 'SIGKILL');
      await flipperExited;
    }
  });

  it('refuses FIFOs at once instead of blocking', async () => {
    execFileSync('mkfifo', [path.join(root, 'pipe')]);
    const started = Date.now();
    const attempts = await Promise.all(
      Array.from({ length: 8 }, () => run({ command: 'view', path: 'pipe' }).catch((e: unknown) => e)),
    );
    expect(attempts.every((e) => e instanceof ToolInputError && /not a regular file/.test(e.message))).toBe(true);
    await expect(run({ command: 'create', path: 'pipe', file_text: 'x' })).rejects.toThrow(/not a regular file/);
    await expect(run({ command: 'str_replace', path: 'pipe', old_str: 'a', new_str: 'b' })).rejects.toThrow(/not a regular file/);
    expect(Date.now() - started).toBeLessThan(5000);
    // The libuv pool is still free: ordinary work goes on.
    expect(await run({ command: 'create', path: 'after.txt', file_text: 'ok' })).toContain('File created');
  });

  it('holds a few descriptors per call however deep the path: parallel deep calls leave the worker its own', () => {
    // The agent's `mkdir -p d/d/…/d` 1,000 deep, and calls at the bottom from several agents at once, in a
    // worker allowed 1,024 descriptors: one per level and call would take them all (EMFILE), and every
    // other activity of the worker (sockets, spawns, files) would fail while they run.
    const deep = path.join(root, ...Array.from({ length: 1000 }, () => 'd'));
    mkdirSync(deep, { recursive: true });
    writeFileSync(path.join(deep, 'f.txt'), 'bottom\n');
    const rel = `${Array.from({ length: 1000 }, () => 'd').join('/')}/f.txt`;
    const script = `
      const { runEditorCommand } = require(${JSON.stringify(path.join(__dirname, 'editor'))});
      const ctx = ${JSON.stringify(ctx)};
      Promise.all(Array.from({ length: 8 }, (_, i) => runEditorCommand(i % 2 ? { command: 'view', path: ${JSON.stringify(rel)} } : { command: 'create', path: ${JSON.stringify(rel)} + i, file_text: 'x' }, ctx).then(() => 'ok', (e) => e.message.slice(-40))))
        .then((outcomes) => console.log(JSON.stringify(outcomes)));`;
    const out = runWithDescriptorLimit(1024, script);
    expect(JSON.parse(out)).toEqual(Array.from({ length: 8 }, () => 'ok'));
    expect(readFileSync(`${deep}/f.txt0`, 'utf8')).toBe('x');
  });

  it('refuses hard links and files over the size cap, with clear errors', async () => {
    writeFileSync(path.join(outside, 'shared.txt'), 'shared\n');
    linkSync(path.join(outside, 'shared.txt'), path.join(root, 'hard.txt'));
    await expect(run({ command: 'create', path: 'hard.txt', file_text: 'overwrite' })).rejects.toThrow(/2 hard links/);
    expect(readFileSync(path.join(outside, 'shared.txt'), 'utf8')).toBe('shared\n');
    writeFileSync(path.join(root, 'big.txt'), 'x'.repeat(100 * 1024));
    await expect(run({ command: 'view', path: 'big.txt' })).rejects.toThrow(/102400 bytes; the editor handles files up to 65536 bytes/);
    await expect(run({ command: 'create', path: 'new-big.txt', file_text: 'y'.repeat(70 * 1024) })).rejects.toThrow(/up to 65536 bytes/);
  });

  it('lists a directory within maxOutputBytes, whole entries only, and says when it left some out', async () => {
    mkdirSync(path.join(root, 'many'));
    const names = Array.from({ length: 500 }, (_, i) => `${'n'.repeat(100)}${String(i).padStart(3, '0')}`);
    for (const name of names) writeFileSync(path.join(root, 'many', name), '');
    mkdirSync(path.join(root, 'many', 'sub'));
    const listing = await run({ command: 'view', path: 'many' }, { maxOutputBytes: 2000 });
    const [note, ...kept] = listing.split('\n').reverse();
    expect(note).toBe('[... more entries not listed; use bash (ls, find) to see them ...]');
    expect(kept.length).toBe(19); // 104 bytes a line: the twentieth would pass 2000
    expect(kept.every((line) => names.includes(line) || line === 'sub/')).toBe(true);
    expect([...kept].reverse()).toEqual([...kept].reverse().sort());
    // Within the cap, the whole listing as before.
    expect((await run({ command: 'view', path: 'many' })).split('\n')).toEqual([...names, 'sub/'].sort());
  });

  it('refuses writes for read-only agents', async () => {
    writeFileSync(path.join(root, 'a.txt'), 'a\n');
    await expect(run({ command: 'create', path: 'b.txt', file_text: 'b' }, { readOnly: true })).rejects.toThrow(/read-only tools/);
    expect(await run({ command: 'view', path: 'a.txt' }, { readOnly: true })).toBe('     1\ta\n     2\t');
  });

  it('gives files it creates as root to the worktree owner', async () => {
    if (process.getuid?.() !== 0) return;
    execFileSync('chown', ['1000:1000', root]);
    await run({ command: 'create', path: 'n/e/w.txt', file_text: 'x' });
    for (const p of ['n', 'n/e', 'n/e/w.txt']) expect(statSync(path.join(root, p)).uid).toBe(1000);
  });
});
