/**
 * What a washing cycle reads once the room is known: lists whose count is 0 (the machine's
 * watchers, the room's subscribers and queue) are not queried, and the counts follow every
 * change, so nobody who asked to be told is ever skipped.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { setRoomSubscription, setWatch } from "../../functions/src/store/notifications";
import { joinQueue } from "../../functions/src/store/queue";
import { readsDuring } from "../support/firestore";
import { applyReportAt, postUpdate, seedDemoWorld, testDb } from "../support/world";

const DAY0 = Date.UTC(2026, 10, 16, 0, 0) / 1000;
let clock = (DAY0 + 30 * 86_400) * 1000;
let start = DAY0;

/** A 40-minute cycle of washer 1, each report delivered to the trigger; what the last returned. */
async function cycle() {
  let result: Awaited<ReturnType<typeof applyReportAt>> = null;
  for (const [status, dt] of [
    ["WASHING", 0],
    ["SPINNING", 1800],
    ["FINISHED", 2400],
  ] as const) {
    clock += 1500;
    const id = await postUpdate(clock, 1, status, start + dt);
    result = await applyReportAt(clock, 1, id);
  }
  start += 3 * 3600;
  return result;
}

const machine = async () => (await testDb().doc("machines/1").get()).data() ?? {};
const room = async () => (await testDb().doc("congestion/1").get()).data() ?? {};
const listReads = (reads: Record<string, number>) => ({
  watchers: reads["machines/watchers"] ?? 0,
  subscribers: reads["rooms/subscribers"] ?? 0,
  queues: reads["queues"] ?? 0,
});

beforeEach(async () => {
  clock = (DAY0 + 30 * 86_400) * 1000;
  start = DAY0;
  await seedDemoWorld();
});

describe("a cycle does not query lists it knows are empty", () => {
  it("after the first cycle taught the counts, a cycle reads no watchers, subscribers or queue", async () => {
    const first = await readsDuring(cycle);
    // Nothing was known yet: the first cycle read the lists and recorded what it found.
    expect(listReads(first)).toEqual({ watchers: 1, subscribers: 1, queues: 2 });
    expect(await machine()).toMatchObject({ watcherCount: 0 });
    expect(await room()).toMatchObject({ subscriberCount: 0, queueLength: 0 });

    expect(listReads(await readsDuring(cycle))).toEqual({ watchers: 0, subscribers: 0, queues: 0 });
  });

  it("a watcher, a subscriber and someone queued after that are told and offered all the same", async () => {
    await cycle();
    await setWatch(testDb(), "watcher", "1", true, clock);
    await setRoomSubscription(testDb(), "subscriber", "1", true, clock);
    await joinQueue(testDb(), "queued", "1", clock);
    expect(await machine()).toMatchObject({ watcherCount: 1 });
    expect(await room()).toMatchObject({ subscriberCount: 1, queueLength: 1 });

    let finished: Awaited<ReturnType<typeof cycle>> = null;
    const reads = await readsDuring(async () => (finished = await cycle()));
    expect(listReads(reads).watchers).toBe(1);
    expect(listReads(reads).subscribers).toBe(1);
    expect(finished).toMatchObject({ decision: "apply", offeredTo: "queued" });
    const inbox = async (uid: string): Promise<unknown[]> =>
      (await testDb().collection(`users/${uid}/notifications`).get()).docs.map(
        (d) => d.get("type") as unknown,
      );
    expect(await inbox("watcher")).toEqual(["finished"]);
    expect(await inbox("subscriber")).toEqual(["room_finished"]);
    // The one-shot watch ended with the cycle; the subscription stays.
    expect(await machine()).toMatchObject({ watcherCount: 0 });
    expect(await room()).toMatchObject({ subscriberCount: 1 });
  });

  it("lists older than their counts are read until a FINISHED has counted them: nobody is skipped", async () => {
    // Watches and a subscription made before counts were kept (no count on either document).
    for (const uid of ["a", "b"]) {
      await testDb().doc(`machines/1/watchers/${uid}`).set({ uid });
    }
    await testDb().doc("rooms/1/subscribers/s").set({ uid: "s" });
    // A leaves, C joins: neither may invent a count from nothing.
    await setWatch(testDb(), "a", "1", false, clock);
    await setWatch(testDb(), "c", "1", true, clock);
    expect((await machine()).watcherCount).toBeUndefined();
    await cycle();
    const inbox = async (uid: string) =>
      (await testDb().collection(`users/${uid}/notifications`).get()).size;
    expect([await inbox("a"), await inbox("b"), await inbox("c"), await inbox("s")]).toEqual([
      0, 1, 1, 1,
    ]);
    // Counted now: the watches ended, the subscription stays.
    expect(await machine()).toMatchObject({ watcherCount: 0 });
    expect(await room()).toMatchObject({ subscriberCount: 1 });
  });

  it("counts follow turning a watch or subscription on, again, and off", async () => {
    await cycle();
    for (let i = 0; i < 3; i++) await setWatch(testDb(), "u", "1", true, clock);
    await setRoomSubscription(testDb(), "u", "1", true, clock);
    await setRoomSubscription(testDb(), "u", "1", true, clock);
    expect(await machine()).toMatchObject({ watcherCount: 1 });
    expect(await room()).toMatchObject({ subscriberCount: 1 });
    await setWatch(testDb(), "u", "1", false, clock);
    await setWatch(testDb(), "u", "1", false, clock);
    await setRoomSubscription(testDb(), "u", "1", false, clock);
    expect(await machine()).toMatchObject({ watcherCount: 0 });
    expect(await room()).toMatchObject({ subscriberCount: 0 });
    // Concurrent: ten users watch at once; the count is exact.
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => setWatch(testDb(), `c${i}`, "1", true, clock)),
    );
    expect(await machine()).toMatchObject({ watcherCount: 10 });
  });
});
