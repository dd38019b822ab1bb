import { defineConfig } from "vitest/config";

// Two projects: test/unit runs without a Firestore; every other suite gets one per worker from
// test/support/setup.ts (the real emulator when FIRESTORE_EMULATOR_HOST is set, else a local
// Firestore (tools/firestore) of its own).
export default defineConfig({
  test: {
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll waits for a condition (a page rendered, a notification shown); the timeout only
    // bounds a failure. Vitest's 1 s default is too short for Chromium on a busy 2-core machine.
    expect: { poll: { timeout: 15_000 } },
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          setupFiles: ["test/support/env.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "firestore",
          include: ["test/**/*.test.ts"],
          exclude: ["test/unit/**"],
          setupFiles: ["test/support/env.ts", "test/support/setup.ts"],
          // The real emulator is shared by every worker, so files take turns clearing it.
          fileParallelism: !process.env.FIRESTORE_EMULATOR_HOST,
        },
      },
    ],
  },
});
