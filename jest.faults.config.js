/**
 * The load-and-fault suite (`npm run test:faults`): the whole system as compiled processes
 * on a PostgreSQL server the suite starts, crashes and restarts itself, so it needs no
 * global setup. Kept out of `npm test` (jest.config.js ignores test/faults/) because it
 * takes minutes and owns its processes. docs/operations.md, "Fault tests".
 * @type {import('jest').Config}
 */
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  roots: ['<rootDir>/test/faults'],
  testMatch: ['**/*.faults.spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: {
    '^@ledger/test-support$': '<rootDir>/test/support',
    '^@ledger/(.*)$': '<rootDir>/libs/$1/src',
  },
  testTimeout: 240_000,
  maxWorkers: 1,
};
