/** Sandbox settings, taken from the service configuration's SANDBOX_* variables. */
import type { Config } from '../../config';

export interface SandboxConfig {
  /** Image every agent container runs (built locally: no registry is reachable). */
  image: string;
  /** Memory limit; swap is disabled (MemorySwap = Memory). */
  memoryMb: number;
  cpus: number;
  pidsLimit: number;
  /** Size of the writable tmpfs at /tmp. */
  tmpfsMb: number;
  /** Docker network the container joins; `none` means no network at all. */
  network: string;
  /** How long `stop` waits after SIGTERM before Docker sends SIGKILL. */
  gracefulStopTimeoutSeconds: number;
  /**
   * The container's main process, which only keeps the container alive while commands run
   * through exec. Defaults to `sleep infinity`; tests replace it (e.g. one that ignores SIGTERM).
   */
  keepAliveCommand?: readonly string[];
}

export const DEFAULT_KEEP_ALIVE_COMMAND: readonly string[] = ['sleep', 'infinity'];

/** Maps the service configuration onto the sandbox's. */
export function sandboxConfigFrom(config: Config): SandboxConfig {
  return {
    image: config.SANDBOX_IMAGE,
    memoryMb: config.SANDBOX_MEMORY_MB,
    cpus: config.SANDBOX_CPUS,
    pidsLimit: config.SANDBOX_PIDS_LIMIT,
    tmpfsMb: config.SANDBOX_TMPFS_MB,
    network: config.SANDBOX_NETWORK || 'none',
    gracefulStopTimeoutSeconds: config.SANDBOX_GRACEFUL_STOP_TIMEOUT_SECONDS,
  };
}
