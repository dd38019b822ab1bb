/**
 * Course statistics per room, kept update by update, and the fleet's figures as a new room's
 * prior. Expected figures are worked out by hand from the rule (docs/DECISIONS.md "Course
 * statistics"): outliers are samples more than ±50 % off the median; a room with n < 5 kept
 * cycles blends n/5 of its own mean with (5 − n)/5 of the fleet's.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { runHandler } from "../../functions/src/http/adapter";
import { createMachine, createRoom } from "../../functions/src/store/machines";
import { handleRollup } from "../../functions/src/scheduled/rollupStats";
import { bearer, signUpUser } from "../support/auth";
import {
  TEST_MASTER_KEY,
  applyReportAt,
  invocationAt,
  jsonRequest,
  postUpdate,
  seedDemoWorld,
  testDb,
  apiAt,
} from "../support/world";

const DAY0 = Date.UTC(2026, 10, 16, 0, 0) / 1000;
let clock = (DAY0 + 30 * 86_400) * 1000;

/** One washing cycle of `totalMinutes` (spin: the last `spin`) on a machine, reports delivered. */
async function cycle(machineId: number, start: number, totalMinutes: number, spin = 10) {
  for (const [status, at] of [
    ["WASHING", start],
    ["SPINNING", start + (totalMinutes - spin) * 60],
    ["FINISHED", start + totalMinutes * 60],
  ] as const) {
    clock += 1500;
    await applyReportAt(clock, machineId, await postUpdate(clock, machineId, status, at));
  }
}

const roomFigures = async (roomId: string): Promise<unknown> =>
  (await testDb().doc(`congestion/${roomId}`).get()).get("courses.washer-standard.stats");

beforeEach(async () => {
  clock = (DAY0 + 30 * 86_400) * 1000;
  await seedDemoWorld();
  await createRoom(testDb(), "2", "2번 세탁실");
  await createMachine(
    testDb(),
    { machineId: "7", roomId: "2", name: "A동 세탁기", type: "washer", secret: "demo-secret-7" },
    TEST_MASTER_KEY,
  );
  await createRoom(testDb(), "3", "새 세탁실");
  await createMachine(
    testDb(),
    { machineId: "8", roomId: "3", name: "B동 세탁기", type: "washer", secret: "demo-secret-8" },
    TEST_MASTER_KEY,
  );
});

