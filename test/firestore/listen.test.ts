/**
 * Conformance: Listen. One stream carries many targets, added and removed over its life; each
 * target gets its documents, CURRENT and a global snapshot; later commits reach every target
 * they touch, deletes included; a target resumed with its token ends where the data is.
 */
import {
  collection,
  doc,
  onSnapshot,
  query,
  where,
  type DocumentSnapshot,
  type QuerySnapshot,
} from "firebase/firestore";
import { afterEach, describe, expect, it } from "vitest";
import {
  adminDb,
  clientDb,
  clientView,
  globalSnapshotAfter,
  rawListen,
  ROOT,
  Waiter,
} from "./support";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("Firestore Listen", () => {
  it("gives a Node client with five listeners every listener's snapshots, deletes included", async () => {
    const client = clientDb();
    cleanups.push(client.close);
    const waiter = new Waiter();
    const latest = new Map<string, unknown>();
    const unsubs = [1, 2, 3, 4].map((i) =>
      onSnapshot(doc(client.db, `conformance-listen/m${i}`), (s: DocumentSnapshot) => {
        latest.set(`m${i}`, s.exists() ? s.data() : "missing");
        waiter.signal();
      }),
    );
    unsubs.push(
      onSnapshot(
        query(collection(client.db, "conformance-listen"), where("state", "==", "RUNNING")),
        (s: QuerySnapshot) => {
          latest.set("running", s.docs.map((d) => d.id).sort());
          waiter.signal();
        },
      ),
    );
    cleanups.push(() => unsubs.forEach((u) => u()));
    await waiter.until(() => latest.size === 5, "five first snapshots");
    expect([...latest.values()].slice(0, 4)).toEqual(["missing", "missing", "missing", "missing"]);

    const db = adminDb();
    for (const i of [1, 2, 3, 4]) {
      await db.doc(`conformance-listen/m${i}`).set({ state: i % 2 ? "RUNNING" : "IDLE" });
    }
    await waiter.until(
      () =>
        (latest.get("m4") as { state?: string })?.state === "IDLE" &&
        (latest.get("running") as string[]).length === 2,
      "every listener to see the writes",
    );
    expect(latest.get("m1")).toEqual({ state: "RUNNING" });
    expect(latest.get("m2")).toEqual({ state: "IDLE" });
    expect(latest.get("running")).toEqual(["m1", "m3"]);

    await db.doc("conformance-listen/m3").delete();
    await waiter.until(() => latest.get("m3") === "missing", "the delete");
    await waiter.until(
      () => (latest.get("running") as string[]).length === 1,
      "the query to drop m3",
    );
    expect(latest.get("running")).toEqual(["m1"]);
  });

  it("keeps the other listeners of a stream live after one unsubscribes", async () => {
    const client = clientDb();
    cleanups.push(client.close);
    const waiter = new Waiter();
    const seen = { a: [] as unknown[], b: [] as unknown[] };
    const stopA = onSnapshot(doc(client.db, "conformance-listen/a"), (s) => {
      seen.a.push(s.data()?.v ?? null);
      waiter.signal();
    });
    const stopB = onSnapshot(doc(client.db, "conformance-listen/b"), (s) => {
      seen.b.push(s.data()?.v ?? null);
      waiter.signal();
    });
    cleanups.push(stopB);
    await waiter.until(() => seen.a.length === 1 && seen.b.length === 1, "first snapshots");
    stopA();
    const db = adminDb();
    await db.doc("conformance-listen/a").set({ v: 1 });
    await db.doc("conformance-listen/b").set({ v: 2 });
    await waiter.until(() => seen.b.at(-1) === 2, "b's change");
    expect(seen.b).toEqual([null, 2]);
  });

  it("answers each added target with ADD, its documents, CURRENT and a global snapshot", async () => {
    const db = adminDb();
    await db.doc("conformance-raw/x").set({ v: 1 });
    const stream = rawListen();
    cleanups.push(stream.close);
    stream.add(2, {
      documents: { documents: [`${ROOT}/conformance-raw/x`, `${ROOT}/conformance-raw/none`] },
    });
    await stream.waiter.until(() => globalSnapshotAfter(stream.messages) >= 0, "a global snapshot");
    const types = stream.messages.map((m) =>
      m.targetChange
        ? (m.targetChange.targetChangeType ?? "NO_CHANGE")
        : m.documentChange
          ? "DOC"
          : "OTHER",
    );
    const add = types.indexOf("ADD");
    const docAt = types.indexOf("DOC");
    const current = types.indexOf("CURRENT");
    expect(add).toBeGreaterThanOrEqual(0);
    expect(docAt).toBeGreaterThan(add);
    expect(current).toBeGreaterThan(docAt);
    expect(globalSnapshotAfter(stream.messages)).toBeGreaterThan(current);
    expect(stream.messages[current].targetChange!.targetIds).toEqual([2]);
    expect(clientView(stream.messages).get(2)).toEqual(
      new Map([[`${ROOT}/conformance-raw/x`, expect.anything()]]),
    );

    // A second target on the same stream, then a write that touches both.
    stream.add(4, {
      query: {
        parent: ROOT,
        structuredQuery: { from: [{ collectionId: "conformance-raw" }] },
      },
    });
    await stream.waiter.until(
      () =>
        stream.messages.some(
          (m) =>
            m.targetChange?.targetChangeType === "CURRENT" && m.targetChange.targetIds?.[0] === 4,
        ),
      "the second target's CURRENT",
    );
    const mark = stream.messages.length;
    await db.doc("conformance-raw/x").set({ v: 2 });
    await stream.waiter.until(
      () => globalSnapshotAfter(stream.messages, mark) >= 0,
      "a snapshot after the write",
    );
    // One message naming both targets, or one per target: both are Firestore.
    const reached = stream.messages.slice(mark).flatMap((m) => m.documentChange?.targetIds ?? []);
    expect([...new Set(reached)].sort()).toEqual([2, 4]);

    // Removing target 2: later writes reach target 4 only.
    stream.remove(2);
    await stream.waiter.until(
      () => stream.messages.some((m) => m.targetChange?.targetChangeType === "REMOVE"),
      "REMOVE",
    );
    const mark2 = stream.messages.length;
    await db.doc("conformance-raw/x").delete();
    await stream.waiter.until(
      () => globalSnapshotAfter(stream.messages, mark2) >= 0,
      "a snapshot after the delete",
    );
    // Target 4 no longer holds the document (told by a delete, or by RESET and a full set);
    // the removed target 2 hears nothing more.
    expect(clientView(stream.messages).get(4)?.size).toBe(0);
    const mentions2 = stream.messages.slice(mark2).filter((m) => {
      const ids = [
        ...(m.targetChange?.targetIds ?? []),
        ...(m.documentChange?.targetIds ?? []),
        ...(m.documentChange?.removedTargetIds ?? []),
        ...(m.documentDelete?.removedTargetIds ?? []),
        ...(m.documentRemove?.removedTargetIds ?? []),
      ];
      return ids.includes(2);
    });
    expect(mentions2).toEqual([]);
  });

  it("refuses a malformed query target without harming the stream or later commits", async () => {
    const stream = rawListen();
    cleanups.push(stream.close);
    stream.add(6, {
      query: {
        parent: ROOT,
        structuredQuery: {
          from: [{ collectionId: "conformance-bad" }],
          where: {
            fieldFilter: {
              field: { fieldPath: "x" },
              op: "IN",
              value: { integerValue: "1" },
            },
          },
        },
      },
    });
    stream.add(8, { documents: { documents: [`${ROOT}/conformance-bad/d1`] } });
    await stream.waiter.until(
      () =>
        stream.messages.some(
          (m) =>
            m.targetChange?.targetChangeType === "CURRENT" && m.targetChange.targetIds?.[0] === 8,
        ),
      "the good target's CURRENT",
    );
    // The write succeeds and reaches the good target.
    await adminDb().doc("conformance-bad/d1").set({ x: 1 });
    await stream.waiter.until(
      () => clientView(stream.messages).get(8)?.size === 1,
      "the good target to hold the document",
    );
    expect((await adminDb().doc("conformance-bad/d1").get()).data()).toEqual({ x: 1 });
  });

  it("brings a target resumed from its token to the current state (changes and deletes while away)", async () => {
    const db = adminDb();
    await db.doc("conformance-resume/keep").set({ v: 1 });
    await db.doc("conformance-resume/change").set({ v: 1 });
    await db.doc("conformance-resume/drop").set({ v: 1 });
    const target = {
      query: { parent: ROOT, structuredQuery: { from: [{ collectionId: "conformance-resume" }] } },
    };
    const first = rawListen();
    first.add(1, target);
    await first.waiter.until(() => globalSnapshotAfter(first.messages) >= 0, "the first snapshot");
    const token = first.messages.find((m) => m.targetChange?.targetChangeType === "CURRENT")!
      .targetChange!.resumeToken!;
    expect(token.length).toBeGreaterThan(0);
    const before = clientView(first.messages).get(1)!;
    first.close();

    await db.doc("conformance-resume/change").set({ v: 2 });
    await db.doc("conformance-resume/drop").delete();
    await db.doc("conformance-resume/new").set({ v: 1 });

    const second = rawListen();
    cleanups.push(second.close);
    second.add(1, { ...target, resumeToken: token });
    await second.waiter.until(
      () => globalSnapshotAfter(second.messages) >= 0,
      "the resumed snapshot",
    );
    // What a client holds: its cache from before, then what the resumed stream says.
    const view = clientView([
      { targetChange: { targetChangeType: "ADD", targetIds: [1] } },
      ...[...before].map(([name, fields]) => ({
        documentChange: {
          document: { name, fields: fields as Record<string, unknown> },
          targetIds: [1],
        },
      })),
      ...second.messages,
    ]).get(1)!;
    expect([...view.keys()].map((n) => n.split("/").at(-1)).sort()).toEqual([
      "change",
      "keep",
      "new",
    ]);
    expect(view.get(`${ROOT}/conformance-resume/change`)).toEqual({
      v: { integerValue: "2", valueType: "integerValue" },
    });
  });
});
