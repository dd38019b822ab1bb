/**
 * Conformance: queries as the product and its clients use them, with Firestore's semantics for
 * missing fields, nulls, mixed types, cursors and collection groups.
 */
import { FieldPath } from "firebase-admin/firestore";
import { beforeEach, describe, expect, it } from "vitest";
import { adminDb } from "./support";

const col = () => adminDb().collection("conformance-q");
const ids = (snap: FirebaseFirestore.QuerySnapshot) => snap.docs.map((d) => d.id);

describe("Firestore queries", () => {
  beforeEach(async () => {
    const c = col();
    await Promise.all([
      c.doc("a").set({ n: 1, s: "x", v: null, tags: ["red", "blue"], room: "r1" }),
      c.doc("b").set({ n: 2, s: "y", v: 3, tags: ["green"], room: "r1" }),
      c.doc("c").set({ n: 3.5, s: "z", tags: [], room: "r2" }),
      c.doc("d").set({ n: "text", v: "w", room: "r2" }),
      c.doc("e").set({ s: "x", v: false, room: "r3" }),
    ]);
  });

  it("matches `== null` only where the field is null", async () => {
    expect(ids(await col().where("v", "==", null).get())).toEqual(["a"]);
  });

  it("matches `!= null` where the field exists and is not null", async () => {
    expect(ids(await col().where("v", "!=", null).get())).toEqual(["e", "b", "d"]);
  });

  it("skips documents without the field, and nulls, for `!=` and `not-in`", async () => {
    expect(ids(await col().where("v", "!=", 3).get())).toEqual(["e", "d"]);
    expect(ids(await col().where("s", "not-in", ["x"]).get())).toEqual(["b", "c"]);
  });

  it("compares only values of the same type: `n > 1` skips strings, `n < 'u'` skips numbers", async () => {
    expect(ids(await col().where("n", ">", 1).get())).toEqual(["b", "c"]);
    expect(ids(await col().where("n", "<", "u").get())).toEqual(["d"]);
  });

  it("keeps NaN out of ranges and finds it only with == NaN", async () => {
    await col().doc("nan").set({ n: Number.NaN });
    expect(ids(await col().where("n", "<", 5).get())).toEqual(["a", "b", "c"]);
    expect(ids(await col().where("n", "==", Number.NaN).get())).toEqual(["nan"]);
  });

  it("treats 1 and 1.0 as equal", async () => {
    await col().doc("f").set({ n: 1.0, exact: true });
    expect(ids(await col().where("n", "==", 1).get())).toEqual(["a", "f"]);
  });

  it("answers in, array-contains and array-contains-any", async () => {
    expect(ids(await col().where("room", "in", ["r1", "r3"]).get())).toEqual(["a", "b", "e"]);
    expect(ids(await col().where("tags", "array-contains", "blue").get())).toEqual(["a"]);
    expect(ids(await col().where("tags", "array-contains-any", ["green", "red"]).get())).toEqual([
      "a",
      "b",
    ]);
  });

  it("orders mixed types null < boolean < number < string, and leaves out documents missing the field", async () => {
    expect(ids(await col().orderBy("v").get())).toEqual(["a", "e", "b", "d"]);
    expect(ids(await col().orderBy("n", "desc").get())).toEqual(["d", "c", "b", "a"]);
  });

  it("pages with startAfter / startAt / endBefore / endAt cursors on an ordered field", async () => {
    const byS = () => col().orderBy("s");
    expect(ids(await byS().startAfter("x").get())).toEqual(["b", "c"]);
    expect(ids(await byS().startAt("y").get())).toEqual(["b", "c"]);
    expect(ids(await byS().endBefore("y").get())).toEqual(["a", "e"]);
    expect(ids(await byS().endAt("y").get())).toEqual(["a", "e", "b"]);
    const a = await col().doc("a").get();
    // A document cursor carries its id too: after (s == "x", id a) comes e.
    expect(ids(await byS().startAfter(a).get())).toEqual(["e", "b", "c"]);
  });

  it("applies limit, limitToLast and offset after ordering", async () => {
    expect(ids(await col().orderBy("room").limit(2).get())).toEqual(["a", "b"]);
    expect(ids(await col().orderBy("room").limitToLast(2).get())).toEqual(["d", "e"]);
    expect(ids(await col().orderBy("room").offset(3).get())).toEqual(["d", "e"]);
  });

  it("combines filters with AND and OR", async () => {
    const { Filter } = await import("firebase-admin/firestore");
    const q = col().where(
      Filter.or(
        Filter.where("room", "==", "r3"),
        Filter.and(Filter.where("room", "==", "r1"), Filter.where("n", "==", 2)),
      ),
    );
    expect(ids(await q.get())).toEqual(["b", "e"]);
  });

  it("filters and orders by document id", async () => {
    expect(ids(await col().where(FieldPath.documentId(), ">", "c").get())).toEqual(["d", "e"]);
    expect(ids(await col().orderBy(FieldPath.documentId()).startAfter("b").limit(2).get())).toEqual(
      ["c", "d"],
    );
  });

  it("returns only selected fields with select()", async () => {
    const snap = await col().where("room", "==", "r1").select("n").get();
    expect(snap.docs.map((d) => d.data())).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it("counts, sums and averages matching documents; sum and average skip documents without their fields", async () => {
    const { AggregateField } = await import("firebase-admin/firestore");
    const agg = await col()
      .where("room", "in", ["r1", "r2"])
      .aggregate({
        count: AggregateField.count(),
        total: AggregateField.sum("v"),
        mean: AggregateField.average("n"),
      })
      .get();
    // sum(v) and average(n) imply both fields exist: c (no v) drops out of all three, count
    // included. Of a, b, d, sum and average add only numbers: v is 3 (b); n is 1 and 2.
    expect(agg.data()).toEqual({ count: 3, total: 3, mean: 1.5 });
    const plain = await col().where("room", "in", ["r1", "r2"]).count().get();
    expect(plain.data().count).toBe(4);
  });

  it("queries a collection group across parents, with filters, and not same-named collections' parents", async () => {
    const db = adminDb();
    await db.doc("conformance-cg/m1/reports/r1").set({ ok: true });
    await db.doc("conformance-cg/m2/reports/r2").set({ ok: false });
    await db.doc("conformance-cg-other/x/reports/r3").set({ ok: true });
    await db.doc("reports/top").set({ ok: true });
    const all = await db.collectionGroup("reports").get();
    expect(all.docs.map((d) => d.ref.path).sort()).toEqual([
      "conformance-cg-other/x/reports/r3",
      "conformance-cg/m1/reports/r1",
      "conformance-cg/m2/reports/r2",
      "reports/top",
    ]);
    const ok = await db.collectionGroup("reports").where("ok", "==", true).get();
    expect(ok.size).toBe(3);
  });

  it("lists collections at the root and under a document, including under a missing parent", async () => {
    const db = adminDb();
    await db.doc("conformance-lc/p/alpha/1").set({});
    await db.doc("conformance-lc/p/beta/1").set({});
    const under = await db.doc("conformance-lc/p").listCollections();
    expect(under.map((c) => c.id).sort()).toEqual(["alpha", "beta"]);
    const root = (await db.listCollections()).map((c) => c.id);
    expect(root).toContain("conformance-lc");
    // The parent document was never written: it is listed, but does not exist.
    const refs = await db.collection("conformance-lc").listDocuments();
    expect(refs.map((r) => r.id)).toEqual(["p"]);
    expect((await refs[0].get()).exists).toBe(false);
  });
});
