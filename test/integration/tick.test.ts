import type { Timestamp } from "firebase-admin/firestore";
import { beforeEach, describe, expect, it } from "vitest";
import { runHandler } from "../../functions/src/http/adapter";
import { createDeviceHandler, createDeviceState } from "../../functions/src/http/deviceHandler";
import type { Settings } from "../../functions/src/config";
import { runTick, tick } from "../../functions/src/scheduled/tick";
import { createRecordingTransport } from "../../tools/fcm/recordingTransport";
import { createRoom } from "../../functions/src/store/machines";
import { setWatch } from "../../functions/src/store/notifications";
import { joinQueue, onMachineFreed } from "../../functions/src/store/queue";
import { saveFcmToken } from "../../functions/src/store/users";
import {
  applyReportAt,
  dumpDb,
  jsonRequest,
  postUpdate,
  seedDemoWorld,
  testDb,
  TEST_MASTER_KEY,
  deliverPushes,
  testSettings,
  readQueue,
} from "../support/world";

/** This test's device-function instance memory (rate buckets, machine cache). */
let deviceState = createDeviceState(testSettings().device);

const MIN = 60_000;
// Monday 2026-11-16 09:00 KST, on a minute boundary.
const T0 = Date.UTC(2026, 10, 16, 0, 0);
let clock = T0;
const device = () =>
  createDeviceHandler({
    db: testDb(),
    masterKey: TEST_MASTER_KEY,
    now: () => clock,
    state: deviceState,
  });

/** A report from the machine's board at `at` (epoch ms), received then and applied. */
async function report(machineId: number, status: string, at: number) {
  clock = at;
  const magnitudes =
    status === "FINISHED"
      ? { wash_avg_magnitude: 0.4, wash_max_magnitude: 1.2, spin_max_magnitude: 2.2 }
      : {};
  const reportId = await postUpdate(clock, machineId, status, Math.floor(at / 1000), magnitudes);
  await applyReportAt(clock, String(machineId), reportId);
}

async function heartbeat(machineId: number, at: number) {
  clock = at;
  const res = await runHandler(
    "device",
    device(),
    jsonRequest("POST", "/heartbeat", {
      machine_id: machineId,
      secret_key: `demo-secret-${machineId}`,
      battery: 90,
    }),
  );
  expect(res.status).toBe(200);
}

let transport = createRecordingTransport();
/** The tick at `at`, then the push trigger for every push it wrote. */
async function runAt(at: number | string, settings: Partial<Settings> = {}) {
  const r = await runTick({ db: testDb(), settings: testSettings(settings) }, at);
  await deliverPushes(transport, typeof at === "number" ? at : Date.parse(at));
  return r;
}

const doc = async (path: string) => (await testDb().doc(path).get()).data();
interface InboxDoc {
  id: string;
  type?: string;
  title?: string;
  body?: string;
  [field: string]: unknown;
}
const inbox = async (uid: string): Promise<InboxDoc[]> =>
  (await testDb().collection(`users/${uid}/notifications`).get()).docs.map((d) => ({
    id: d.id,
    ...d.data(),
  }));
/** dumpDb() plus each user's inbox on its own, so a difference names the user. */
const snapshot = async (uids: string[]) => ({
  db: await dumpDb(),
  inboxes: await Promise.all(uids.map(inbox)),
});

beforeEach(async () => {
  deviceState = createDeviceState(testSettings().device);
  clock = T0;
  transport = createRecordingTransport();
  await seedDemoWorld();
});

