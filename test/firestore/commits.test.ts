/**
 * Conformance: commits are atomic and their preconditions hold. A batch applies all of its
 * writes or none; `create` needs a missing document, `update` an existing one, and a
 * last-update-time precondition the exact current version.
 */
import { FieldValue, Timestamp } from "firebase-admin/firestore";
import { describe, expect, it } from "vitest";
import { adminDb } from "./support";

function code(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

describe("Firestore commits", () => {
  it("applies none of a batch's writes when one precondition fails", async () => {
    const db = adminDb();
    await db.doc("conformance-commit/existing").set({ v: 1 });
    const batch = db.batch();
    await db.doc("conformance-commit/second").set({ v: 1 });
    batch.set(db.doc("conformance-commit/first"), { v: 1 });
    batch.update(db.doc("conformance-commit/second"), { v: 2 });
    batch.create(db.doc("conformance-commit/existing"), { v: 3 });
    batch.delete(db.doc("conformance-commit/other"));
    const err = await batch.commit().catch((e: unknown) => e);
    expect(code(err)).toBe(6); // ALREADY_EXISTS
    expect((await db.doc("conformance-commit/first").get()).exists).toBe(false);
    expect((await db.doc("conformance-commit/second").get()).data()).toEqual({ v: 1 });
    expect((await db.doc("conformance-commit/existing").get()).data()).toEqual({ v: 1 });
  });

  it("fails update() on a missing document with NOT_FOUND and writes nothing", async () => {
    const db = adminDb();
    const err = await db
      .doc("conformance-commit/missing")
      .update({ v: 1 })
      .catch((e: unknown) => e);
    expect(code(err)).toBe(5);
    expect((await db.doc("conformance-commit/missing").get()).exists).toBe(false);
  });

  it("enforces last-update-time preconditions: a stale time fails, the current one succeeds", async () => {
    const db = adminDb();
    const ref = db.doc("conformance-commit/versioned");
    const first = await ref.set({ v: 1 });
    const second = await ref.set({ v: 2 });
    const stale = await ref
      .update({ v: 3 }, { lastUpdateTime: first.writeTime })
      .catch((e: unknown) => e);
    expect(code(stale)).toBe(9); // FAILED_PRECONDITION
    expect((await ref.get()).get("v")).toBe(2);
    await ref.update({ v: 4 }, { lastUpdateTime: second.writeTime });
    expect((await ref.get()).get("v")).toBe(4);
    const gone = await ref.delete({ lastUpdateTime: second.writeTime }).catch((e: unknown) => e);
    expect(code(gone)).toBe(9);
    expect((await ref.get()).exists).toBe(true);
  });

  it("keeps the update time of a document a write leaves unchanged", async () => {
    const db = adminDb();
    const ref = db.doc("conformance-commit/same");
    await ref.set({ v: 1, m: { a: true } });
    const before = (await ref.get()).updateTime!;
    await ref.set({ v: 1, m: { a: true } });
    expect((await ref.get()).updateTime!.isEqual(before)).toBe(true);
  });

  it("gives every write of one commit one time, and its server timestamps one value no later", async () => {
    const db = adminDb();
    const before = Timestamp.now();
    const batch = db.batch();
    batch.set(db.doc("conformance-commit/t1"), { at: FieldValue.serverTimestamp() });
    batch.set(db.doc("conformance-commit/t2"), { nested: { at: FieldValue.serverTimestamp() } });
    const [r1, r2] = await batch.commit();
    expect(r1.writeTime.isEqual(r2.writeTime)).toBe(true);
    const at = (await db.doc("conformance-commit/t1").get()).get("at") as Timestamp;
    const nested = (await db.doc("conformance-commit/t2").get()).get("nested.at") as Timestamp;
    expect(at.isEqual(nested)).toBe(true);
    expect(at.toMillis()).toBeLessThanOrEqual(r1.writeTime.toMillis());
    expect(at.toMillis()).toBeGreaterThanOrEqual(before.toMillis() - 1000);
  });

  it("increments top-level and nested fields, creating missing ones", async () => {
    const db = adminDb();
    const ref = db.doc("conformance-commit/counters");
    await ref.set({ n: 1, nested: { x: 1.5 } });
    await ref.update({
      n: FieldValue.increment(2),
      "nested.x": FieldValue.increment(1),
      "nested.fresh": FieldValue.increment(5),
    });
    await ref.set({ other: FieldValue.increment(3) }, { merge: true });
    expect((await ref.get()).data()).toEqual({ n: 3, nested: { x: 2.5, fresh: 5 }, other: 3 });
  });

  it("applies arrayUnion (no duplicates) and arrayRemove (every equal element)", async () => {
    const db = adminDb();
    const ref = db.doc("conformance-commit/arrays");
    await ref.set({ tags: ["a", "b", "a"], n: 1 });
    await ref.update({ tags: FieldValue.arrayUnion("b", "c", { k: 1 }) });
    expect((await ref.get()).get("tags")).toEqual(["a", "b", "a", "c", { k: 1 }]);
    await ref.update({ tags: FieldValue.arrayRemove("a", { k: 1 }) });
    expect((await ref.get()).data()).toEqual({ tags: ["b", "c"], n: 1 });
    await ref.update({ fresh: FieldValue.arrayUnion(1, 1, 2), gone: FieldValue.arrayRemove(1) });
    expect((await ref.get()).data()).toEqual({ tags: ["b", "c"], n: 1, fresh: [1, 2], gone: [] });
  });

  it("merges nested maps with set(merge) and removes fields with FieldValue.delete()", async () => {
    const db = adminDb();
    const ref = db.doc("conformance-commit/merge");
    await ref.set({ a: { x: 1, y: 2 }, b: 1 });
    await ref.set({ a: { y: 3, z: 4 } }, { merge: true });
    await ref.update({ b: FieldValue.delete(), "a.x": FieldValue.delete() });
    expect((await ref.get()).data()).toEqual({ a: { y: 3, z: 4 } });
  });

  it("deletes a document and its collection tree with recursiveDelete, leaving siblings", async () => {
    const db = adminDb();
    await db.doc("conformance-tree/p").set({ v: 1 });
    await db.doc("conformance-tree/p/kids/k1").set({ v: 1 });
    await db.doc("conformance-tree/p/kids/k1/deeper/d").set({ v: 1 });
    await db.doc("conformance-tree/q").set({ v: 1 });
    await db.recursiveDelete(db.doc("conformance-tree/p"));
    const left = await db.collection("conformance-tree").get();
    expect(left.docs.map((d) => d.id)).toEqual(["q"]);
    expect((await db.collectionGroup("deeper").get()).size).toBe(0);
  });
});
