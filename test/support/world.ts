/**
 * Helpers that build a small world for integration tests: the admin Firestore, the demo room
 * and machines, and direct calls into the handlers.
 */
import { type Firestore, type QueryDocumentSnapshot, getFirestore } from "firebase-admin/firestore";
import { expect } from "vitest";
import { getApps, initializeApp } from "firebase-admin/app";
import { getAuth } from "firebase-admin/auth";
import { type Handler, type HttpRequest, runHandler } from "../../functions/src/http/adapter";
import type { ApiDeps } from "../../functions/src/http/apiRouter";
import { createApiHandler } from "../../functions/src/http/routes";
import { createDeviceHandler, createDeviceState } from "../../functions/src/http/deviceHandler";
import { type Settings, readSettings } from "../../functions/src/config";
import type { Invocation } from "../../functions/src/invocation";
import type { RoomQueue } from "../../functions/src/domain/queue";
import type { PushTransport } from "../../functions/src/services/fcm/transport";
import { readQueues } from "../../functions/src/store/queue";
import { handlePushCreated } from "../../functions/src/triggers/onPushCreated";
import { handleReportCreated } from "../../functions/src/triggers/onReportCreated";
import { seedDemo } from "../../tools/stack/seed";
import { PROJECT_ID, dumpEmbedded } from "./firestore";

export const TEST_MASTER_KEY = "test-master-key-0123456789abcdef";

export function testDb() {
  if (getApps().length === 0) initializeApp({ projectId: PROJECT_ID });
  return getFirestore();
}

/** The room's queue as stored (missing → empty). */
export async function readQueue(db: Firestore, roomId: string): Promise<RoomQueue> {
  return (await readQueues(db, [roomId])).get(roomId) ?? { entries: [] };
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

/**
 * Every document in the database, path → data, for "nothing changed" assertions: read from the
 * local Firestore's store in one step, or by walking listCollections() on the real emulator.
 */
export async function dumpDb(): Promise<Record<string, unknown>> {
  const embedded = dumpEmbedded();
  if (embedded) return embedded;
  const out: Record<string, unknown> = {};
  const walk = async (cols: FirebaseFirestore.CollectionReference[]): Promise<void> => {
    for (const col of cols) {
      for (const ref of await col.listDocuments()) {
        const snap = await ref.get();
        if (snap.exists) out[ref.path] = snap.data();
        await walk(await ref.listCollections());
      }
    }
  };
  await walk(await testDb().listCollections());
  return out;
}

/**
 * A demo machine's legacy `/update` (secret `demo-secret-<id>`) through the device handler,
 * received at `now`; expects 200 and returns the report id the trigger is delivered with.
 */
export async function postUpdate(
  now: number,
  machineId: number,
  status: string,
  timestamp: number,
  extra: object = {},
): Promise<string> {
  const res = await runHandler(
    "device",
    createDeviceHandler({
      db: testDb(),
      masterKey: TEST_MASTER_KEY,
      now: () => now,
      state: createDeviceState(testSettings().device),
    }),
    jsonRequest("POST", "/update", {
      machine_id: machineId,
      secret_key: `demo-secret-${machineId}`,
      status,
      timestamp,
      ...extra,
    }),
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return `${timestamp}-${status}`;
}

/** The settings every entry point would read here: the params' deployed defaults (test/support/env.ts). */
export function testSettings(over: Partial<Settings> = {}): Settings {
  return { ...readSettings(), ...over };
}

/** An invocation of any entry point at `now` on the test database. */
export function invocationAt(now: number, settings: Partial<Settings> = {}): Invocation {
  return { db: testDb(), now: () => now, settings: testSettings(settings) };
}

/** The `api` function on the test database and the Auth emulator, its clock read per request. */
export function apiAt(now: () => number, over: Partial<ApiDeps> = {}): Handler {
  return createApiHandler({
    db: testDb(),
    auth: getAuth(),
    now,
    version: "test",
    settings: testSettings(),
    ...over,
  });
}

/** The report trigger's delivery of `machines/{machineId}/reports/{reportId}`, as Eventarc makes it. */
export async function applyReportAt(now: number, machineId: string | number, reportId: string) {
  const params = { machineId: String(machineId), reportId };
  const snap = await testDb().doc(`machines/${params.machineId}/reports/${reportId}`).get();
  if (!snap.exists) throw new Error(`no report machines/${params.machineId}/reports/${reportId}`);
  return handleReportCreated({ params, data: snap as QueryDocumentSnapshot }, invocationAt(now));
}

/**
 * The push trigger's delivery of every push document still PENDING (as onPushCreated runs for
 * each created one), through `transport`, with the app at https://app.test; returns the outcomes
 * by push id.
 */
export async function deliverPushes(transport: PushTransport, now: number = Date.now()) {
  const pending = await testDb().collection("pushes").where("state", "==", "PENDING").get();
  const out = new Map<string, Awaited<ReturnType<typeof handlePushCreated>>>();
  for (const d of pending.docs) {
    out.set(
      d.id,
      await handlePushCreated(
        { params: { pushId: d.id } },
        invocationAt(now, { appUrl: "https://app.test" }),
        transport,
      ),
    );
  }
  return out;
}
