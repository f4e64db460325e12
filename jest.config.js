// ESM + SWC: Jest only strips types; `tsc --noEmit` (part of `npm test`) does the type-checking.
export default {
  testEnvironment: 'node',
  // Property tests against a real DynamoDB take seconds; on a loaded shared machine, Jest's 5 s default turns
  // slowness into failures (and a timed-out test keeps writing while the next one counts items).
  testTimeout: 60_000,
  // Jest's default is one worker per core but one: a single worker on a 2-core machine. The heavy files spend much of
  // their time waiting on other processes (the CLI, the AWS CLI, Chromium, a killed server's restart) and on dynalite's
  // I/O, and share nothing (each its own ports, tables and folders), so they run three at once even there: on 2 cores,
  // run alternately, the whole suite took 138 and 150 s with three workers, 150 and 162 s with two (four: no faster).
  maxWorkers: 3,
  // Starts the heavy files first when Jest has no times of its own from an earlier run (a fresh clone, as in CI).
  testSequencer: '<rootDir>/test/sequencer.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' } }],
  },
};
