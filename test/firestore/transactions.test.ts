/**
 * Conformance: transactions isolate. Firestore serialises read-write transactions on the
 * documents they read (the SDK retries one that loses with ABORTED), so concurrent
 * read-modify-write never loses an update.
 */
import { FieldValue } from "firebase-admin/firestore";
import { describe, expect, it } from "vitest";
import { doc, runTransaction } from "firebase/firestore";
import { adminDb, clientDb, Waiter } from "./support";

describe("Firestore transactions", () => {
  it("serialises 20 concurrent read-modify-write transactions on one document (ends at 20)", async () => {
    const db = adminDb();
    const ref = db.doc("conformance-tx/counter");
    await ref.set({ n: 0 });
    await Promise.all(
      Array.from({ length: 20 }, () =>
        db.runTransaction(async (tx) => {
          const snap = await tx.get(ref);
          tx.update(ref, { n: (snap.get("n") as number) + 1 });
        }),
      ),
    );
    expect((await ref.get()).get("n")).toBe(20);
  });

  it("keeps the sum of two accounts under concurrent transfers in both directions", async () => {
    const db = adminDb();
    const a = db.doc("conformance-tx/a");
    const b = db.doc("conformance-tx/b");
    await a.set({ balance: 100 });
    await b.set({ balance: 100 });
    // Half lock a then b, half b then a: a deadlock unless the server breaks it.
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => {
        const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
        return db.runTransaction(async (tx) => {
          const [f, t] = await tx.getAll(from, to);
          tx.update(from, { balance: (f.get("balance") as number) - 5 });
          tx.update(to, { balance: (t.get("balance") as number) + 5 });
        });
      }),
    );
    const [fa, fb] = await db.getAll(a, b);
    expect(fa.get("balance") + fb.get("balance")).toBe(200);
    expect(fa.get("balance")).toBe(100);
  });

  it("loses no update when a plain write lands on a document a transaction has read", async () => {
    const db = adminDb();
    const ref = db.doc("conformance-tx/contended");
    await ref.set({ n: 1 });
    const outside: Promise<unknown>[] = [];
    await db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      // Not awaited: the plain write may wait for the transaction or make it retry.
      if (outside.length === 0) outside.push(ref.update({ n: FieldValue.increment(100) }));
      tx.update(ref, { n: (snap.get("n") as number) * 2 });
    });
    await Promise.all(outside);
    // Either order is serialisable: (1 * 2) + 100 or (1 + 100) * 2.
    expect([102, 202]).toContain((await ref.get()).get("n"));
  });

  it("reads a query inside a transaction and commits what it derived from it", async () => {
    const db = adminDb();
    const col = db.collection("conformance-tx-queue");
    await Promise.all([1, 2, 3].map((i) => col.doc(`e${i}`).set({ at: i, taken: false })));
    const taken = await Promise.all(
      [0, 1, 2].map(() =>
        db.runTransaction(async (tx) => {
          const first = await tx.get(col.where("taken", "==", false).orderBy("at").limit(1));
          const doc = first.docs[0];
          if (!doc) return null;
          tx.update(doc.ref, { taken: true });
          return doc.id;
        }),
      ),
    );
    // Three takers, three entries: each taken exactly once.
    expect([...taken].sort()).toEqual(["e1", "e2", "e3"]);
  });

  it("runs a read-only transaction while a read-write one holds the document", async () => {
    const db = adminDb();
    const ref = db.doc("conformance-tx/ro");
    await ref.set({ n: 7 });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let held = false;
    const writer = db.runTransaction(async (tx) => {
      await tx.get(ref);
      held = true;
      await gate;
      tx.update(ref, { n: 8 });
    });
    await new Waiter().until(() => held, "the read-write transaction's read");
    // Read-only transactions take no locks: this one finishes while the writer waits at the gate.
    const seen = await db.runTransaction((tx) => tx.get(ref), { readOnly: true });
    expect(seen.get("n")).toBe(7);
    release();
    await writer;
    expect((await ref.get()).get("n")).toBe(8);
  });

  it("frees a document when a transaction rolls back while one of its reads still waits for it", async () => {
    const db = adminDb();
    const a = db.doc("conformance-tx/wanted");
    const c = db.doc("conformance-tx/other");
    await a.set({ n: 1 });
    await c.set({ n: 1 });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let held = false;
    const first = db.runTransaction(async (tx) => {
      await tx.get(a);
      held = true;
      await gate;
      tx.update(a, { n: 2 });
    });
    await new Waiter().until(() => held, "the first transaction's read");
    // Reads `a` (queued behind the first), then gives up without waiting for that read.
    await expect(
      db.runTransaction(async (tx) => {
        await tx.get(c);
        void tx.get(a).catch(() => undefined);
        throw new Error("gave up");
      }),
    ).rejects.toThrow("gave up");
    release();
    await first;
    // Neither a plain write nor a new transaction may wait for the abandoned read.
    await a.update({ n: 3 });
    await db.runTransaction(async (tx) => {
      const s = await tx.get(a);
      tx.update(a, { n: (s.get("n") as number) + 1 });
    });
    expect((await a.get()).get("n")).toBe(4);
  });

  it("commits a client SDK transaction that read a document it does not write", async () => {
    const client = clientDb();
    try {
      const db = adminDb();
      await db.doc("conformance-tx/source").set({ n: 5 });
      await runTransaction(client.db, async (tx) => {
        const s = await tx.get(doc(client.db, "conformance-tx/source"));
        tx.set(doc(client.db, "conformance-tx/target"), { copied: s.data()?.n });
      });
      expect((await db.doc("conformance-tx/target").get()).data()).toEqual({ copied: 5 });
    } finally {
      await client.close();
    }
  });

  it("rejects a transaction callback's error without writing anything", async () => {
    const db = adminDb();
    const ref = db.doc("conformance-tx/failing");
    await expect(
      db.runTransaction(async (tx) => {
        await tx.get(ref);
        tx.set(ref, { written: true });
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect((await ref.get()).exists).toBe(false);
  });
});
