/** Jest runs the TypeScript sources as ES modules (NestJS 12 ships only ESM). */
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  testEnvironment: 'node',
  setupFiles: ['reflect-metadata'],
};

export default {
  projects: [
    { ...common, displayName: 'unit', rootDir: '.', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', rootDir: '.', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
    // Against the real PostgreSQL and Redis (test/integration/services.ts says how they are found).
    { ...common, displayName: 'integration', rootDir: '.', testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'] },
    // Real Chromium (Debian's package) driving the app in process: test/browser/browser.ts finds it.
    { ...common, displayName: 'browser', rootDir: '.', testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'] },
    // Forgeries, Concur faults, crashes, a soak and shutdown under load (npm run test:reliability; built app in child processes).
    { ...common, displayName: 'reliability', rootDir: '.', testMatch: ['<rootDir>/test/reliability/**/*.reliability-spec.ts'] },
    // The Helm chart, rendered with helm 3.17 (obtained once by the globalSetup, see scripts/helm.mjs).
    {
      ...common,
      displayName: 'chart',
      rootDir: '.',
      testMatch: ['<rootDir>/test/chart/**/*.chart-spec.ts'],
      globalSetup: '<rootDir>/test/chart/global-setup.mjs',
    },
  ],
};
