import type { Timestamp } from "firebase-admin/firestore";
import { beforeEach, describe, expect, it } from "vitest";
import { type HttpResponse, runHandler } from "../../functions/src/http/adapter";
import { type TestUser, bearer, signUpUser } from "../support/auth";
import {
  applyReportAt,
  dumpDb,
  jsonRequest,
  seedDemoWorld,
  testDb,
  postUpdate,
  apiAt,
} from "../support/world";

// Monday 2026-11-16 09:50 KST; the api clock runs two days later.
const START = Date.UTC(2026, 10, 16, 0, 50) / 1000;
const NOW = (START + 48 * 3600) * 1000;
let clock = NOW;

const api = () => apiAt(() => clock);
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  runHandler("api", api(), jsonRequest("POST", path, body, headers));
const startCourse = (u: TestUser, body: unknown) => post("/start_course", body, bearer(u));

const errorOf = (res: HttpResponse) =>
  (res.body as { error: { code: string; message: string } }).error;
const machine = async (id: string) => (await testDb().doc(`machines/${id}`).get()).data() ?? {};
const watching = async (machineId: string, uid: string) =>
  (await testDb().doc(`machines/${machineId}/watchers/${uid}`).get()).exists;

let user: TestUser;

beforeEach(async () => {
  clock = NOW;
  await seedDemoWorld();
  user ??= await signUpUser("course");
});

