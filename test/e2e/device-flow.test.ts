/**
 * Smoke test of the README's device flow over HTTP against the local stack: WASHING → SPINNING
 * (30 min later) → FINISHED (10 min later) for washer 1, the report trigger delivered by the
 * stack's dispatcher, and what repeated and out-of-order reports do (nothing further).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { gridToWeekdayTable } from "../../functions/src/domain/congestion";
import { signUpUser } from "../support/auth";
import {
  type E2eStack,
  type HttpReply,
  callApi,
  docsOf,
  postUpdate,
  resetStack,
  startE2eStack,
} from "./support";

/** Monday 2025-06-09 10:00 KST, as the device clock (Unix seconds). */
const T = Date.UTC(2025, 5, 9, 1, 0) / 1000;
const MAGNITUDES = { wash_avg_magnitude: 0.41, wash_max_magnitude: 1.3, spin_max_magnitude: 2.2 };
/** The server takes one report a second per machine. */
const RATE_GAP_MS = 1100;

let e: E2eStack;

beforeAll(async () => {
  e = await startE2eStack();
});

afterAll(async () => {
  await e?.stop();
});

beforeEach(async () => {
  await resetStack(e);
});

const pause = () => new Promise((r) => setTimeout(r, RATE_GAP_MS));

/** The README's three reports for `machineId`, posted in the given order. */
function readmeReports(machineId: number) {
  return {
    washing: {
      machine_id: machineId,
      status: "WASHING",
      machine_type: "washer",
      timestamp: T,
      battery: 100,
    },
    spinning: { machine_id: machineId, status: "SPINNING", timestamp: T + 1800 },
    finished: { machine_id: machineId, status: "FINISHED", timestamp: T + 2400, ...MAGNITUDES },
  };
}

async function postAll(reports: Parameters<typeof postUpdate>[1][]): Promise<HttpReply[]> {
  const replies: HttpReply[] = [];
  for (const [i, r] of reports.entries()) {
    if (i > 0) await pause();
    replies.push(await postUpdate(e, r));
  }
  await e.stack.dispatcher.idle();
  return replies;
}

/** Machine state, cycles, course averages and congestion: what a report may change. */
async function statistics() {
  const machines = await docsOf(e.db.collection("machines"));
  const state = (id: string) => {
    const m = machines.get(id) ?? {};
    return {
      status: m.status,
      cycleStartedAt: m.cycleStartedAt,
      spinStartedAt: m.spinStartedAt,
      expectedEndAt: m.expectedEndAt,
      newestReportTs: m.newestReportTs,
      course: m.course,
    };
  };
  return {
    machine1: state("1"),
    machine2: state("2"),
    cycles: Object.fromEntries(await docsOf(e.db.collection("cycles"))),
    roomStats: Object.fromEntries(await docsOf(e.db.collection("roomStats"))),
    congestion: Object.fromEntries(await docsOf(e.db.collection("congestion"))),
  };
}

/** Room 1's grid expected after `n` identical README cycles: n in Monday 10:00–11:00 only. */
function gridWithMondayTen(n: number): Record<string, number[]> {
  const table = gridToWeekdayTable([]);
  table["월"][10] = n;
  return table;
}

