/** Bubblewrap settings for tests and benchmarks on this host: the real bwrap and prlimit, uid 1000 as the sandbox user. */
import { findExecutable, type BubblewrapSettings } from '../../activities/sandbox/bubblewrap-runner';

export function localBubblewrapSettings(overrides: Partial<BubblewrapSettings> = {}): BubblewrapSettings {
  return {
    bwrapPath: findExecutable('bwrap') ?? 'bwrap',
    prlimitPath: findExecutable('prlimit') ?? 'prlimit',
    tmpfsMb: 16,
    network: 'none',
    readOnlyPaths: [],
    hostUser: { uid: 1000, gid: 1000 },
    maxProcesses: 256,
    maxUserProcesses: 4096,
    maxFileBytes: 8 * 1024 * 1024,
    ...overrides,
  };
}
