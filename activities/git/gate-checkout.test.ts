/**
 * The gate checkout's files that choose the program a gate starts (RUNNER_FILES: .npmrc, mvnw,
 * .mvn/, gradle/wrapper/, ...): whatever the agent staged there, the checkout has what the base
 * commit has, or nothing. Real git, real files.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createGitWorkspaces, type CheckoutOptions, type GateCheckout } from './index';
import { RUNNER_FILES } from '../gates/ecosystems';
import { createRemote, git, testDeps, writeFiles, type TestRemote } from '../../test/support/git-workspace-fixtures';

const AGENT = '3d4e5f60-0000-4000-8000-00000000000d';

describe('gate checkout: runner files from the base commit', () => {
  let tmp: string;
  let n = 0;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'gate-checkout-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  /** A remote whose main has `files`, then what `edit` does in a clone of it (modes, links). */
  function remoteWith(dir: string, files: Record<string, string>, edit: (work: string) => void) {
    const remote = createRemote(dir, files);
    const work = path.join(dir, 'edit');
    git(['clone', '-q', remote.barePath, work]);
    edit(work);
    git(['add', '--all'], work);
    git(['commit', '-qm', 'base edits'], work);
    git(['push', '-q', 'origin', 'main'], work);
    return remote;
  }

  /** The gate checkout of what `change` staged in a workspace on `remote`'s main. */
  async function checkout(remote: TestRemote, dir: string, change: (worktree: string) => void, options: Omit<CheckoutOptions, 'fromCommit'> = {}): Promise<GateCheckout> {
    const workspaces = createGitWorkspaces(testDeps(path.join(dir, 'ws')));
    const ws = await workspaces.prepare({ agentId: AGENT, taskId: 'T-runner', repository: remote.url, baseBranch: 'main' });
    change(ws.path);
    const staged = await workspaces.stagedTree(ws);
    if (!('tree' in staged)) throw new Error(staged.refused);
    return workspaces.checkoutForGates(ws, AGENT, staged.tree, { ...options, fromCommit: { commit: ws.baseSha, paths: RUNNER_FILES } });
  }
  const read = (dir: string, file: string) => readFileSync(path.join(dir, file), 'utf8');
  const exists = (dir: string, file: string) => {
    try {
      lstatSync(path.join(dir, file));
      return true;
    } catch {
      return false;
    }
  };

  it('a staged .npmrc, mvnw or .mvn/ change is replaced by the base version; one the base lacks is removed; the rest stays the agent\'s', async () => {
    const base = {
      'package.json': '{"scripts":{"test":"node test.js"}}\n',
      '.npmrc': 'fund=false\n',
      mvnw: '#!/bin/sh\nexec mvn "$@"\n',
      '.mvn/wrapper/maven-wrapper.properties': 'distributionUrl=https://repo.maven.apache.org/x.zip\n',
      'gradle/libs.versions.toml': '[versions]\n',
    };
    const root = path.join(tmp, `case-${++n}`);
    const remote = remoteWith(root, base, (work) => chmodSync(path.join(work, 'mvnw'), 0o755));
    const { dir } = await checkout(remote, root, (wt) =>
      writeFiles(wt, {
        '.npmrc': 'script-shell=./sh.sh\n',
        'sh.sh': '#!/bin/sh\nexit 0\n',
        mvnw: '#!/bin/sh\nexit 0\n',
        '.mvn/wrapper/maven-wrapper.properties': 'distributionUrl=file:///tmp/evil.zip\n',
        '.mvn/extensions.xml': '<extensions/>\n',
        '.yarnrc.yml': 'yarnPath: ./evil.cjs\n',
        '.yarn/releases/yarn.cjs': 'process.exit(0)\n',
        '.pnpmfile.cjs': 'process.exit(0)\n',
        gradlew: '#!/bin/sh\nexit 0\n',
        'gradle/wrapper/gradle-wrapper.properties': 'distributionUrl=file:///tmp/evil.zip\n',
        'gradle/libs.versions.toml': '[versions]\nagent = "1"\n',
        'src/app.js': 'module.exports = 1;\n',
      }),
    );

    expect(read(dir, '.npmrc')).toBe(base['.npmrc']);
    expect(read(dir, 'mvnw')).toBe(base.mvnw);
    expect(lstatSync(path.join(dir, 'mvnw')).mode & 0o111).not.toBe(0); // still runnable as ./mvnw
    expect(read(dir, '.mvn/wrapper/maven-wrapper.properties')).toBe(base['.mvn/wrapper/maven-wrapper.properties']);
    for (const added of ['.mvn/extensions.xml', '.yarnrc.yml', '.yarn/releases/yarn.cjs', '.pnpmfile.cjs', 'gradlew', 'gradle/wrapper']) {
      expect([added, exists(dir, added)]).toEqual([added, false]);
    }
    // Next to the runner files, the agent's work is what it staged.
    expect(read(dir, 'gradle/libs.versions.toml')).toBe('[versions]\nagent = "1"\n');
    expect(read(dir, 'src/app.js')).toBe('module.exports = 1;\n');
    expect(read(dir, 'sh.sh')).toBe('#!/bin/sh\nexit 0\n');
  });

  it('links: the agent\'s link at a runner file or at its parent directory is dropped, and so is a link the base commit has there', async () => {
    const outside = path.join(tmp, 'outside');
    writeFiles(outside, { 'wrapper/gradle-wrapper.properties': 'distributionUrl=file:///tmp/evil.zip\n', npmrc: 'script-shell=/tmp/x\n' });
    const root = path.join(tmp, `case-${++n}`);
    const base = { 'build.gradle': '\n', 'gradle/wrapper/gradle-wrapper.properties': 'distributionUrl=https://services.gradle.org/x.zip\n' };
    // The base commit itself has .yarnrc as a link: only a regular file is ever taken from it.
    const remote = remoteWith(root, base, (work) => symlinkSync('/etc/passwd', path.join(work, '.yarnrc')));
    const { dir: out } = await checkout(remote, root, (wt) => {
      rmSync(path.join(wt, 'gradle'), { recursive: true });
      symlinkSync(outside, path.join(wt, 'gradle'));
      symlinkSync(path.join(outside, 'npmrc'), path.join(wt, '.npmrc'));
    });

    expect(lstatSync(path.join(out, 'gradle')).isDirectory()).toBe(true);
    expect(read(out, 'gradle/wrapper/gradle-wrapper.properties')).toBe(base['gradle/wrapper/gradle-wrapper.properties']);
    expect(exists(out, '.npmrc')).toBe(false);
    expect(exists(out, '.yarnrc')).toBe(false);
  });

  describe('restore, between gates that ran the project\'s code in the checkout', () => {
    const base = {
      'package.json': '{"scripts":{"test":"node test.js"}}\n',
      '.npmrc': 'fund=false\n',
      mvnw: '#!/bin/sh\nexec mvn "$@"\n',
      '.mvn/wrapper/maven-wrapper.properties': 'distributionUrl=https://repo.maven.apache.org/x.zip\n',
      'gradle/wrapper/gradle-wrapper.properties': 'distributionUrl=https://services.gradle.org/x.zip\n',
    };
    const SUMMARY = 'coverage/coverage-summary.json';
    const PACKAGE = '{"name":"agent","scripts":{"test":"node test.js"}}\n';

    async function gateCheckout(): Promise<GateCheckout> {
      const root = path.join(tmp, `case-${++n}`);
      const remote = remoteWith(root, base, (work) => chmodSync(path.join(work, 'mvnw'), 0o755));
      return checkout(remote, root, (wt) => writeFiles(wt, { 'src/app.js': 'module.exports = 1;\n' }), { overrides: { 'package.json': PACKAGE }, remove: [SUMMARY] });
    }

    it('puts back a rewritten package.json, .npmrc and a removed mvnw, and drops what a gate planted at a runner path or the coverage summary', async () => {
      const { dir, restore } = await gateCheckout();
      // What an agent's eslint config could do during the lint gate.
      writeFiles(dir, {
        'package.json': '{"scripts":{"test":"true"}}\n',
        '.npmrc': 'script-shell=./sh.sh\n',
        '.mvn/extensions.xml': '<extensions/>\n',
        gradlew: '#!/bin/sh\nexit 0\n',
        [SUMMARY]: '{"total":{}}',
        'src/app.js': 'module.exports = 2;\n',
      });
      rmSync(path.join(dir, 'mvnw'));

      const written = await restore();
      expect(read(dir, 'package.json')).toBe(PACKAGE);
      expect(read(dir, '.npmrc')).toBe(base['.npmrc']);
      expect(read(dir, 'mvnw')).toBe(base.mvnw);
      expect(lstatSync(path.join(dir, 'mvnw')).mode & 0o111).not.toBe(0);
      expect(read(dir, '.mvn/wrapper/maven-wrapper.properties')).toBe(base['.mvn/wrapper/maven-wrapper.properties']);
      for (const planted of ['.mvn/extensions.xml', 'gradlew', SUMMARY]) expect([planted, exists(dir, planted)]).toEqual([planted, false]);
      expect(read(dir, 'src/app.js')).toBe('module.exports = 2;\n'); // the rest is the gates' to change
      expect(written.sort()).toEqual(['.mvn', '.npmrc', 'gradle/wrapper', 'mvnw', 'package.json']); // what to hand to the sandbox user
      expect(readdirSync(dir).filter((e) => e.startsWith('.gate-aside'))).toEqual([]);
    });

    it('blocks on no FIFO named .gitattributes a gate left at the root or above a restored path (git reads those the index lacks)', async () => {
      const { dir, restore } = await gateCheckout();
      for (const fifo of ['.gitattributes', 'gradle/.gitattributes', '.mvn/.gitattributes']) execFileSync('mkfifo', [path.join(dir, fifo)]);
      writeFiles(dir, { '.npmrc': 'script-shell=./sh.sh\n' });

      const started = Date.now();
      await restore();
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(read(dir, '.npmrc')).toBe(base['.npmrc']);
      expect(read(dir, 'gradle/wrapper/gradle-wrapper.properties')).toBe(base['gradle/wrapper/gradle-wrapper.properties']);
      for (const fifo of ['.gitattributes', 'gradle/.gitattributes']) expect([fifo, exists(dir, fifo)]).toEqual([fifo, false]);
    }, 30_000);

    it('replaces a link to the host planted at gradle/, .mvn or coverage/ without writing or removing anything through it', async () => {
      const { dir, restore } = await gateCheckout();
      const outside = path.join(tmp, `outside-${n}`);
      writeFiles(outside, { 'wrapper/gradle-wrapper.properties': 'host\n', 'wrapper/maven-wrapper.properties': 'host\n', 'coverage-summary.json': 'host\n' });
      for (const link of ['gradle', '.mvn', 'coverage']) {
        rmSync(path.join(dir, link), { recursive: true, force: true });
        symlinkSync(outside, path.join(dir, link));
      }

      await restore();
      expect(lstatSync(path.join(dir, 'gradle')).isDirectory()).toBe(true);
      expect(read(dir, 'gradle/wrapper/gradle-wrapper.properties')).toBe(base['gradle/wrapper/gradle-wrapper.properties']);
      expect(lstatSync(path.join(dir, '.mvn')).isDirectory()).toBe(true);
      expect(read(dir, '.mvn/wrapper/maven-wrapper.properties')).toBe(base['.mvn/wrapper/maven-wrapper.properties']);
      expect(exists(dir, 'coverage')).toBe(false);
      expect(readdirSync(outside).sort()).toEqual(['coverage-summary.json', 'wrapper']);
      expect(readdirSync(path.join(outside, 'wrapper')).sort()).toEqual(['gradle-wrapper.properties', 'maven-wrapper.properties']);
      for (const file of ['coverage-summary.json', 'wrapper/gradle-wrapper.properties', 'wrapper/maven-wrapper.properties']) expect(read(outside, file)).toBe('host\n');
    });
  });

  it("the reaper removes a closed agent's gate index also when a crash left it without its checkout", async () => {
    const dir = path.join(tmp, `reap-${++n}`);
    const remote = createRemote(path.join(dir, 'remote'), { 'README.md': 'hi\n' });
    const workspaces = createGitWorkspaces(testDeps(path.join(dir, 'ws')));
    const ws = await workspaces.prepare({ agentId: AGENT, taskId: 'T-reap', repository: remote.url, baseBranch: 'main' });
    const staged = await workspaces.stagedTree(ws);
    if (!('tree' in staged)) throw new Error(staged.refused);
    const { dir: checkoutDir } = await workspaces.checkoutForGates(ws, AGENT, staged.tree);
    const index = path.join(dir, 'ws', 'gate-indexes', AGENT);
    expect(lstatSync(index).isFile()).toBe(true);
    rmSync(checkoutDir, { recursive: true, force: true }); // the crash: the checkout went, its index did not

    await workspaces.reap(async () => true);
    expect(readdirSync(path.join(dir, 'ws', 'gate-indexes'))).toEqual([]);
  });
});
