/**
 * Every route's documented 200 body (its `response` schema, which docs/openapi.json and the PWA's
 * client are built from) against what the route really answers, on a world with state in it: a
 * running machine, a finished one, an inbox, a queue with an offer, statistics. The schemas are
 * strict, so a field the documentation does not list fails here. The last test checks that the
 * scenario called every route of the table.
 */
import { Timestamp } from "firebase-admin/firestore";
import { beforeAll, describe, expect, it } from "vitest";
import { type HttpRequest, type HttpResponse, runHandler } from "../../functions/src/http/adapter";
import { apiRoutes } from "../../functions/src/http/routes";
import { type TestUser, bearer, signUpAdmin, signUpUser } from "../support/auth";
import {
  applyReportAt,
  TEST_MASTER_KEY,
  jsonRequest,
  postUpdate,
  seedDemoWorld,
  testDb,
  apiAt,
} from "../support/world";

// Monday 2026-11-16 09:50 KST.
const START_S = Date.UTC(2026, 10, 16, 0, 50) / 1000;
let clock = START_S * 1000;
let alice: TestUser;
let bob: TestUser;
let admin: TestUser;
const checked = new Set<string>();

const api = () => apiAt(() => clock, { masterKey: TEST_MASTER_KEY });

function routeOf(method: string, path: string) {
  const route = apiRoutes.find((r) => r.method === method && r.path === path);
  if (!route) throw new Error(`no route ${method} ${path}`);
  return route;
}

/** Calls the route, expects a 200 and a body its `response` schema accepts as it is. */
async function conforms(req: HttpRequest): Promise<Record<string, unknown>> {
  const res: HttpResponse = await runHandler("api", api(), req);
  expect(res.status, `${req.method} ${req.path}: ${JSON.stringify(res.body)}`).toBe(200);
  const parsed = routeOf(req.method, req.path).response.safeParse(res.body);
  expect(
    parsed.success ? [] : parsed.error.issues,
    `${req.method} ${req.path} answered ${JSON.stringify(res.body)}`,
  ).toEqual([]);
  checked.add(`${req.method} ${req.path}`);
  return res.body as Record<string, unknown>;
}

const post = (path: string, user: TestUser, body?: unknown) =>
  conforms(jsonRequest("POST", path, body ?? {}, bearer(user)));
const get = (path: string, user: TestUser | null, query: Record<string, string> = {}) =>
  conforms({
    ...jsonRequest("GET", path, undefined, user ? bearer(user) : {}),
    query,
    rawBody: undefined,
  });

/** One device report through the device handler and the report trigger. */
async function report(machineId: number, status: string, atS: number) {
  clock = atS * 1000 + 1500;
  const reportId = await postUpdate(clock, machineId, status, atS);
  await applyReportAt(clock, String(machineId), reportId);
}

beforeAll(async () => {
  [alice, bob, admin] = await Promise.all([
    signUpUser("resp-alice"),
    signUpUser("resp-bob"),
    signUpAdmin("resp-admin"),
  ]);
});

async function setUpWorld() {
  await seedDemoWorld();
  // Machines 2–6 out of order, so the queue has to wait for machine 1.
  for (const id of ["2", "3", "4", "5", "6"])
    await testDb().doc(`machines/${id}`).update({ outOfOrder: true, online: true });
  await testDb()
    .doc("machines/1")
    .update({ online: true, lastSeenAt: Timestamp.fromMillis(clock) });
}

/** health, without a token and with an admin's */
async function step1() {
  expect(await get("/health", null)).toEqual({ status: "ok" });
  expect(await get("/health", admin)).toMatchObject({ version: "test", firestore: "ok" });
}