describe("tick: room timers", () => {
  it("counts rooms/1.timers down as minutes pass, writes {} once when all machines are idle, then stops", async () => {
    await createRoom(testDb(), "2", "B동"); // an idle room: never written
    await report(1, "WASHING", T0); // washer default: 50 minutes

    const first = await runAt(T0 + MIN);
    expect(first.roomsWritten).toBe(1);
    let room = await doc("rooms/1");
    expect(Object.keys(room?.timers)).toEqual(["1"]);
    expect(room?.timers["1"]).toMatchObject({
      status: "WASHING",
      remainingMinutes: 49,
      finishing: false,
    });
    expect(room?.timers["1"].expectedEndAt.toMillis()).toBe(T0 + 50 * MIN);
    expect(room?.timersAt.toMillis()).toBe(T0 + MIN);
    expect(room?.timersActive).toBe(true);

    await runAt(T0 + 2 * MIN);
    room = await doc("rooms/1");
    expect(room?.timers["1"].remainingMinutes).toBe(48);
    expect(room?.timersAt.toMillis()).toBe(T0 + 2 * MIN);

    await report(1, "FINISHED", T0 + 40 * MIN);
    const last = await runAt(T0 + 41 * MIN);
    expect(last.roomsWritten).toBe(1);
    room = await doc("rooms/1");
    expect(room?.timers).toEqual({});
    expect(room?.timersActive).toBe(false);
    expect(room?.timersAt.toMillis()).toBe(T0 + 41 * MIN);

    const before = await testDb().doc("rooms/1").get();
    for (let m = 42; m <= 45; m++) expect((await runAt(T0 + m * MIN)).roomsWritten).toBe(0);
    const after = await testDb().doc("rooms/1").get();
    expect(after.updateTime?.isEqual(before.updateTime!)).toBe(true);
    const idle = await doc("rooms/2");
    expect(idle?.timersAt).toBeNull();
    expect(idle?.timersActive).toBeUndefined();
  });

  it("never recreates a room deleted while its machine runs, and still writes the other rooms", async () => {
    await createRoom(testDb(), "2", "B동");
    await testDb().doc("machines/2").update({ roomId: "2" });
    await report(1, "WASHING", T0);
    await report(2, "WASHING", T0);
    await testDb().doc("rooms/1").delete();

    await runAt(T0 + MIN);
    expect((await testDb().doc("rooms/1").get()).exists).toBe(false);
    expect(Object.keys((await doc("rooms/2"))?.timers)).toEqual(["2"]);
  });

  it("an idle minute (nothing running, nobody waiting) writes nothing at all", async () => {
    const before = await dumpDb();
    const idle = await runAt(T0 + 5 * MIN);
    expect(idle.counters.writes).toBe(0);
    expect(await dumpDb()).toEqual(before);
  });

  it("shows a cycle past its estimate as finishing with 0 minutes, not a negative number", async () => {
    await report(5, "DRYING", T0); // dryer default: 60 minutes
    await heartbeat(5, T0 + 58 * MIN);
    await runAt(T0 + 61 * MIN);
    const t = (await doc("rooms/1"))?.timers["5"];
    expect(t).toMatchObject({ status: "DRYING", remainingMinutes: 0, finishing: true });
    expect((await runAt(T0 + 62 * MIN)).roomsWritten).toBe(0);
  });

  it("the registered onSchedule function runs the tick for its schedule time", async () => {
    await report(2, "WASHING", T0);
    await tick.run({ scheduleTime: new Date(T0 + 3 * MIN + 20_000).toISOString(), jobName: "t" });
    const room = await doc("rooms/1");
    expect(room?.timers["2"].remainingMinutes).toBe(47);
    expect(room?.timersAt.toMillis()).toBe(T0 + 3 * MIN);
    expect((await doc("idempotency/tick-2026-11-16T00:03Z"))?.kind).toBe("tick");
  });
});