describe("POST /start_course", () => {
  it("records the course on the machine, watches it once for the user and answers the course's average", async () => {
    await testDb().doc("courseStats/washer-쾌속").set({
      type: "washer",
      course: "쾌속",
      samples: 5,
      avgTotalMinutes: 33.4,
      avgWashMinutes: 25,
      avgSpinMinutes: 8,
      lowMinutes: 30.2,
      highMinutes: 36.6,
    });
    const res = await startCourse(user, { machine_id: 2, course_name: " 쾌속 " });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({
      message: "ok",
      machine_id: 2,
      course_name: "쾌속",
      course_key: "쾌속",
      expected_minutes: 33,
      expected_range: { low_minutes: 30, high_minutes: 37 },
      samples: 5,
      isusing: 1,
    });
    const m = await machine("2");
    // The choice waits on the machine for its cycle; the trigger alone sets `course`.
    expect(m).toMatchObject({
      courseChoice: { course: "쾌속", courseName: "쾌속" },
      course: null,
      status: "OFF",
    });
    expect(m.courseChoice.setAt.toMillis()).toBe(clock);
    // Who chose it is server-only: the machine document every resident reads names nobody.
    expect(JSON.stringify(m)).not.toContain(user.uid);
    expect((await testDb().doc("courseChoices/2").get()).get("uid")).toBe(user.uid);
    expect(await watching("2", user.uid)).toBe(true);

    const load = await post("/load", { room_id: 1 }, bearer(user));
    const row = (load.body as { machines: Record<string, unknown>[] }).machines[1];
    expect(row).toMatchObject({ machine_id: 2, isusing: 1 });
  });

  it("falls back to the machine type's default without statistics, keying the name for storage", async () => {
    const washer = await startCourse(user, { machine_id: "1", course_name: "Quick Wash" });
    expect(washer.body).toMatchObject({
      course_name: "Quick Wash",
      course_key: "quick-wash",
      expected_minutes: 50,
      expected_range: { low_minutes: 40, high_minutes: 60 },
      samples: 0,
    });
    expect(await machine("1")).toMatchObject({
      courseChoice: { course: "quick-wash", courseName: "Quick Wash" },
    });
    const dryer = await startCourse(user, { machine_id: 5, course_name: "표준" });
    expect(dryer.body).toMatchObject({ course_key: "표준", expected_minutes: 60 });
  });

  it("keeps the chooser's uid off the machine document while the chosen cycle runs", async () => {
    clock = (START - 5 * 60) * 1000;
    await startCourse(user, { machine_id: 3, course_name: "Quick Wash" });
    clock = NOW;
    const reportId = await postUpdate(clock, 3, "WASHING", START);
    await applyReportAt(clock, "3", reportId);
    const running = await machine("3");
    expect(running).toMatchObject({ status: "WASHING", course: "quick-wash" });
    expect(JSON.stringify(running)).not.toContain(user.uid);
    expect(running.courseStartedBy).toBeUndefined();
    expect((await testDb().doc("courseChoices/3").get()).data()).toMatchObject({
      uid: user.uid,
      startedBy: user.uid,
    });
  });

  it("the cycle started next is filed under the course, the user is told when it finishes, and the course is cleared", async () => {
    // Chosen 10 minutes before the machine starts.
    clock = (START - 10 * 60) * 1000;
    await startCourse(user, { machine_id: 3, course_name: "Quick Wash" });
    clock = NOW; // the device reports reach the server later
    for (const [status, ts] of [
      ["WASHING", START],
      ["SPINNING", START + 20 * 60],
      ["FINISHED", START + 28 * 60],
    ] as const) {
      clock += 1500;
      const reportId = await postUpdate(clock, 3, status, ts);
      await applyReportAt(clock, "3", reportId);
    }
    const cycle = (
      await testDb()
        .doc(`cycles/3-${START + 28 * 60}`)
        .get()
    ).data();
    expect(cycle).toMatchObject({ course: "quick-wash", startedBy: user.uid, totalMinutes: 28 });
    expect(JSON.stringify(await machine("3"))).not.toContain(user.uid);
    expect(await machine("3")).toMatchObject({ status: "FINISHED", course: null });
    expect(await watching("3", user.uid)).toBe(false);
    const inbox = await testDb().collection(`users/${user.uid}/notifications`).get();
    expect(inbox.docs.map((d) => d.get("type") as string)).toContain("finished");

    // The next start of that course expects what the machine measured.
    const again = await startCourse(user, { machine_id: 3, course_name: "quick wash" });
    expect(again.body).toMatchObject({
      course_key: "quick-wash",
      expected_minutes: 28,
      samples: 1,
    });
    expect((await machine("3")).courseChoice).toMatchObject({ courseName: "quick wash" });
  });

  it("rejects bad input with the field named, an unknown or broken machine, a missing token, and writes nothing", async () => {
    await testDb().doc("machines/4").update({ outOfOrder: true });
    const before = await dumpDb();
    const cases: [unknown, number, string, RegExp][] = [
      [{ course_name: "표준" }, 400, "invalid_body", /^machine_id: /],
      [{ machine_id: 1 }, 400, "invalid_body", /^course_name: /],
      [{ machine_id: 0, course_name: "표준" }, 400, "invalid_body", /^machine_id: /],
      [{ machine_id: "1x", course_name: "표준" }, 400, "invalid_body", /^machine_id: /],
      [{ machine_id: 1, course_name: "" }, 400, "invalid_body", /^course_name: must not be empty/],
      [
        { machine_id: 1, course_name: "   " },
        400,
        "invalid_body",
        /^course_name: must not be empty/,
      ],
      [
        { machine_id: 1, course_name: "x".repeat(41) },
        400,
        "invalid_body",
        /^course_name: must be at most 40/,
      ],
      [
        { machine_id: 1, course_name: "a\u0007b" },
        400,
        "invalid_body",
        /^course_name: must not contain control/,
      ],
      [{ machine_id: 1, course_name: 5 }, 400, "invalid_body", /^course_name: /],
      [{ machine_id: 1, course_name: "표준", uid: "x" }, 400, "invalid_body", /unknown field uid/],
      ["{bad", 400, "invalid_json", /not valid JSON/],
      [{ machine_id: 99, course_name: "표준" }, 404, "not_found", /^machine_id: no machine 99$/],
      [
        { machine_id: 4, course_name: "표준" },
        409,
        "conflict",
        /^machine_id: machine 4 is out of order$/,
      ],
    ];
    for (const [body, status, code, message] of cases) {
      const res = await startCourse(user, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(errorOf(res).code, JSON.stringify(body)).toBe(code);
      expect(errorOf(res).message, JSON.stringify(body)).toMatch(message);
    }
    for (const headers of [{}, bearer("bad.token")]) {
      const res = await post("/start_course", { machine_id: 1, course_name: "표준" }, headers);
      expect(res.status).toBe(401);
    }
    expect(await dumpDb()).toEqual(before);
  });

  it("a choice made while the previous user's cycle runs does not relabel that cycle, but files the next one", async () => {
    const send = async (status: string, ts: number) => {
      clock = Math.max(clock + 1500, ts * 1000 + 1000);
      const reportId = await postUpdate(clock, 4, status, ts);
      await applyReportAt(clock, "4", reportId);
    };
    await send("WASHING", START);
    // 20 minutes into someone else's cycle, the next user picks their course.
    clock = (START + 20 * 60) * 1000;
    await startCourse(user, { machine_id: 4, course_name: "Wool" });
    await send("SPINNING", START + 30 * 60);
    await send("FINISHED", START + 40 * 60);
    await send("WASHING", START + 45 * 60);
    await send("FINISHED", START + 85 * 60);
    await send("WASHING", START + 100 * 60);
    await send("FINISHED", START + 140 * 60);
    const courses = (await testDb().collection("cycles").where("machineId", "==", "4").get()).docs
      .map((d): [number, string] => [
        (d.get("startedAt") as Timestamp).toMillis() / 1000 - START,
        d.get("course") as string,
      ])
      .sort((a, b) => a[0] - b[0]);
    expect(courses).toEqual([
      [0, "standard"],
      [45 * 60, "wool"],
      [100 * 60, "standard"],
    ]);
  });
});
