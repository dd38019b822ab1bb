import { describe, expect, it } from "vitest";
import { dumpDb, testDb } from "../support/world";

describe("test harness", () => {
  it("dumpDb sees documents at every depth, so 'nothing written' checks cannot miss a subcollection", async () => {
    await testDb().doc("a/1").set({ x: 1 });
    await testDb().doc("a/1/b/2").set({ y: 2 });
    await testDb().doc("c/3/d/4/e/5").set({ z: 3 });
    const dump = await dumpDb();
    expect(Object.keys(dump).sort()).toEqual(["a/1", "a/1/b/2", "c/3/d/4/e/5"]);
  });

  it("each test starts from an empty database", async () => {
    expect(await dumpDb()).toEqual({});
  });
});