describe("tick: presence", () => {
  beforeEach(async () => {
    await testDb().doc("admins/admin-1").set({ email: "admin@example.com" });
    await saveFcmToken(testDb(), "admin-1", { token: "tok-admin", platform: "web", now: T0 });
  });

  it("flags a running board that sent liveness traffic offline after 10 silent minutes, notifies each admin once per outage, and a report brings it back", async () => {
    await report(2, "WASHING", T0);
    await heartbeat(2, T0);
    await runAt(T0 + 9 * MIN);
    expect((await doc("machines/2"))?.online).toBe(true);

    const r = await runAt(T0 + 10 * MIN);
    expect(r.presence?.wentOffline).toEqual(["2"]);
    expect((await doc("machines/2"))?.online).toBe(false);
    for (let m = 11; m <= 14; m++) await runAt(T0 + m * MIN);
    let notes = await inbox("admin-1");
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({
      id: `offline-2-${T0}`,
      type: "machine_offline",
      machineId: "2",
      title: "센서 연결 끊김",
      readAt: null,
    });
    expect(notes[0]?.body).toContain("10분 전");
    expect((await doc("users/admin-1"))?.unreadCount).toBe(1);
    expect(transport.delivered.map((m) => [m.uid, m.token])).toEqual([["admin-1", "tok-admin"]]);

    await report(2, "SPINNING", T0 + 15 * MIN);
    expect((await doc("machines/2"))?.online).toBe(true);
    await runAt(T0 + 16 * MIN);
    expect((await doc("machines/2"))?.online).toBe(true);

    // A second outage is a second notice.
    await runAt(T0 + 25 * MIN);
    expect((await doc("machines/2"))?.online).toBe(false);
    notes = await inbox("admin-1");
    expect(notes.map((n) => n.id).sort()).toEqual(
      [`offline-2-${T0}`, `offline-2-${T0 + 15 * MIN}`].sort(),
    );
    expect((await doc("users/admin-1"))?.unreadCount).toBe(2);
  });

  it("gives an idle machine 24 hours, and honours configured limits", async () => {
    await heartbeat(3, T0);
    await runAt(T0 + 24 * 60 * MIN - MIN);
    expect((await doc("machines/3"))?.online).toBe(true);
    await runAt(T0 + 24 * 60 * MIN);
    expect((await doc("machines/3"))?.online).toBe(false);

    await heartbeat(4, T0);
    await runAt(T0 + 30 * MIN, { presence: { ...testSettings().presence, idleMinutes: 30 } });
    expect((await doc("machines/4"))?.online).toBe(false);
  });

  it("puts back online a machine flagged offline that was heard from since", async () => {
    await report(1, "WASHING", T0);
    await testDb().doc("machines/1").update({ online: false });
    const r = await runAt(T0 + 2 * MIN);
    expect(r.presence?.backOnline).toEqual(["1"]);
    expect((await doc("machines/1"))?.online).toBe(true);
    expect(await inbox("admin-1")).toEqual([]);
  });

  it("keeps a report-only board (no heartbeat, no raw_data) online mid-cycle until 30 minutes past its expected end", async () => {
    await report(2, "WASHING", T0);
    const high = ((await doc("machines/2"))?.expectedEndRange as { high: Timestamp }).high;
    expect(high.toMillis()).toBe(T0 + 60 * MIN);
    for (const m of [10, 45, 60, 89]) {
      await runAt(T0 + m * MIN);
      expect((await doc("machines/2"))?.online, `minute ${m}`).toBe(true);
    }
    const r = await runAt(T0 + 90 * MIN);
    expect(r.presence?.wentOffline).toEqual(["2"]);
  });

  it("only flags machines offline when there are no admins to tell", async () => {
    await testDb().doc("admins/admin-1").delete();
    await report(2, "WASHING", T0);
    await heartbeat(2, T0);
    await runAt(T0 + 10 * MIN);
    expect((await doc("machines/2"))?.online).toBe(false);
    expect(transport.delivered).toEqual([]);
  });
});

describe("tick: reminders", () => {
  beforeEach(async () => {
    await saveFcmToken(testDb(), "u1", { token: "tok-u1", platform: "web", now: T0 });
    await testDb().doc("users/u2").set({ locale: "en" });
  });

  it("tells watchers once when 5 minutes are left, and once 15 minutes after FINISHED if the laundry stays", async () => {
    await report(1, "WASHING", T0); // expected end T0 + 50 min
    await setWatch(testDb(), "u1", "1", true, T0);
    await setWatch(testDb(), "u2", "1", true, T0);
    const keep = (at: number) => heartbeat(1, at);

    await keep(T0 + 40 * MIN);
    await runAt(T0 + 44 * MIN);
    expect(await inbox("u1")).toEqual([]);
    await runAt(T0 + 45 * MIN);
    await keep(T0 + 46 * MIN);
    await runAt(T0 + 46 * MIN);
    const soon = await inbox("u1");
    expect(soon).toHaveLength(1);
    expect(soon[0]).toMatchObject({
      id: `soon-1-${T0}-u1`,
      type: "finishing_soon",
      title: "곧 세탁이 끝나요",
      body: "세탁기 1 세탁이 5분 후 끝나요",
    });
    expect((await inbox("u2"))[0]?.title).toBe("Wash almost done");
    expect(transport.delivered.map((m) => m.uid)).toEqual(["u1"]); // u2 has no device

    await report(1, "FINISHED", T0 + 48 * MIN); // watchers get "finished", watches end
    // The fan-out recorded the cycle's watchers; the reminder reads them from there.
    expect((await doc(`cycleWatchers/1-${(T0 + 48 * MIN) / 1000}`))?.uids).toEqual({
      u1: true,
      u2: true,
    });
    await runAt(T0 + 62 * MIN);
    expect((await inbox("u1")).map((n) => n.id)).not.toContain(`leftover-1-${T0 + 48 * MIN}-u1`);
    await runAt(T0 + 63 * MIN);
    await runAt(T0 + 64 * MIN);
    const left = (await inbox("u1")).filter((n) => n.type === "laundry_left");
    expect(left).toEqual([
      expect.objectContaining({
        id: `leftover-1-${T0 + 48 * MIN}-u1`,
        body: "세탁기 1 세탁이 15분 전에 끝났어요. 세탁물이 아직 안에 있어요",
      }),
    ]);
    expect((await inbox("u2")).filter((n) => n.type === "laundry_left")).toHaveLength(1);
    expect((await doc("users/u1"))?.unreadCount).toBe(3); // soon, finished, leftover
    expect(transport.delivered.map((m) => m.data?.type)).toEqual([
      "finishing_soon",
      "finished",
      "laundry_left",
    ]);
  });

  it("does not remind about laundry when a new cycle started on the machine", async () => {
    await report(1, "WASHING", T0);
    await setWatch(testDb(), "u1", "1", true, T0);
    await report(1, "FINISHED", T0 + 40 * MIN);
    await report(1, "WASHING", T0 + 50 * MIN);
    await runAt(T0 + 55 * MIN);
    expect((await inbox("u1")).map((n) => n.type)).toEqual(["finished"]);
  });
});

