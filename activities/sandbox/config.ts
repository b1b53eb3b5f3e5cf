/** Sandbox settings; worker/wiring.ts fills them from the SANDBOX_* variables. */
export interface SandboxConfig {
  /** Image every agent container runs (built locally: no registry is reachable). */
  image: string;
  /** Memory limit; swap is disabled (MemorySwap = Memory). */
  memoryMb: number;
  cpus: number;
  pidsLimit: number;
  /** Size of the writable tmpfs at /tmp. */
  tmpfsMb: number;
  /** Largest file a command may write (RLIMIT_FSIZE, as bubblewrap's prlimit sets it): WORKSPACE_MAX_MB. */
  maxFileBytes?: number;
  /** Docker network the container joins; `none` means no network at all. */
  network: string;
  /** How long `stop` waits after SIGTERM before Docker sends SIGKILL. */
  gracefulStopTimeoutSeconds: number;
  /**
   * Which deployment the containers belong to (`<namespace>/<task queue>`, see deploymentOf):
   * set as a label, and the only containers the reaper and the killswitch ever remove.
   */
  deployment: string;
  /**
   * The worker host that owns the containers (label `orchestrator.host`, part of the name), so
   * hosts sharing one engine give a moved agent one container each; any host's reaper removes
   * those of a closed run.
   */
  hostId?: string;
  /**
   * The container's main process, which only keeps the container alive while commands run
   * through exec. Defaults to `sleep infinity`; tests replace it (e.g. one that ignores SIGTERM).
   */
  keepAliveCommand?: readonly string[];
}

export const DEFAULT_KEEP_ALIVE_COMMAND: readonly string[] = ['sleep', 'infinity'];

/** The deployment label value of a worker or API: its Temporal namespace and task queue. */
export function deploymentOf(config: { TEMPORAL_NAMESPACE: string; TEMPORAL_TASK_QUEUE: string }): string {
  return `${config.TEMPORAL_NAMESPACE}/${config.TEMPORAL_TASK_QUEUE}`;
}
