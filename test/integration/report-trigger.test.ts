import { FieldValue, type Firestore, type QueryDocumentSnapshot } from "firebase-admin/firestore";
import { beforeEach, describe, expect, it } from "vitest";
import { setWatch } from "../../functions/src/store/notifications";
import { handleReportCreated } from "../../functions/src/triggers/onReportCreated";
import {
  applyReportAt,
  dumpDb,
  invocationAt,
  postUpdate,
  seedDemoWorld,
  testDb,
} from "../support/world";

// Monday 2026-11-16 09:50 KST: the cycle spans the 09:00 and 10:00 KST hours.
const START = Date.UTC(2026, 10, 16, 0, 50) / 1000;
const NOW = (START + 48 * 3600) * 1000;
let clock = NOW;

async function post(machineId: number, status: string, timestamp: number, extra: object = {}) {
  clock += 1500; // one report per second at most
  return postUpdate(clock, machineId, status, timestamp, extra);
}

const deliver = (machineId: string, reportId: string) => applyReportAt(clock, machineId, reportId);

const magnitudes = { wash_avg_magnitude: 0.4, wash_max_magnitude: 1.2, spin_max_magnitude: 2.2 };

async function postCycle(machineId = 1, start = START) {
  return [
    await post(machineId, "WASHING", start),
    await post(machineId, "SPINNING", start + 30 * 60),
    await post(machineId, "FINISHED", start + 40 * 60, magnitudes),
  ];
}

/** The parts of the world a delivery order must not change. */
async function outcome() {
  const db = testDb();
  const m = (await db.doc("machines/1").get()).data() ?? {};
  const cycles = (await db.collection("cycles").get()).docs.map((d) => {
    const { ...c } = d.data();
    return { id: d.id, ...c };
  });
  const stats = (await db.doc("congestion/1").get()).get("courses") ?? {};
  // The room's congestion cells (the document also keeps courses and list counts).
  const congestion = Object.fromEntries(
    Object.entries((await db.doc("congestion/1").get()).data() ?? {}).filter(
      ([k]) => k === "roomId" || /^w\dh\d\d$/.test(k),
    ),
  );
  const calibration: unknown = m.calibrationSums ?? null;
  return {
    machine: {
      status: m.status,
      cycleStartedAt: m.cycleStartedAt,
      spinStartedAt: m.spinStartedAt,
      newestReportTs: m.newestReportTs,
      expectedEndAt: m.expectedEndAt,
    },
    cycles,
    stats,
    congestion,
    calibration,
  };
}

beforeEach(async () => {
  clock = NOW;
  await seedDemoWorld();
});

