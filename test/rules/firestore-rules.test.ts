/**
 * Security rules, evaluated by the real Firestore emulator only: the local Firestore
 * (tools/firestore) does not evaluate rules. Run with `npm run test:emulators` (Java 21 and the
 * emulator download), or with FIRESTORE_EMULATOR_HOST pointing at a running emulator (e.g.
 * gcloud's); under plain `npm test` the suite is reported as skipped, with the reason in its name.
 */
import {
  type RulesTestEnvironment,
  assertFails,
  assertSucceeds,
  initializeTestEnvironment,
} from "@firebase/rules-unit-testing";
import { doc, getDoc, setDoc, updateDoc, deleteDoc } from "firebase/firestore";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, it } from "vitest";
import { embeddedAt } from "../../tools/stack/firestore";

const realEmulator =
  !!process.env.FIRESTORE_EMULATOR_HOST && embeddedAt(process.env.FIRESTORE_EMULATOR_HOST) === null;

describe.skipIf(!realEmulator)(
  "firestore.rules (needs the real Firestore emulator: npm run test:emulators)",
  () => {
    let env: RulesTestEnvironment;

    beforeAll(async () => {
      const [host, port] = (process.env.FIRESTORE_EMULATOR_HOST ?? "").split(":");
      env = await initializeTestEnvironment({
        projectId: "demo-washcall",
        firestore: {
          rules: readFileSync(path.join(__dirname, "..", "..", "firestore.rules"), "utf8"),
          host,
          port: Number(port),
        },
      });
    });

    beforeEach(async () => {
      await env.clearFirestore();
      await env.withSecurityRulesDisabled(async (ctx) => {
        const db = ctx.firestore();
        await setDoc(doc(db, "rooms/1"), { name: "1번 세탁실", timers: {} });
        await setDoc(doc(db, "machines/1"), { roomId: "1", status: "OFF" });
        await setDoc(doc(db, "machines/1/reports/1-WASHING"), { status: "WASHING" });
        await setDoc(doc(db, "congestion/1"), { w0h09: 1 });
        await setDoc(doc(db, "users/alice"), { unreadCount: 1 });
        await setDoc(doc(db, "users/alice/notifications/n1"), { title: "세탁 완료!" });
        await setDoc(doc(db, "cycles/1-1"), { machineId: "1" });
        await setDoc(doc(db, "deviceSecrets/1"), { ciphertext: "x" });
        await setDoc(doc(db, "idempotency/report-1-1"), { kind: "report" });
        await setDoc(doc(db, "provisioning/1"), { secret_key: "shown-once" });
        await setDoc(doc(db, "admins/root"), { email: "root@example.com" });
      });
    });

    afterAll(async () => {
      await env?.cleanup();
    });

    it("lets signed-in users read rooms, machines and congestion", async () => {
      const db = env.authenticatedContext("bob").firestore();
      await assertSucceeds(getDoc(doc(db, "rooms/1")));
      await assertSucceeds(getDoc(doc(db, "machines/1")));
      await assertSucceeds(getDoc(doc(db, "congestion/1")));
    });

    it("refuses every read to signed-out visitors", async () => {
      const db = env.unauthenticatedContext().firestore();
      await assertFails(getDoc(doc(db, "rooms/1")));
      await assertFails(getDoc(doc(db, "machines/1")));
      await assertFails(getDoc(doc(db, "congestion/1")));
    });

    it("lets a user read only their own users/{uid} subtree", async () => {
      const alice = env.authenticatedContext("alice").firestore();
      const bob = env.authenticatedContext("bob").firestore();
      await assertSucceeds(getDoc(doc(alice, "users/alice")));
      await assertSucceeds(getDoc(doc(alice, "users/alice/notifications/n1")));
      await assertFails(getDoc(doc(bob, "users/alice")));
      await assertFails(getDoc(doc(bob, "users/alice/notifications/n1")));
    });

    it("keeps server-only data unreadable, even to admins", async () => {
      const admin = env.authenticatedContext("root", { admin: true }).firestore();
      for (const p of [
        "cycles/1-1",
        "deviceSecrets/1",
        "idempotency/report-1-1",
        "machines/1/reports/1-WASHING",
        "provisioning/1",
        "admins/root",
      ]) {
        await assertFails(getDoc(doc(admin, p)));
      }
    });

    it("refuses every client write, including to one's own documents", async () => {
      const alice = env.authenticatedContext("alice", { admin: true }).firestore();
      await assertFails(setDoc(doc(alice, "rooms/2"), { name: "x" }));
      await assertFails(updateDoc(doc(alice, "machines/1"), { status: "FINISHED" }));
      await assertFails(updateDoc(doc(alice, "users/alice"), { unreadCount: 0 }));
      await assertFails(deleteDoc(doc(alice, "users/alice/notifications/n1")));
      await assertFails(setDoc(doc(alice, "congestion/1"), { w0h09: 99 }));
      // The console's admin documents are console-only too: no client grants itself admin.
      await assertFails(setDoc(doc(alice, "admins/alice"), { email: "a@example.com" }));
      await assertFails(setDoc(doc(alice, "provisioning/1"), { rotate: true }));
    });
  },
);
