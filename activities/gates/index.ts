/** Quality gates: profiles, gate definitions, the gate runner, agent feedback and the coordinator client. */
export * from './errors';
export * from './profiles';
export * from './definitions';
export * from './coverage';
export * from './coverage-formats';
export * from './ecosystems';
export * from './availability';
export * from './output-tail';
export * from './run-gates';
export * from './feedback';
export * from './coordinator-client';
