/**
 * Helpers that build a small world for integration tests: the admin Firestore, the demo room
 * and machines, and direct calls into the handlers.
 */
import { getFirestore } from "firebase-admin/firestore";
import { getApps, initializeApp } from "firebase-admin/app";
import type { HttpRequest } from "../../functions/src/http/adapter";
import { seedDemo } from "../../functions/src/store/machines";
import { PROJECT_ID } from "./firestore";

export const TEST_MASTER_KEY = "test-master-key-0123456789abcdef";

export function testDb() {
  if (getApps().length === 0) initializeApp({ projectId: PROJECT_ID });
  return getFirestore();
}

export async function seedDemoWorld() {
  await seedDemo(testDb(), TEST_MASTER_KEY);
}

export function jsonRequest(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): HttpRequest {
  const raw =
    body === undefined
      ? undefined
      : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  return {
    method,
    path,
    headers: {
      "content-type": "application/json",
      ...(raw ? { "content-length": String(raw.length) } : {}),
      ...headers,
    },
    query: {},
    rawBody: raw,
  };
}

/** Every document in the database, path → data, for "nothing changed" assertions. */
export async function dumpDb(): Promise<Record<string, unknown>> {
  const db = testDb();
  const out: Record<string, unknown> = {};
  const walk = async (col: FirebaseFirestore.CollectionReference): Promise<void> => {
    const snap = await col.get();
    for (const d of snap.docs) {
      out[d.ref.path] = d.data();
    }
  };
  // listCollections() is not available on the embedded endpoint, so walk the known layout.
  const top = [
    "rooms",
    "machines",
    "cycles",
    "courseStats",
    "congestion",
    "machineCalibration",
    "deviceSecrets",
    "deviceRate",
    "idempotency",
    "users",
    "outbox",
    "queues",
  ];
  for (const name of top) await walk(db.collection(name));
  for (const sub of [
    "reports",
    "rawData",
    "notifications",
    "tokens",
    "watches",
    "watchers",
    "subscribers",
    "brokenReports",
    "brokenArchive",
  ]) {
    const snap = await db.collectionGroup(sub).get();
    for (const d of snap.docs) out[d.ref.path] = d.data();
  }
  return out;
}