async function expectReadmeCycle(machineId: string, cyclesInRoom: number) {
  const machine = (await e.db.collection("machines").doc(machineId).get()).data()!;
  expect(machine.status).toBe("FINISHED");
  expect(machine.cycleStartedAt).toBeNull();
  expect(machine.newestReportTs).toBe(T + 2400);

  const cycle = (
    await e.db
      .collection("cycles")
      .doc(`${machineId}-${T + 2400}`)
      .get()
  ).data();
  expect(cycle).toMatchObject({
    machineId,
    roomId: "1",
    type: "washer",
    course: "standard",
    washMinutes: 30,
    spinMinutes: 10,
    totalMinutes: 40,
  });
  expect(cycle?.startedAt.toMillis()).toBe(T * 1000);
  expect(cycle?.spinStartedAt.toMillis()).toBe((T + 1800) * 1000);
  expect(cycle?.finishedAt.toMillis()).toBe((T + 2400) * 1000);

  const stats = (await e.db.doc("roomStats/1").get()).get("courses.washer-standard.stats");
  expect(stats).toMatchObject({
    type: "washer",
    course: "standard",
    samples: cyclesInRoom,
    avgTotalMinutes: 40,
    avgWashMinutes: 30,
    avgSpinMinutes: 10,
  });
  const congestion = (await e.db.collection("congestion").doc("1").get()).data()!;
  expect(gridToWeekdayTable([congestion])).toEqual(gridWithMondayTen(cyclesInRoom));
}

describe("the README device flow over HTTP", () => {
  it("WASHING, SPINNING 30 min later, FINISHED 10 min later: machine 1 FINISHED, one 30/10/40 cycle, averages and congestion", async () => {
    const r = readmeReports(1);
    const replies = await postAll([r.washing, r.spinning, r.finished]);

    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ message: "received" });
      expect(reply.body.duplicate).toBeUndefined();
    }
    await expectReadmeCycle("1", 1);
    expect([...(await docsOf(e.db.collection("cycles"))).keys()]).toEqual([`1-${T + 2400}`]);
    // The grid as the PWA reads it.
    const user = await signUpUser("smoke");
    expect(await callApi(e, user, "GET", "/statistics/congestion?room_id=1")).toEqual(
      gridWithMondayTen(1),
    );
    expect(e.deliveryErrors).toEqual([]);
  });

  it("re-posting the reports (in reverse order) and a late older report change nothing further", async () => {
    const r = readmeReports(1);
    await postAll([r.washing, r.spinning, r.finished]);
    const before = await statistics();

    await pause();
    const repeats = await postAll([r.finished, r.spinning, r.washing]);
    for (const reply of repeats) {
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ message: "received", duplicate: true });
    }
    // A report the device held back: older than the newest, recorded, never moves state back.
    await pause();
    const [late] = await postAll([{ machine_id: 1, status: "WASHING", timestamp: T + 600 }]);
    expect(late?.status).toBe(200);
    expect(late?.body.duplicate).toBeUndefined();

    expect(await statistics()).toEqual(before);
    await expectReadmeCycle("1", 1);
    const reports = await docsOf(e.db.collection("machines").doc("1").collection("reports"));
    expect([...reports.keys()].sort()).toEqual(
      [`${T}-WASHING`, `${T + 600}-WASHING`, `${T + 1800}-SPINNING`, `${T + 2400}-FINISHED`].sort(),
    );
    expect(e.deliveryErrors).toEqual([]);
  });

  it("the same reports posted out of order (FINISHED first) end in the same state and statistics", async () => {
    const inOrder = readmeReports(1);
    const reversed = readmeReports(2);
    const [repliesInOrder, repliesReversed] = await Promise.all([
      postAll([inOrder.washing, inOrder.spinning, inOrder.finished]),
      postAll([reversed.finished, reversed.spinning, reversed.washing]),
    ]);
    await e.stack.dispatcher.idle();
    expect([...repliesInOrder, ...repliesReversed].map((x) => x.status)).toEqual(
      Array(6).fill(200),
    );

    await expectReadmeCycle("1", 2);
    await expectReadmeCycle("2", 2);
    const after = await statistics();
    expect(after.machine2).toEqual(after.machine1);
    const { machineId: _m1, ...cycle1 } = after.cycles[`1-${T + 2400}`];
    const { machineId: _m2, ...cycle2 } = after.cycles[`2-${T + 2400}`];
    expect(cycle2).toEqual(cycle1);
    expect(Object.keys(after.cycles).sort()).toEqual([`1-${T + 2400}`, `2-${T + 2400}`]);
    expect(e.deliveryErrors).toEqual([]);
  });
});
