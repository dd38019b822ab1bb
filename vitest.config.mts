import { defineConfig } from "vitest/config";

// One config for every suite. test/support/firestore.ts gives each worker a Firestore: the
// real emulator when FIRESTORE_EMULATOR_HOST is set, else a local Firestore (tools/firestore) of its own.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/support/setup.ts"],
    pool: "forks",
    // The real emulator is shared by every worker, so files take turns clearing it.
    fileParallelism: !process.env.FIRESTORE_EMULATOR_HOST,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