describe("tick: queue offers", () => {
  it("passes an offer nobody claimed within the window on to the next in line, once", async () => {
    await joinQueue(testDb(), "u1", "1", T0);
    await joinQueue(testDb(), "u2", "1", T0 + 1000);
    await onMachineFreed(testDb(), "3", "1", T0 + MIN, 10);

    await runAt(T0 + 10 * MIN);
    let q = await readQueue(testDb(), "1");
    expect(q.entries.map((e) => [e.uid, e.offer?.machineId ?? null])).toEqual([
      ["u1", "3"],
      ["u2", null],
    ]);

    const r = await runAt(T0 + 11 * MIN); // the 10-minute window has passed
    expect(r.queue?.expired.map((x) => [x.uid, x.outcome])).toEqual([["u1", "requeued"]]);
    q = await readQueue(testDb(), "1");
    expect(q.entries.map((e) => [e.uid, e.offer?.machineId ?? null])).toEqual([
      ["u2", "3"],
      ["u1", null],
    ]);
    expect((await inbox("u2")).map((n) => n.type)).toEqual(["queue_offer"]);

    await testDb().doc(`idempotency/tick-${r.key}`).delete();
    const again = await runAt(T0 + 11 * MIN);
    expect(again.queue?.expired).toEqual([]);
    expect(await inbox("u2")).toHaveLength(1);
  });
});

describe("tick: idempotent per schedule time", () => {
  it("a repeated tick for the same minute writes nothing and sends nothing new, even without its marker", async () => {
    await testDb().doc("admins/admin-1").set({});
    await saveFcmToken(testDb(), "admin-1", { token: "tok-admin", platform: "web", now: T0 });
    await saveFcmToken(testDb(), "u1", { token: "tok-u1", platform: "web", now: T0 });
    await report(1, "WASHING", T0);
    await heartbeat(1, T0); // machine 1 streams liveness, so its silence counts after 10 minutes
    await report(5, "DRYING", T0 + 10 * MIN);
    await setWatch(testDb(), "u1", "1", true, T0);
    await heartbeat(5, T0 + 44 * MIN);

    const at = T0 + 45 * MIN; // machine 1: 5 minutes left and 45 minutes silent
    const first = await runAt(at);
    expect(first.roomsWritten).toBe(1);
    expect(first.presence?.wentOffline).toEqual(["1"]);
    expect(transport.delivered.map((m) => m.data?.type).sort()).toEqual([
      "finishing_soon",
      "machine_offline",
    ]);
    const users = ["admin-1", "u1"];
    const before = await snapshot(users);
    expect(before.inboxes.map((b) => b.map((n) => n.type))).toEqual([
      ["machine_offline"],
      ["finishing_soon"],
    ]);
    const sent = transport.delivered.length;

    const again = await runAt(new Date(at + 30_000).toISOString()); // same minute, another delivery
    expect(again.skipped).toBe(true);
    expect(again.counters.writes).toBe(0);
    expect(await snapshot(users)).toEqual(before);

    await testDb().doc(`idempotency/tick-${first.key}`).delete();
    const withoutMarker = await snapshot(users);
    const rerun = await runAt(at);
    expect(rerun.skipped).toBe(false);
    expect(rerun.roomsWritten).toBe(0);
    expect(rerun.counters.writes).toBe(0);
    // Nothing to write, so not even the marker comes back.
    expect(await snapshot(users)).toEqual(withoutMarker);
    expect(withoutMarker.inboxes).toEqual(before.inboxes);
    expect(transport.delivered).toHaveLength(sent);
  });
});
