/** The Docker sandbox: one hardened container per agent; see docker-sandbox.ts. */
export { createDockerSandbox, type DockerSandbox } from './docker-sandbox';
export { DEFAULT_KEEP_ALIVE_COMMAND, deploymentOf, type SandboxConfig } from './config';
export { buildContainerSpec, containerNameFor, CONTAINER_WORKSPACE, LABELS } from './container-spec';
export type { StartSandboxInput, StopSandboxResult } from './container-lifecycle';
export { removeAgentContainers, type ManagedContainer, type IsAgentClosed } from './managed-containers';
export { DockerRunner, type DockerRunnerOptions } from './docker-runner';
export * from './errors';
export { BubblewrapRunner, findExecutable, probeBubblewrap, visibleSearchPath, type BubblewrapSettings } from './bubblewrap-runner';
export { createBubblewrapRuntime, createDockerRuntime, createUnsandboxedRuntime } from './runtime';
