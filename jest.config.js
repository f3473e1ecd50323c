/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
  testTimeout: 180_000,
  // One suite at a time: the local-model suite saturates both cores, and workflow tests depend on
  // heartbeats and timers; running suites side by side on 2 cores made them starve each other.
  maxWorkers: 1,
  // In band, one handle left open by any suite (a worker thread, a child process, a gRPC retry timer)
  // would keep jest alive after the last result; CI must end when the tests do.
  forceExit: true,
};
