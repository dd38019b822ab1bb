/**
 * Runs before every test file that uses Firestore (every suite but test/unit): a Firestore for
 * this worker and a clean database before each test.
 */
import { beforeEach } from "vitest";
import { clearFirestore, ensureFirestore } from "./firestore";

await ensureFirestore();

beforeEach(async () => {
  await clearFirestore();
});
