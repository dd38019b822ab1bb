/**
 * tools/stack/persist.ts: what `npm start` saves is what it loads back, and reports saved before
 * their trigger ran are held back until the dispatcher can deliver them.
 */
import { GeoPoint, Timestamp } from "firebase-admin/firestore";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadDocuments, saveDocuments } from "../../tools/stack/persist";
import { embeddedAt } from "../../tools/stack/firestore";
import { PROJECT_ID, clearFirestore } from "../support/firestore";
import { testDb } from "../support/world";

const dir = mkdtempSync(path.join(os.tmpdir(), "washcall-persist-"));
const file = path.join(dir, "firestore.json");

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function server() {
  const s = embeddedAt(process.env.FIRESTORE_EMULATOR_HOST);
  if (!s) throw new Error("these tests need the local Firestore in this process");
  return s;
}

describe("local data persistence", () => {
  it.skipIf(!embeddedAt(process.env.FIRESTORE_EMULATOR_HOST))(
    "saves and restores every value type exactly, and holds back unapplied reports until replay",
    async () => {
      const db = testDb();
      const value = {
        s: "세탁기",
        n: 3,
        f: 0.5,
        b: true,
        z: null,
        t: Timestamp.fromMillis(1_794_790_800_123),
        g: new GeoPoint(37.5, 127),
        r: db.doc("rooms/1"),
        bytes: Buffer.from([1, 2, 3]),
        a: [1, "two", { three: 3 }],
        m: { nested: { deep: Timestamp.fromMillis(0) } },
      };
      await db.doc("machines/1").set(value);
      await db.doc("machines/1/reports/100-WASHING").set({ status: "WASHING", timestamp: 100 });
      await db.doc("idempotency/report-1-100-WASHING").set({ kind: "report" });
      await db.doc("machines/1/reports/200-FINISHED").set({ status: "FINISHED", timestamp: 200 });
      expect(await saveDocuments(db, server().backend.store, PROJECT_ID, file)).toBe(4);

      await clearFirestore();
      const loaded = await loadDocuments(db, file);
      expect(loaded.restored).toBe(3);
      expect((await db.doc("machines/1").get()).data()).toEqual(value);
      expect((await db.doc("machines/1/reports/100-WASHING").get()).exists).toBe(true);
      // Saved before its trigger applied it: not there until the dispatcher can deliver it.
      expect((await db.doc("machines/1/reports/200-FINISHED").get()).exists).toBe(false);
      expect(await loaded.replay()).toBe(1);
      expect((await db.doc("machines/1/reports/200-FINISHED").get()).data()).toEqual({
        status: "FINISHED",
        timestamp: 200,
      });
    },
  );

  it("loads nothing when there is no saved file", async () => {
    const loaded = await loadDocuments(testDb(), path.join(dir, "missing.json"));
    expect(loaded.restored).toBe(0);
    expect(await loaded.replay()).toBe(0);
  });
});
