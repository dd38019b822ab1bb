import { Timestamp } from "firebase-admin/firestore";
import { beforeEach, describe, expect, it } from "vitest";
import { type HttpRequest, type HttpResponse, runHandler } from "../../functions/src/http/adapter";
import { createDeviceHandler, createDeviceState } from "../../functions/src/http/deviceHandler";
import { createMachine, createRoom } from "../../functions/src/store/machines";
import { type TestUser, bearer, signUpUser } from "../support/auth";
import {
  applyReportAt,
  TEST_MASTER_KEY,
  dumpDb,
  jsonRequest,
  seedDemoWorld,
  testDb,
  postUpdate,
  testSettings,
  apiAt,
} from "../support/world";

// Monday 2026-11-16 09:50 KST; the api clock runs two days later.
const START = Date.UTC(2026, 10, 16, 0, 50) / 1000;
const NOW = (START + 48 * 3600) * 1000;
const MIN = 60_000;
let clock = NOW;

const api = () => apiAt(() => clock);
const call = (req: HttpRequest) => runHandler("api", api(), req);
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(jsonRequest("POST", path, body, headers));
function get(path: string, query: Record<string, string>, headers: Record<string, string>) {
  return call({ ...jsonRequest("GET", path, undefined, headers), query });
}
/** POST without any body at all. */
function postEmpty(path: string, headers: Record<string, string>) {
  const req = jsonRequest("POST", path, undefined, headers);
  return call({ ...req, headers: { ...headers } });
}

const errorOf = (res: HttpResponse) =>
  (res.body as { error: { code: string; message: string } }).error;
const bodyOf = (res: HttpResponse) => res.body as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function setMachine(id: string, fields: Record<string, unknown>) {
  await testDb().doc(`machines/${id}`).update(fields);
}
const ago = (minutes: number) => Timestamp.fromMillis(clock - minutes * MIN);

async function secondRoom() {
  await createRoom(testDb(), "2", "2번 세탁실");
  await createMachine(
    testDb(),
    { machineId: "7", roomId: "2", name: "A동 세탁기", type: "washer", secret: "s7" },
    TEST_MASTER_KEY,
  );
}

let user: TestUser;

beforeEach(async () => {
  clock = NOW;
  await seedDemoWorld();
  user ??= await signUpUser("status");
});

describe("GET /rooms", () => {
  it("counts free, busy, offline and out-of-order machines per room, with the queue and the user's place", async () => {
    await secondRoom();
    await setMachine("1", { status: "WASHING", online: true, cycleStartedAt: ago(5) });
    await setMachine("2", { status: "FINISHED", online: true });
    await setMachine("3", { status: "OFF", online: true, outOfOrder: true });
    await setMachine("5", { status: "OFF", online: true });
    await setMachine("7", { status: "SPINNING", online: false, cycleStartedAt: ago(40) });
    const other = await signUpUser("other");
    expect((await post("/reserve", { room_id: 1, isreserved: 1 }, bearer(other))).status).toBe(200);
    expect((await post("/reserve", { room_id: 1, isreserved: 1 }, bearer(user))).status).toBe(200);

    const res = await get("/rooms", {}, bearer(user));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({
      rooms: [
        {
          room_id: 1,
          room_name: "1번 세탁실",
          total: 6,
          free: 2,
          busy: 1,
          offline: 2,
          out_of_order: 1,
          washers_free: 1,
          dryers_free: 1,
          queue_length: 2,
          isreserved: 1,
          queue_position: 2,
        },
        {
          room_id: 2,
          room_name: "2번 세탁실",
          total: 1,
          free: 0,
          busy: 1, // running counts as busy even while its sensor is silent
          offline: 0,
          out_of_order: 0,
          washers_free: 0,
          dryers_free: 0,
          queue_length: 0,
          isreserved: 0,
          queue_position: null,
        },
      ],
    });
  });

  it("answers 401 without a valid token", async () => {
    for (const headers of [{}, bearer("bad.token")]) {
      const res = await get("/rooms", {}, headers);
      expect(res.status).toBe(401);
      expect(errorOf(res).code).toBe("unauthenticated");
    }
  });
});

