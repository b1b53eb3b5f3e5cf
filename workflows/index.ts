/** Workflow entry point for the worker's bundle. */
export { agentRun, killSignal, statusQuery } from './agent-run';