/** watching, subscribing, tokens and a course on a running machine */
async function step2() {
  await report(1, "WASHING", START_S);
  expect(await post("/notify_me", alice, { machine_id: 1, isusing: 1 })).toMatchObject({
    isusing: 1,
  });
  await post("/device_subscribe", bob, { room_id: 1 });
  await post("/set_fcm_token", alice, { fcm_token: "tok-alice-1", locale: "en" });
  expect(await post("/settings", bob, { locale: "ko" })).toEqual({ message: "ok", locale: "ko" });
  expect(await post("/logout", alice, { fcm_token: "tok-alice-1" })).toEqual({
    message: "ok",
    removed: true,
  });
  await post("/start_course", bob, { machine_id: 1, course_name: "표준" });
}

/** status views with a running machine: rooms, load (all and one room), congestion */
async function step3() {
  const rooms = await get("/rooms", alice);
  expect((rooms.rooms as unknown[]).length).toBe(1);
  const load = await post("/load", alice, { room_id: 1 });
  const one = (load.machine_list as { machine_id: number; timer: number | null }[])[0];
  expect(one).toMatchObject({ machine_id: 1 });
  expect(one?.timer).not.toBeNull();
  await conforms({ ...jsonRequest("POST", "/load", undefined, bearer(alice)), rawBody: undefined });
  await get("/statistics/congestion", alice, { room_id: "1" });
  await get("/statistics/congestion", alice);
}

/** the queue: join, an offer when the machine finishes, claim, leave */
async function step4() {
  expect(await post("/reserve", alice, { room_id: 1, isreserved: 1 })).toMatchObject({
    joined: true,
    queue_position: 1,
  });
  await post("/reserve", bob, { room_id: 1, isreserved: 1 });
  await report(1, "SPINNING", START_S + 40 * 60);
  await report(1, "FINISHED", START_S + 50 * 60);
  const load = await post("/load", alice);
  expect(load.reservations).toMatchObject([{ offer: { machine_id: 1 } }]);
  expect(await post("/reserve/claim", alice, { room_id: 1, machine_id: 1 })).toMatchObject({
    message: "claimed",
    machine_id: 1,
  });
  expect(await post("/reserve", bob, { room_id: 1, isreserved: 0 })).toMatchObject({
    left: true,
    isreserved: 0,
  });
}

/** the inbox after a FINISHED: list, read one, read all */
async function step5() {
  const inbox = await get("/notifications", alice, { limit: "5" });
  const entries = inbox.notifications as { id: string }[];
  expect(entries.length).toBeGreaterThan(0);
  await post("/notifications/read", alice, { id: entries[0]?.id });
  await post("/notifications/read", bob, { all: true });
}

/** tip, broken report and survey */
async function step6() {
  expect(await get("/tip", alice, { room_id: "1" })).toMatchObject({ source: "statistics" });
  await post("/report_broken", bob, { machine_id: 1, reason: "문이 안 닫혀요" });
  await post("/survey", alice, { satisfaction: 4, suggestion: "좋아요" });
}

/** admin routes: room, device (secret once), rotation, calibration, clearing, surveys */
async function step7() {
  const room = await post("/admin/add_room", admin, { room_name: "2층 세탁실" });
  const device = await post("/admin/add_device", admin, {
    room_id: room.room_id,
    machine_id: 20,
    machine_name: "세탁기 20",
    machine_type: "washer",
  });
  expect(device.secret_key).toEqual(expect.any(String));
  await post("/admin/rotate_device_secret", admin, { machine_id: 20 });
  await post("/admin/calibration", admin, { machine_id: 20, on: 1 });
  await post("/admin/clear_broken", admin, { machine_id: 2 });
  const surveys = await get("/admin/surveys", admin);
  expect(surveys.surveys).toHaveLength(1);
}

describe("every 200 body is what its response schema documents", () => {
  it("on a world with a running machine, a finished cycle, an inbox and a queue, every route of the table answers what it documents", async () => {
    await setUpWorld();
    await step1();
    await step2();
    await step3();
    await step4();
    await step5();
    await step6();
    await step7();
    const all = apiRoutes.map((r) => `${r.method} ${r.path}`).sort();
    expect([...checked].sort()).toEqual(all);
  });
});