describe("POST /load", () => {
  /**
   * Room 1 at `clock`: washer 1 washing 12.5 min into a 40-min standard course; washer 2 spinning
   * 3 min into a 10-min spin; dryer 5 drying 50 min into its 60-min default; washer 3 finished
   * but silent; washer 4 out of order; dryer 6 off and silent.
   */
  async function busyRoom() {
    await testDb().doc("courseStats/washer-standard").set({
      type: "washer",
      course: "standard",
      samples: 4,
      avgTotalMinutes: 40,
      avgWashMinutes: 30,
      avgSpinMinutes: 10,
      lowMinutes: 36,
      highMinutes: 44,
    });
    await setMachine("1", { status: "WASHING", online: true, cycleStartedAt: ago(12.5) });
    await setMachine("2", {
      status: "SPINNING",
      online: true,
      cycleStartedAt: ago(35),
      spinStartedAt: ago(3),
    });
    await setMachine("5", {
      status: "DRYING",
      online: true,
      cycleStartedAt: ago(50),
      course: "쾌속",
      courseName: "쾌속",
    });
    await setMachine("3", { status: "FINISHED", online: false });
    await setMachine("4", { status: "OFF", online: true, outOfOrder: true });
  }

  it("lists the room's machines with timer, average, elapsed time and the user's watch, the reservation and totals", async () => {
    await busyRoom();
    expect((await post("/notify_me", { machine_id: 1, isusing: 1 }, bearer(user))).status).toBe(
      200,
    );
    const first = await signUpUser("first");
    await post("/reserve", { room_id: 1, isreserved: 1 }, bearer(first));
    await post("/reserve", { room_id: 1, isreserved: 1 }, bearer(user));

    const res = await post("/load", { room_id: 1 }, bearer(user));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = bodyOf(res);
    const byId = new Map<number, Record<string, unknown>>(
      body.machines.map((m: { machine_id: number }) => [m.machine_id, m]),
    );
    expect(body.machines.map((m: { machine_id: number }) => m.machine_id)).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
    expect(byId.get(1)).toEqual({
      machine_id: 1,
      machine_name: "세탁기 1",
      room_id: 1,
      room_name: "1번 세탁실",
      machine_type: "washer",
      status: "WASHING",
      availability: "busy",
      course_name: null,
      timer: 28, // 27.5 min left, rounded up
      finishing: false,
      avg_minutes: 40,
      elapsed_time_minutes: 12,
      expected_end_at: clock + 27.5 * MIN,
      isusing: 1,
      offered_to_me: 0,
      online: true,
      out_of_order: false,
    });
    expect(byId.get(2)).toMatchObject({
      status: "SPINNING",
      timer: 7,
      avg_minutes: 10,
      elapsed_time_minutes: 3,
      isusing: 0,
    });
    expect(byId.get(5)).toMatchObject({
      machine_type: "dryer",
      status: "DRYING",
      course_name: "쾌속",
      timer: 10,
      avg_minutes: 60,
      elapsed_time_minutes: 50,
    });
    expect(byId.get(3)).toMatchObject({
      status: "FINISHED",
      availability: "offline",
      timer: null,
      elapsed_time_minutes: null,
      avg_minutes: 40,
    });
    expect(byId.get(4)).toMatchObject({ availability: "out_of_order", out_of_order: true });
    expect(byId.get(6)).toMatchObject({ status: "OFF", avg_minutes: 60, timer: null });

    // The first in line gets washer 2 (7 min); this user the next to end, dryer 5 (10 min).
    expect(body).toMatchObject({
      isreserved: 1,
      queue_position: 2,
      expected_wait_minutes: 10,
      reservations: [
        {
          room_id: 1,
          room_name: "1번 세탁실",
          isreserved: 1,
          queue_position: 2,
          expected_wait_minutes: 10,
          queue_length: 2,
          offer: null,
        },
      ],
      status_context: {
        total: 6,
        free: 0,
        busy: 3,
        offline: 2,
        out_of_order: 1,
        washing: 1,
        spinning: 1,
        drying: 1,
        finished: 1,
        off: 1,
        queue_length: 2,
        next_free_minutes: 7,
        watching: 1,
      },
      now: clock,
    });
  });

  it("shows 0 minutes and `finishing` once the expected end has passed", async () => {
    await setMachine("1", { status: "WASHING", online: true, cycleStartedAt: ago(75) });
    const res = await post("/load", { room_id: 1 }, bearer(user));
    expect(bodyOf(res).machines[0]).toMatchObject({
      timer: 0,
      finishing: true,
      avg_minutes: 50,
      elapsed_time_minutes: 75,
    });
  });

  it("follows a cycle driven through the device and the report trigger", async () => {
    const device = createDeviceHandler({
      db: testDb(),
      masterKey: TEST_MASTER_KEY,
      now: () => clock,
      state: createDeviceState(testSettings().device),
    });
    const ts = Math.floor(clock / 1000) - 20 * 60; // started 20 minutes ago
    const res = await runHandler(
      "device",
      device,
      jsonRequest("POST", "/update", {
        machine_id: 3,
        secret_key: "demo-secret-3",
        status: "WASHING",
        timestamp: ts,
      }),
    );
    expect(res.status).toBe(200);
    await applyReportAt(clock, "3", `${ts}-WASHING`);
    const load = await post("/load", { room_id: "1" }, bearer(user));
    expect(bodyOf(load).machines[2]).toMatchObject({
      machine_id: 3,
      status: "WASHING",
      availability: "busy",
      timer: 30, // washer default 50 min
      avg_minutes: 50,
      elapsed_time_minutes: 20,
    });
  });

  it("without room_id (no body, or {}) lists every room; the reservation shown is the first room the user queues in", async () => {
    await secondRoom();
    await post("/reserve", { room_id: 2, isreserved: 1 }, bearer(user));
    for (const res of [
      await postEmpty("/load", bearer(user)),
      await post("/load", {}, bearer(user)),
    ]) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const body = bodyOf(res);
      expect(body.machines.map((m: { machine_id: number }) => m.machine_id)).toEqual([
        1, 2, 3, 4, 5, 6, 7,
      ]);
      expect(body.reservations.map((r: { room_id: number }) => r.room_id)).toEqual([1, 2]);
      expect(body).toMatchObject({
        isreserved: 1,
        queue_position: 1,
        // the only washer of room 2 is idle and silent: no estimate
        expected_wait_minutes: null,
        status_context: { total: 7, offline: 7, queue_length: 1 },
      });
    }
    const only2 = bodyOf(await post("/load", { room_id: 2 }, bearer(user)));
    expect(only2.machines.map((m: { machine_id: number }) => m.machine_id)).toEqual([7]);
  });

  it("rejects bad input with the field named and writes nothing", async () => {
    const before = await dumpDb();
    const cases: [unknown, number, string, RegExp][] = [
      [{ room_id: 99 }, 404, "not_found", /^room_id: no room 99$/],
      [{ room_id: 0 }, 400, "invalid_body", /^room_id: /],
      [{ room_id: "abc" }, 400, "invalid_body", /^room_id: /],
      [{ room_id: -1 }, 400, "invalid_body", /^room_id: /],
      [{ room_id: null }, 400, "invalid_body", /^room_id: /],
      [{ room: 1 }, 400, "invalid_body", /unknown field room/],
      ["[]", 400, "invalid_body", /^body: /],
      ["{oops", 400, "invalid_json", /not valid JSON/],
    ];
    for (const [body, status, code, message] of cases) {
      const res = await post("/load", body, bearer(user));
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(errorOf(res).code, JSON.stringify(body)).toBe(code);
      expect(errorOf(res).message, JSON.stringify(body)).toMatch(message);
    }
    const big = await post("/load", { room_id: 1, pad: "x".repeat(9000) }, bearer(user));
    expect(big.status).toBe(413);
    for (const headers of [{}, bearer("bad.token")]) {
      expect((await post("/load", {}, headers)).status).toBe(401);
    }
    expect(await dumpDb()).toEqual(before);
  });
});