describe("course statistics per room", () => {
  it("each room keeps its own figures; an outlier far from the median is left out", async () => {
    await cycle(1, DAY0, 40);
    await cycle(2, DAY0 + 3600, 40);
    await cycle(3, DAY0 + 7200, 44);
    await cycle(4, DAY0 + 10_800, 130); // a door left open: more than 50 % off the median 40
    await cycle(7, DAY0, 60);
    // Room 1: 40, 40, 44 kept (mean 41.33), 130 dropped; four cycles measured.
    expect(await roomFigures("1")).toMatchObject({ samples: 4, avgTotalMinutes: 41.3 });
    // Room 2 knows only its own 60-minute cycle (no fleet figures exist yet).
    expect(await roomFigures("2")).toMatchObject({ samples: 1, avgTotalMinutes: 60 });
    expect((await testDb().collection("courseStats").get()).size).toBe(0);
    // The room's statistics document is the one residents read for congestion too.
    expect((await testDb().doc("congestion/1").get()).data()).toMatchObject({
      w0h09: 1,
      w0h10: 1,
      w0h11: 1,
      w0h12: 1,
      w0h13: 1,
      w0h14: 1,
    });
  });

  it("the daily roll-up sums the rooms into the fleet's figures, and a new room starts from them", async () => {
    await cycle(1, DAY0, 40);
    await cycle(2, DAY0 + 3600, 40);
    await cycle(7, DAY0, 46);
    const first = await handleRollup(invocationAt(clock));
    expect(first).toMatchObject({ rooms: 2, courses: 1, written: 1, deleted: 0 });
    // Fleet: 40, 40, 46 → mean 42.
    expect((await testDb().doc("courseStats/washer-standard").get()).data()).toMatchObject({
      samples: 3,
      avgTotalMinutes: 42,
      rooms: 2,
    });
    // Run again (a retried schedule): the same figures, nothing written.
    expect(await handleRollup(invocationAt(clock))).toMatchObject({ written: 0, deleted: 0 });

    // Room 3 has no cycle: its first one is timed by the fleet's 42 minutes.
    const start = DAY0 + 86_400;
    clock += 1500;
    await applyReportAt(clock, 8, await postUpdate(clock, 8, "WASHING", start));
    const m = (await testDb().doc("machines/8").get()).data();
    expect(m?.expectedEndAt.toMillis()).toBe((start + 42 * 60) * 1000);
    // It takes 50 minutes: one kept cycle is a fifth of the weight, 0.2·50 + 0.8·42 = 43.6.
    clock += 1500;
    await applyReportAt(clock, 8, await postUpdate(clock, 8, "SPINNING", start + 40 * 60));
    clock += 1500;
    await applyReportAt(clock, 8, await postUpdate(clock, 8, "FINISHED", start + 50 * 60));
    expect(await roomFigures("3")).toMatchObject({ samples: 1, avgTotalMinutes: 43.6 });
  });

  it("the running cycle keeps the figures it started with while it spins (no second read)", async () => {
    await cycle(1, DAY0, 40);
    const start = DAY0 + 7200;
    clock += 1500;
    await applyReportAt(clock, 2, await postUpdate(clock, 2, "WASHING", start));
    // Machine 1 finishes a 60-minute cycle (20 of spin) meanwhile: room 1's figures move to
    // 50 minutes with 15 of spin.
    await cycle(1, DAY0 + 3600, 60, 20);
    expect(await roomFigures("1")).toMatchObject({ avgTotalMinutes: 50, avgSpinMinutes: 15 });
    clock += 1500;
    await applyReportAt(clock, 2, await postUpdate(clock, 2, "SPINNING", start + 30 * 60));
    const m = (await testDb().doc("machines/2").get()).data();
    // Timed with the figures it started with: 10 minutes of spin from the SPINNING (not 15).
    expect(m?.courseEstimate).toMatchObject({ avgTotalMinutes: 40, avgSpinMinutes: 10 });
    expect(m?.expectedEndAt.toMillis()).toBe((start + 40 * 60) * 1000);
  });

  it("an idle machine shows its own room's average course length, not another room's", async () => {
    await cycle(1, DAY0, 40);
    await cycle(7, DAY0, 60);
    const user = await signUpUser("stats");
    const api = apiAt(() => clock);
    const load = async (roomId: number) => {
      const res = await runHandler(
        "api",
        api,
        jsonRequest("POST", "/load", { room_id: roomId }, bearer(user)),
      );
      expect(res.status).toBe(200);
      return (res.body as { machine_list: { machine_id: number; avg_minutes: number }[] })
        .machine_list;
    };
    expect((await load(1)).find((m) => m.machine_id === 2)?.avg_minutes).toBe(40);
    expect((await load(2)).find((m) => m.machine_id === 7)?.avg_minutes).toBe(60);
  });

  it("a cycle rewritten after its machine moved rooms is taken back only from the room that counted it", async () => {
    await cycle(7, DAY0, 40, 10);
    await cycle(8, DAY0, 40, 10); // room 3's own 40-minute cycle
    await testDb().doc("machines/7").update({ roomId: "3" });
    // A late SPINNING (a board's buffer) moves the spin start of that cycle: it is rewritten.
    clock += 1500;
    await applyReportAt(clock, 7, await postUpdate(clock, 7, "SPINNING", DAY0 + 25 * 60));
    const total = async (roomId: string) =>
      (await testDb().doc(`congestion/${roomId}`).get()).get(
        "courses.washer-standard.histograms.total",
      ) as Record<string, number[]> | undefined;
    // Room 2 keeps the cycle it counted; room 3 keeps its own and counts the rewritten one.
    expect((await total("2"))?.["40"]?.[0]).toBe(1);
    expect((await total("3"))?.["40"]?.[0]).toBe(2);
  });
});
