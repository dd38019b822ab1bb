/**
 * Where the local Firestore (tools/firestore) knowingly differs from Firestore: each difference
 * pinned by a test of the local behaviour, with what Firestore does instead. These run only
 * against the local endpoint; the rest of test/firestore holds for both.
 */
import { initializeApp as initializeClientApp } from "firebase/app";
import { connectFirestoreEmulator, doc, getFirestore, setDoc, terminate } from "firebase/firestore";
import { Timestamp } from "firebase-admin/firestore";
import { describe, expect, it } from "vitest";
import { embeddedAt } from "../../tools/stack/firestore";
import { PROJECT_ID } from "../support/firestore";
import { adminDb, DATABASE, emulatorHost, isLocal, rawStream, ROOT, Waiter } from "./support";

function local() {
  const e = embeddedAt(process.env.FIRESTORE_EMULATOR_HOST);
  if (!e) throw new Error("the local Firestore is not in this process");
  return e.backend;
}

describe.runIf(isLocal())("known differences of the local Firestore", () => {
  it("does not evaluate security rules: a client write firestore.rules forbids succeeds (the emulator and Firestore deny it)", async () => {
    const app = initializeClientApp({ projectId: PROJECT_ID, apiKey: "fake" }, "rules-difference");
    const db = getFirestore(app);
    const { host, port } = emulatorHost();
    connectFirestoreEmulator(db, host, port);
    try {
      // firestore.rules: clients never write; machines are written by the functions only.
      await setDoc(doc(db, "machines/not-allowed"), { status: "FINISHED" });
      expect((await adminDb().doc("machines/not-allowed").get()).data()).toEqual({
        status: "FINISHED",
      });
    } finally {
      await terminate(db);
    }
  });

  it("locks documents a transaction reads exclusively: a second reader waits (Firestore shares read locks until commit)", async () => {
    const db = adminDb();
    const ref = db.doc("known-diff/locked");
    await ref.set({ n: 1 });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let firstRead = false;
    const first = db.runTransaction(async (tx) => {
      await tx.get(ref);
      firstRead = true;
      await gate;
    });
    const waiter = new Waiter();
    await waiter.until(() => firstRead, "the first transaction's read");
    let secondDone = false;
    const second = db.runTransaction((tx) => tx.get(ref)).then(() => (secondDone = true));
    await waiter.until(
      () => local().locks.waitingFor(`${ROOT}/known-diff/locked`) === 1,
      "the second reader to queue",
    );
    expect(secondDone).toBe(false);
    release();
    await first;
    await second;
    expect(secondDone).toBe(true);
  });

  it("locks the documents a transactional query returned, not its range: an insert into the range is not held back (Firestore would)", async () => {
    const db = adminDb();
    const col = db.collection("known-diff-range");
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let attempts = 0;
    let queried = false;
    const tx = db.runTransaction(async (t) => {
      attempts += 1;
      const snap = await t.get(col.where("open", "==", true));
      queried = true;
      await gate;
      t.set(db.doc("known-diff/summary"), { open: snap.size });
    });
    await new Waiter().until(() => queried, "the transaction's query");
    // Lands at once, inside the range the open transaction read as empty.
    await col.doc("late").set({ open: true });
    release();
    await tx;
    expect(attempts).toBe(1);
    expect((await db.doc("known-diff/summary").get()).get("open")).toBe(0);
  });

  it("refuses reads at a past read time with FAILED_PRECONDITION (Firestore keeps an hour of versions)", async () => {
    await adminDb().doc("known-diff/versioned").set({ n: 1 });
    const past = Timestamp.fromMillis(Date.now() - 60_000);
    const { code } = await rawStream("BatchGetDocuments", {
      database: DATABASE,
      documents: [`${ROOT}/known-diff/versioned`],
      readTime: { seconds: past.seconds, nanos: past.nanoseconds },
    });
    expect(code).toBe(9);
  });

  it("answers a query's explain with UNIMPLEMENTED (Firestore returns the plan and statistics)", async () => {
    const { code } = await rawStream("RunQuery", {
      parent: ROOT,
      structuredQuery: { from: [{ collectionId: "known-diff" }] },
      explainOptions: { analyze: false },
    });
    expect(code).toBe(12);
  });
});
