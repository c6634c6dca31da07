import { defineConfig } from 'vitest/config';

/**
 * Files that load tfjs in-process and check or switch its process-wide state (the backend, the
 * first load) run each in a fresh worker; every other file shares its worker with the files before
 * it (isolate: false), which saves a fork and the re-import of tfjs/onnxruntime per file.
 */
const ISOLATED = ['test/model.test.ts', 'test/train.test.ts', 'test/train-backend.test.ts', 'test/train-onnx.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: run test files one or two at a time so onnxruntime's own threads are not starved.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'isolated', include: ISOLATED, isolate: true } },
      { extends: true, test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: ISOLATED, isolate: false } },
    ],
  },
});
