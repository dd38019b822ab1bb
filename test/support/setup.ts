/**
 * Runs before every test file: a Firestore for this worker, the demo project id, and a clean
 * database before each test. Pure unit tests pay only the (cheap) start of the endpoint.
 */
import { beforeEach } from "vitest";
import "../../functions/src/config";
import { applyParamDefaults } from "../../functions/src/paramDefaults";
import { PROJECT_ID, clearFirestore, ensureFirestore } from "./firestore";

process.env.GCLOUD_PROJECT = PROJECT_ID;
process.env.GOOGLE_CLOUD_PROJECT = PROJECT_ID;
process.env.PUSH_TRANSPORT = "outbox";
applyParamDefaults();
await ensureFirestore();

beforeEach(async () => {
  await clearFirestore();
});