describe("report trigger", () => {
  it("WASHING → SPINNING → FINISHED leaves the machine FINISHED with one 30/10/40 cycle, averages and congestion", async () => {
    const w = await post(1, "WASHING", START);
    await deliver("1", w);
    let m = (await testDb().doc("machines/1").get()).data();
    expect(m?.status).toBe("WASHING");
    expect(m?.cycleStartedAt.toMillis()).toBe(START * 1000);
    expect(m?.expectedEndAt.toMillis()).toBe((START + 50 * 60) * 1000); // washer default 50 min
    await deliver("1", await post(1, "SPINNING", START + 30 * 60));
    m = (await testDb().doc("machines/1").get()).data();
    expect(m?.status).toBe("SPINNING");
    expect(m?.spinStartedAt.toMillis()).toBe((START + 30 * 60) * 1000);
    await deliver("1", await post(1, "FINISHED", START + 40 * 60, magnitudes));

    const o = await outcome();
    expect(o.machine).toMatchObject({
      status: "FINISHED",
      cycleStartedAt: null,
      spinStartedAt: null,
      expectedEndAt: null,
    });
    expect(o.cycles).toHaveLength(1);
    expect(o.cycles[0]).toMatchObject({
      id: `1-${START + 2400}`,
      machineId: "1",
      roomId: "1",
      course: "standard",
      washMinutes: 30,
      spinMinutes: 10,
      totalMinutes: 40,
    });
    // The room's statistics: one 40-minute cycle in the 40-minute bucket (2,400 s, 2,400² s²).
    expect(o.stats).toEqual({
      "washer-standard": {
        histograms: {
          total: { 40: [1, 2400, 5_760_000] },
          wash: { 30: [1, 1800, 3_240_000] },
          spin: { 10: [1, 600, 360_000] },
        },
        stats: expect.objectContaining({
          type: "washer",
          course: "standard",
          samples: 1,
          avgTotalMinutes: 40,
          avgWashMinutes: 30,
          avgSpinMinutes: 10,
        }),
      },
    });
    // Monday (0): 09:50–10:30 KST spans the 9 and 10 o'clock hours.
    expect(o.congestion).toEqual({ roomId: "1", w0h09: 1, w0h10: 1 });
    expect(o.calibration).toEqual({
      samples: 1,
      washAvgSum: 0.4,
      washMaxSum: 1.2,
      spinMaxSum: 2.2,
    });
  });

  it("the same event delivered three times has the effect of one", async () => {
    const ids = await postCycle();
    for (const id of ids) await deliver("1", id);
    const once = await dumpDb();
    for (let i = 0; i < 3; i++)
      for (const id of ids) {
        const r = await deliver("1", id);
        expect(r?.decision).toBe("duplicate");
      }
    expect(await dumpDb()).toEqual(once);
  });

  it.each([
    ["FINISHED, WASHING, SPINNING", [2, 0, 1]],
    ["SPINNING, FINISHED, WASHING", [1, 2, 0]],
    ["FINISHED, SPINNING, WASHING", [2, 1, 0]],
    ["WASHING, FINISHED, SPINNING", [0, 2, 1]],
  ])("delivered out of order (%s) the outcome equals in-order delivery", async (_name, order) => {
    const ids = await postCycle();
    for (const i of order) await deliver("1", ids[i]);
    for (const i of [...order].reverse()) await deliver("1", ids[i]); // and again, repeated
    const shuffled = await outcome();

    for (const col of ["cycles", "congestion", "pushes", "queues"]) {
      for (const d of (await testDb().collection(col).get()).docs) await d.ref.delete();
    }
    await testDb().doc("machines/1").update({
      status: "OFF",
      newestReportTs: null,
      recentReports: [],
      courseEstimate: null,
      calibrationSums: FieldValue.delete(),
    });
    for (const id of ids) await deliver("1", id);
    expect(shuffled).toEqual(await outcome());
    expect(shuffled.cycles[0]).toMatchObject({
      washMinutes: 30,
      spinMinutes: 10,
      totalMinutes: 40,
    });
  });

  it("a stale report is recorded but never moves the machine's state backwards", async () => {
    const ids = await postCycle();
    const next = await post(1, "WASHING", START + 60 * 60);
    for (const id of [...ids, next]) await deliver("1", id);
    const late = await post(1, "EXT_VIBE", START + 5 * 60);
    const r = await deliver("1", late);
    expect(r?.decision).toBe("stale");
    expect((await testDb().doc("machines/1").get()).get("status")).toBe("WASHING");
    expect((await testDb().doc(`machines/1/reports/${late}`).get()).exists).toBe(true);
  });

  it("averages drop a cycle more than 50 % off the mean once there are three samples", async () => {
    const lengths = [40, 42, 38, 120, 40];
    let t = START;
    for (const total of lengths) {
      await deliver("1", await post(1, "WASHING", t));
      await deliver("1", await post(1, "SPINNING", t + (total - 10) * 60));
      await deliver("1", await post(1, "FINISHED", t + total * 60));
      t += 3 * 3600;
    }
    const stats = (await testDb().doc("congestion/1").get()).get("courses.washer-standard.stats");
    expect(stats).toMatchObject({ samples: 5, avgTotalMinutes: 40 });
  });

  it("an OFF in the middle of a cycle drops it: no cycle, no statistics", async () => {
    const ids = [
      await post(1, "WASHING", START),
      await post(1, "OFF", START + 600),
      await post(1, "FINISHED", START + 1200),
    ];
    for (const id of ids) await deliver("1", id);
    const o = await outcome();
    expect(o.machine.status).toBe("FINISHED");
    expect(o.cycles).toEqual([]);
    expect(o.congestion).toEqual({});
  });

  it("the FINISHED's transaction writes the watcher's entry and push with the state change; three more deliveries add nothing", async () => {
    await setWatch(testDb(), "watcher-1", "1", true, NOW);
    await deliver("1", await post(1, "WASHING", START));
    await deliver("1", await post(1, "SPINNING", START + 30 * 60));
    const finished = await post(1, "FINISHED", START + 40 * 60);
    expect(await deliver("1", finished)).toMatchObject({ decision: "apply", notices: 1 });
    const cycleId = `1-${START + 2400}`;
    const entry = testDb().doc(`users/watcher-1/notifications/finished-${cycleId}`);
    expect((await entry.get()).exists).toBe(true);
    expect((await testDb().doc(`pushes/finished-${cycleId}-watcher-1`).get()).get("state")).toBe(
      "PENDING",
    );
    expect((await testDb().doc("machines/1/watchers/watcher-1").get()).exists).toBe(false);

    // At-least-once: the event is delivered again (three times).
    for (let i = 0; i < 3; i++) expect((await deliver("1", finished))?.decision).toBe("duplicate");
    expect((await testDb().doc("users/watcher-1").get()).get("unreadCount")).toBe(1);
    expect((await testDb().collection("pushes").get()).size).toBe(1);
  });

  it("a flood of EXT_VIBE reports inside a cycle loses neither its start nor its end", async () => {
    await deliver("1", await post(1, "WASHING", START));
    await deliver("1", await post(1, "SPINNING", START + 30 * 60));
    const batch = testDb().batch();
    for (let i = 1; i <= 600; i++) {
      const ts = START + 30 * 60 + i;
      batch.set(testDb().doc(`machines/1/reports/${ts}-EXT_VIBE`), {
        machineId: "1",
        status: "EXT_VIBE",
        boundary: false,
        timestamp: ts,
        magnitudes: null,
      });
    }
    await batch.commit();
    expect((await deliver("1", `${START + 30 * 60 + 300}-EXT_VIBE`))?.statusAfter).toBe("SPINNING");
    await deliver("1", await post(1, "FINISHED", START + 40 * 60));
    const o = await outcome();
    expect(o.cycles).toHaveLength(1);
    expect(o.cycles[0]).toMatchObject({ washMinutes: 30, spinMinutes: 10, totalMinutes: 40 });
  });

  it("a late report older than 500+ stored reports deletes and rewrites no cycle beyond its fold", async () => {
    // 30 stored cycles of 19 reports each (570, more than the 500 the trigger reads), each
    // applied by its FINISHED as it happened.
    const t0 = START - 40 * 3600;
    const batch = testDb().batch();
    const finishes: number[] = [];
    const report = (status: string, at: number) => {
      batch.set(testDb().doc(`machines/1/reports/${at}-${status}`), {
        machineId: "1",
        status,
        boundary: status === "FINISHED",
        timestamp: at,
        magnitudes: null,
      });
      return `${at}-${status}`;
    };
    const ids: string[] = [];
    for (let c = 0; c < 30; c++) {
      const start = t0 + c * 3600;
      ids.push(report("WASHING", start));
      for (let v = 1; v <= 16; v++) ids.push(report("EXT_VIBE", start + v * 60));
      ids.push(report("SPINNING", start + 30 * 60));
      ids.push(report("FINISHED", start + 40 * 60));
      finishes.push(start + 40 * 60);
    }
    await batch.commit();
    // Every report's event, in order, as the trigger would have had them.
    for (const id of ids) await deliver("1", id);
    const before = (await testDb().collection("cycles").get()).docs.map((d) => [d.id, d.data()]);
    expect(before).toHaveLength(30);
    const cells = async () =>
      Object.entries((await testDb().doc("congestion/1").get()).data() ?? {}).filter(([k]) =>
        /^w\dh\d\d$/.test(k),
      );
    const congestionBefore = await cells();

    // A buffered report from before all of them (a clock that fell back).
    const late = await post(1, "WASHING", t0 - 10 * 60);
    await deliver("1", late);

    const after = new Map(
      (await testDb().collection("cycles").get()).docs.map((d) => [d.id, d.data()]),
    );
    expect(after.size).toBe(30);
    const changed = before.filter(
      ([id, c]) => JSON.stringify(after.get(id as string)) !== JSON.stringify(c),
    );
    // Only the first cycle, which the late WASHING starts 10 minutes earlier, may change.
    expect(changed.map(([id]) => id)).toEqual([`1-${finishes[0]}`]);
    expect(after.get(`1-${finishes[0]}`)).toMatchObject({ totalMinutes: 50 });
    // The first cycle gained its 10 earlier minutes, in an hour it had already covered…
    expect(await cells()).toEqual(congestionBefore);
    // …and the course's statistics count it as 50 minutes, no longer as 40.
    const totals = (await testDb().doc("congestion/1").get()).get(
      "courses.washer-standard.histograms.total",
    ) as Record<string, number[]>;
    expect(totals["50"]?.[0]).toBe(1);
    expect(totals["40"]?.[0]).toBe(29);
  });

  it("a cycle from a clock stuck at 2020 is stored as implausible, counted nowhere, and admins are told once", async () => {
    await testDb().doc("admins/admin-1").set({});
    await deliver("1", await post(1, "WASHING", 1577836800));
    const finished = await post(1, "FINISHED", START, magnitudes);
    for (let i = 0; i < 3; i++) await deliver("1", finished);
    const o = await outcome();
    expect(o.cycles).toHaveLength(1);
    expect(o.cycles[0]).toMatchObject({ implausible: true });
    expect(o.congestion).toEqual({});
    expect(o.stats).toEqual({});
    expect(o.calibration).toBeNull();
    const notices = await testDb().collection("users/admin-1/notifications").get();
    expect(notices.docs.map((d) => [d.id, d.get("type") as unknown])).toEqual([
      [`implausible-1-${START}`, "implausible_cycle"],
    ]);
    expect(notices.docs[0]?.get("body")).toContain("통계에서 제외");
  });

  it("acknowledges a report whose machine was deleted (logged, not thrown: no retry for days) and writes nothing", async () => {
    const [washing] = await postCycle(1);
    await testDb().doc("machines/1").delete();
    const before = await dumpDb();
    await expect(deliver("1", washing)).resolves.toBeNull();
    expect(await dumpDb()).toEqual(before);
  });

  it("rethrows any other failure, so the delivery is retried", async () => {
    const [washing] = await postCycle(1);
    const data = (await testDb()
      .doc(`machines/1/reports/${washing}`)
      .get()) as QueryDocumentSnapshot;
    // A Firestore that fails every call (an outage): the delivery must fail, not be acknowledged.
    const down = new Proxy({} as Firestore, {
      get: () => () => {
        throw new Error("14 UNAVAILABLE: Firestore is down");
      },
    });
    await expect(
      handleReportCreated(
        { params: { machineId: "1", reportId: washing }, data },
        { ...invocationAt(clock), db: down },
      ),
    ).rejects.toThrow("UNAVAILABLE");
  });

  it("acknowledges an event that carries no document (logged, nothing written)", async () => {
    const before = await dumpDb();
    await expect(
      handleReportCreated(
        { params: { machineId: "1", reportId: "1-WASHING" } },
        invocationAt(clock),
      ),
    ).resolves.toBeNull();
    expect(await dumpDb()).toEqual(before);
  });
});
