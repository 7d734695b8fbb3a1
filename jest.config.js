/**
 * One Jest configuration for every tier. Unit specs (`*.unit.spec.ts`) need nothing;
 * integration and e2e specs (`*.int.spec.ts`, `*.e2e.spec.ts`) get a PostgreSQL server
 * from the global setup: TEST_DATABASE_URL when set, else an embedded one.
 * @type {import('jest').Config}
 */
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  roots: ['<rootDir>/libs', '<rootDir>/apps', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  // The load-and-fault suite has its own configuration and script (`npm run test:faults`).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/faults/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: {
    '^@ledger/test-support$': '<rootDir>/test/support',
    '^@ledger/(.*)$': '<rootDir>/libs/$1/src',
  },
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  testTimeout: 60_000,
  // Two cores: one worker per core keeps PostgreSQL and the tests from starving each other.
  maxWorkers: 2,
};
