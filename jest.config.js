/** Unit tests sit beside the code; integration tests under test/ share one Temporal dev server and one redis-server started by scripts/test.sh. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  testMatch: ['<rootDir>/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/.tools/', '/.data/', '/dist/'],
  // A ceiling, not a speed check: real runs on 2 shared cores can take minutes when the machine is busy.
  testTimeout: 300000,
  maxWorkers: 2,
};
