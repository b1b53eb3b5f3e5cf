/**
 * Agent commands in a namespace sandbox (bubblewrap), for hosts without Docker. Each command
 * gets a fresh sandbox that lives exactly as long as the command:
 *
 * - its own user, pid, network, ipc, uts and cgroup namespaces: uid 1000 inside, no process of
 *   the host visible (so no /proc/<worker>/environ), only a loopback interface, no nested
 *   user namespaces;
 * - a read-only file system: /usr (plus configured read-only paths), a fresh /proc, /dev and the
 *   root itself; size-limited tmpfs at /tmp and /dev/shm, the worktree at /workspace (read-only for reviewers), and, for
 *   an agent's own commands, its home at /home/agent (host/agent-homes.ts): the only writable
 *   mounts, the home so tool caches last from one command to the next;
 * - an empty environment: bwrap itself is started with none, so not even its own init
 *   (pid 1 inside, which keeps bwrap's environment) carries a variable of the worker's; the
 *   command gets PATH, HOME (/home/agent, or /tmp for a gate), LANG, TERM and CI;
 * - when the worker runs as root, bwrap runs as the sandbox user, so even the sandbox's own
 *   files on the host belong to that user; a file-size limit keeps one file from filling the disk;
 * - a pids cgroup of its own (pids-cgroups.ts) bounds its processes: bwrap's sandbox child is moved
 *   into it by the launcher while it waits, before it starts the command (host/cgroup-join.cjs), so
 *   every process of the command is born in it. Without one (no usable cgroup: the probe warns)
 *   RLIMIT_NPROC bounds the processes, but per host uid, which every sandbox shares.
 *
 * bwrap dies with its parent and takes every process in its pid namespace with it, so a stop
 * (timeout, cancellation, a crashed worker) leaves nothing behind, background processes included.
 */
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { SANDBOX_HOME } from '../host/agent-homes';
import { resolveInside } from '../host/paths';
import { BLOCK_FD, INFO_FD, JOIN_FAILED } from '../host/cgroup-join.cjs';
import { runProcessGroup } from '../host/process-group';
import { OutputBuffer } from '../tools/output-buffer';
import { processRunResult, type CommandRunner, type RunOptions, type RunResult } from '../tools/runner';
import { SandboxCommandFailedError, SandboxInvalidInputError } from './errors';
import type { SandboxCgroups } from './pids-cgroups';
import { BUBBLEWRAP_SYSTEM_FILES, BUBBLEWRAP_USR } from '../../domain/sandbox-mounts';

export const SANDBOX_WORKSPACE = '/workspace';

export interface BubblewrapSettings {
  /** Absolute paths of bwrap and prlimit (see findExecutable): the sandbox starts with no PATH. */
  bwrapPath: string;
  prlimitPath: string;
  /** Size of /tmp inside. */
  tmpfsMb: number;
  /** `none` (loopback only) or `host` (share the worker's network). */
  network: 'none' | 'host';
  /** Host paths mounted read-only at the same place (tool chains outside /usr). */
  readOnlyPaths: readonly string[];
  /**
   * Directories searched after the standard ones (tool chains such as /usr/local/go/bin); see
   * visibleSearchPath. Default: none.
   */
  extraPath?: readonly string[];
  /**
   * The host user bwrap runs as when the worker is root; the worktree must belong to it. Ignored
   * when the worker is not root, and when unset (bwrap then runs as the worker's own user, and the
   * sandbox's uid 1000 is that user on the host).
   */
  hostUser?: { uid: number; gid: number };
  /** Processes one sandbox may have: its pids cgroup's pids.max (SANDBOX_PIDS_LIMIT). */
  maxProcesses: number;
  /**
   * Where each command's pids cgroup is made; set by the runtime's probe when this host allows it
   * (runtime.ts). Without it the fallback is RLIMIT_NPROC = maxUserProcesses for the host user,
   * which all sandboxes share.
   */
  cgroups?: SandboxCgroups;
  /** The fallback's limit (RLIMIT_NPROC), applied only when bwrap runs as hostUser and there is no cgroup. */
  maxUserProcesses: number;
  /** Largest file a command may write (RLIMIT_FSIZE). */
  maxFileBytes: number;
}

