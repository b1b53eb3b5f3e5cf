/** Unit tests sit beside the code; integration tests under test/ share one Temporal dev server and one redis-server started by scripts/test.sh. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  testMatch: ['<rootDir>/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/.tools/', '/.data/', '/dist/'],
  testTimeout: 120000,
  maxWorkers: 2,
};