describe("GET /statistics/congestion", () => {
  const WEEK = ["월", "화", "수", "목", "금", "토", "일"];

  it("answers the weekday × hour grid of one room, or every room summed, in Korean weekday order", async () => {
    await secondRoom();
    await createRoom(testDb(), "3", "빈 방");
    await testDb().doc("congestion/1").set({ roomId: "1", w0h09: 2, w6h23: 1 });
    await testDb().doc("congestion/2").set({ roomId: "2", w0h09: 3, w4h00: 1 });

    const one = await get("/statistics/congestion", { room_id: "1" }, bearer(user));
    expect(one.status, JSON.stringify(one.body)).toBe(200);
    const grid = bodyOf(one) as Record<string, number[]>;
    expect(Object.keys(grid)).toEqual(WEEK);
    for (const day of WEEK) expect(grid[day]).toHaveLength(24);
    expect(grid["월"][9]).toBe(2);
    expect(grid["일"][23]).toBe(1);
    expect(grid["금"][0]).toBe(0);

    const all = bodyOf(await get("/statistics/congestion", {}, bearer(user))) as Record<
      string,
      number[]
    >;
    expect(all["월"][9]).toBe(5);
    expect(all["금"][0]).toBe(1);
    expect(all["일"][23]).toBe(1);

    const empty = bodyOf(await get("/statistics/congestion", { room_id: "3" }, bearer(user)));
    expect(Object.values(empty).flat()).toEqual(Array(7 * 24).fill(0));
  });

  it("counts a cycle the device reported in every KST hour it spanned", async () => {
    for (const [status, ts] of [
      ["WASHING", START],
      ["SPINNING", START + 30 * 60],
      ["FINISHED", START + 40 * 60],
    ] as const) {
      clock += 1500;
      const reportId = await postUpdate(clock, 2, status, ts);
      await applyReportAt(clock, "2", reportId);
    }
    const grid = bodyOf(await get("/statistics/congestion", { room_id: "1" }, bearer(user)));
    // Monday 09:50–10:30 KST
    expect(grid["월"].slice(8, 12)).toEqual([0, 1, 1, 0]);
  });

  it("rejects an unknown room, a malformed room_id or an unknown parameter, and a missing token", async () => {
    const cases: [Record<string, string>, number, string, RegExp][] = [
      [{ room_id: "99" }, 404, "not_found", /^room_id: no room 99$/],
      [{ room_id: "abc" }, 400, "invalid_query", /^room_id: must be a positive integer$/],
      [{ room_id: "0" }, 400, "invalid_query", /^room_id: /],
      [{ room_id: "" }, 400, "invalid_query", /^room_id: /],
      [{ room: "1" }, 400, "invalid_query", /unknown field room/],
    ];
    for (const [query, status, code, message] of cases) {
      const res = await get("/statistics/congestion", query, bearer(user));
      expect(res.status, JSON.stringify(query)).toBe(status);
      expect(errorOf(res).code).toBe(code);
      expect(errorOf(res).message).toMatch(message);
    }
    expect((await get("/statistics/congestion", {}, {})).status).toBe(401);
  });
});