export interface BubblewrapMount {
  /** Host directory mounted at /workspace. */
  hostPath: string;
  readOnly: boolean;
  /** The agent's home on the host, created on first use and mounted at /home/agent; without one HOME is /tmp. */
  home?: () => Promise<string>;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SANDBOX_PATH = '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin';
/** System files with nothing secret that common tools need (/etc/alternatives: awk, editor, java...). */
const SYSTEM_READ_ONLY = BUBBLEWRAP_SYSTEM_FILES;
/**
 * What Debian's Maven and OpenJDK under /usr read from /etc, or they do not start: a Maven
 * project's gates died with "NoSuchFileException: /usr/share/maven/bin/m2.conf" (a link to
 * /etc/maven/m2.conf), taken for the agent's failure. Not /etc/maven/settings.xml: Maven's global
 * settings can hold repository passwords.
 */
const TOOL_CONFIG = ['/etc/maven/m2.conf', '/etc/maven/logging', ...javaConfigDirs()];

/**
 * What is in /etc/java-<version>-openjdk (the JDK's conf/, security and TLS settings included,
 * links there), but its `management/`: JMX's password file lives there.
 */
function javaConfigDirs(): string[] {
  try {
    return readdirSync('/etc')
      .filter((name) => /^java-\d+-openjdk$/.test(name))
      .flatMap((name) => readdirSync(`/etc/${name}`).filter((entry) => entry !== 'management').map((entry) => `/etc/${name}/${entry}`));
  } catch {
    return [];
  }
}

/**
 * With the host's network, how the host resolves names: without them the network was there but no
 * name resolved ("Unknown host repo.maven.apache.org", npm's EAI_AGAIN), so SANDBOX_NETWORK=host
 * reached only addresses. Nothing secret in them.
 */
const NAME_RESOLUTION_FILES = ['/etc/resolv.conf', '/etc/hosts', '/etc/nsswitch.conf', '/etc/host.conf', '/etc/gai.conf'] as const;

export class BubblewrapRunner implements CommandRunner {
  readonly workspaceDir = SANDBOX_WORKSPACE;
  private readonly shell = existsSync('/usr/bin/bash') ? '/usr/bin/bash' : '/bin/sh';
  private home: Promise<string> | undefined;

  constructor(
    private readonly settings: BubblewrapSettings,
    private readonly mount: BubblewrapMount,
  ) {}

  async run(command: string, options: RunOptions): Promise<RunResult> {
    const started = Date.now();
    const output = new OutputBuffer(options.maxOutputBytes);
    const asUser = process.getuid?.() === 0 ? this.settings.hostUser : undefined;
    // Made once per runner (one tool batch), not before every command of it.
    this.home ??= this.mount.home?.();
    const home = await this.home;
    const cgroups = this.settings.cgroups;
    const group = cgroups ? await cgroups.make(this.settings.maxProcesses).catch((err: Error) => {
      throw new SandboxCommandFailedError(`cannot make the command's pids cgroup: ${err.message}`);
    }) : undefined;
    try {
      const sandbox = bubblewrapCommand(this.settings, this.mount, {
        command: [this.shell, '-c', command],
        cwd: resolveInside(SANDBOX_WORKSPACE, options.cwd ?? '.'),
        env: sandboxEnv(options.env, this.settings.extraPath ?? [], home ? SANDBOX_HOME : '/tmp'),
        limitProcesses: asUser !== undefined && !group,
        joinsCgroup: group !== undefined,
        ...(home ? { home } : {}),
      });
      const run = await runProcessGroup(sandbox.file, sandbox.args, {
        env: {}, // bwrap and its init inside inherit nothing
        user: asUser,
        ...(group ? { cgroup: group } : {}),
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        onProgress: options.onProgress,
        onOutput: (chunk) => output.push(chunk),
        killGroupOnExit: true,
      }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== JOIN_FAILED) throw err;
        throw new SandboxCommandFailedError(`${err.message}; the command did not run`);
      });
      return processRunResult(run, output, started);
    } finally {
      // One that is still busy is left to the reaper's sweep.
      if (group) await cgroups!.remove(group);
    }
  }
}

/** The argv that runs `command` in a sandbox over `mount` (prlimit, then bwrap); pure, so it can be read and tested. */
export function bubblewrapCommand(
  settings: BubblewrapSettings,
  mount: BubblewrapMount,
  run: { command: readonly string[]; cwd: string; env: Record<string, string>; limitProcesses: boolean; joinsCgroup?: boolean; home?: string },
): { file: string; args: string[] } {
  if (!path.isAbsolute(mount.hostPath)) throw new SandboxInvalidInputError(`workspace path ${JSON.stringify(mount.hostPath)} is not absolute`);
  if (run.home !== undefined && !path.isAbsolute(run.home)) throw new SandboxInvalidInputError(`home path ${JSON.stringify(run.home)} is not absolute`);
  const bwrap = settings.bwrapPath;
  const limits = [`--fsize=${settings.maxFileBytes}`, '--core=0', ...(run.limitProcesses ? [`--nproc=${settings.maxUserProcesses}`] : [])];
  const args: string[] = [
    ...limits,
    '--',
    bwrap,
    '--unshare-all',
    '--unshare-user',
    ...(settings.network === 'host' ? ['--share-net'] : []),
    '--disable-userns',
    '--die-with-parent',
    '--new-session',
    // The launcher moves the sandbox into its pids cgroup while it waits on fd 4 (host/cgroup-join.cjs).
    ...(run.joinsCgroup ? ['--info-fd', String(INFO_FD), '--block-fd', String(BLOCK_FD)] : []),
    '--uid', '1000',
    '--gid', '1000',
    '--hostname', 'sandbox',
    '--ro-bind', BUBBLEWRAP_USR, BUBBLEWRAP_USR,
    '--symlink', 'usr/bin', '/bin',
    '--symlink', 'usr/sbin', '/sbin',
    '--symlink', 'usr/lib', '/lib',
    ...(existsSync('/usr/lib64') ? ['--symlink', 'usr/lib64', '/lib64'] : []),
    // /tmp first: a read-only path below it (a tool chain in /tmp/...) is mounted on top, not hidden.
    '--size', String(settings.tmpfsMb * 1024 * 1024),
    '--tmpfs', '/tmp',
    ...[...SYSTEM_READ_ONLY, ...TOOL_CONFIG].flatMap((p) => ['--ro-bind-try', p, p]),
    ...(settings.network === 'host' ? NAME_RESOLUTION_FILES.flatMap((p) => ['--ro-bind-try', p, p]) : []),
    ...settings.readOnlyPaths.flatMap((p) => ['--ro-bind-try', p, p]),
    '--proc', '/proc',
    // bwrap's /dev, as its root, is a tmpfs of half the host's memory, writable inside: a command
    // could hold gigabytes of the host's RAM there, past every budget. Both are made read-only
    // (the root last, once every mount point is made), /dev/shm (POSIX shared memory, Python's
    // multiprocessing) a tmpfs of /tmp's size.
    '--dev', '/dev',
    '--size', String(settings.tmpfsMb * 1024 * 1024),
    '--tmpfs', '/dev/shm',
    '--remount-ro', '/dev',
    mount.readOnly ? '--ro-bind' : '--bind', mount.hostPath, SANDBOX_WORKSPACE,
    ...(run.home !== undefined ? ['--bind', run.home, SANDBOX_HOME] : []),
    '--remount-ro', '/',
    '--chdir', run.cwd,
    '--clearenv',
    ...Object.entries(run.env).flatMap(([name, value]) => ['--setenv', name, value]),
    '--',
    ...run.command,
  ];
  return { file: settings.prlimitPath, args };
}

/** The command's whole environment: fixed variables plus the caller's (never secrets). */
function sandboxEnv(extra: Record<string, string> | undefined, extraPath: readonly string[], home: string): Record<string, string> {
  for (const name of Object.keys(extra ?? {})) {
    if (!ENV_NAME.test(name)) throw new SandboxInvalidInputError(`invalid environment variable name ${JSON.stringify(name)}`);
  }
  return { PATH: [SANDBOX_PATH, ...extraPath].join(':'), HOME: home, LANG: 'C.UTF-8', TERM: 'dumb', CI: 'true', GIT_TERMINAL_PROMPT: '0', ...extra };
}

/**
 * The worker's PATH entries that exist inside the sandbox too (below /usr or a read-only path),
 * minus the standard ones: a tool chain installed in /usr/local/go/bin, or in a directory the
 * operator mounted with SANDBOX_READONLY_PATHS, is found by name in the sandbox as on the host.
 */
export function visibleSearchPath(hostPath: string | undefined, readOnlyPaths: readonly string[]): string[] {
  const standard = new Set(SANDBOX_PATH.split(':'));
  const visible = (dir: string) => ['/usr', ...readOnlyPaths].some((root) => dir === root || dir.startsWith(`${root.replace(/\/+$/, '')}/`));
  const dirs = (hostPath ?? '').split(':').map((d) => path.normalize(d).replace(/(.)\/+$/, '$1')).filter((d) => path.isAbsolute(d) && !standard.has(d) && visible(d));
  return [...new Set(dirs)];
}

/** The absolute path of `name` in the worker's PATH, or undefined. */
export function findExecutable(name: string, searchPath = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'): string | undefined {
  for (const dir of searchPath.split(':').filter((d) => path.isAbsolute(d))) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Runs one command in a sandbox over `probeDir` and checks what it saw: the worker refuses to
 * start when the namespace sandbox does not work here (no bwrap, user namespaces disabled).
 */
export async function probeBubblewrap(settings: BubblewrapSettings, probeDir: string): Promise<void> {
  const runner = new BubblewrapRunner(settings, { hostPath: probeDir, readOnly: true });
  const res = await runner.run('echo "uid=$(id -u) pid=$$"', { timeoutMs: 30_000, maxOutputBytes: 4096 });
  if (res.exitCode !== 0 || !/uid=1000 pid=\d+/.test(res.output)) {
    throw new Error(`the bubblewrap sandbox does not work on this host (exit ${res.exitCode}): ${res.output.trim().slice(0, 500)}`);
  }
}
