import { beforeEach, describe, expect, it } from "vitest";
import { runHandler } from "../../functions/src/http/adapter";
import { tokenId } from "../../functions/src/store/users";
import { handlePushCreated } from "../../functions/src/triggers/onPushCreated";
import {
  type RecordingTransport,
  createRecordingTransport,
} from "../../tools/fcm/recordingTransport";
import { type TestUser, bearer, signUpUser } from "../support/auth";
import {
  applyReportAt,
  deliverPushes,
  invocationAt,
  jsonRequest,
  postUpdate,
  seedDemoWorld,
  testDb,
  apiAt,
} from "../support/world";

const START = Date.UTC(2026, 10, 16, 0, 50) / 1000;
const NOW = (START + 48 * 3600) * 1000;
let clock = NOW;
let transport: RecordingTransport;

const api = () => apiAt(() => clock);

async function call(user: TestUser, path: string, body: unknown) {
  const res = await runHandler("api", api(), jsonRequest("POST", path, body, bearer(user)));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

async function post(machineId: number, status: string, timestamp: number) {
  clock += 1500;
  return postUpdate(clock, machineId, status, timestamp);
}

/**
 * A full cycle on the machine (washer: WASHING → SPINNING → FINISHED; dryer: DRYING → FINISHED),
 * every report delivered `times` times, then the push trigger for every push written.
 */
async function runCycle(machineId: number, times = 1, offset = 0) {
  const steps: [string, number][] =
    machineId >= 5
      ? [
          ["DRYING", START],
          ["FINISHED", START + 40 * 60],
        ]
      : [
          ["WASHING", START],
          ["SPINNING", START + 30 * 60],
          ["FINISHED", START + 40 * 60],
        ];
  const ids: string[] = [];
  for (const [status, ts] of steps) ids.push(await post(machineId, status, ts + offset));
  for (let i = 0; i < times; i++) {
    for (const id of ids) await applyReportAt(clock, machineId, id);
  }
  await deliverPushes(transport, clock);
  return `${machineId}-${START + 40 * 60 + offset}`;
}

const inbox = async (uid: string) =>
  (await testDb().collection(`users/${uid}/notifications`).get()).docs;
const unread = async (uid: string) =>
  (await testDb().doc(`users/${uid}`).get()).get("unreadCount") as number | undefined;
const outboxFor = async (uid: string) => transport.delivered.filter((m) => m.uid === uid);
const watchers = async (machineId: string) =>
  (await testDb().collection(`machines/${machineId}/watchers`).get()).size;

beforeEach(async () => {
  clock = NOW;
  transport = createRecordingTransport();
  await seedDemoWorld();
});

describe("FINISHED notifications", () => {
  it("a watcher of machine 2 gets exactly one inbox entry and one push per token, however often the trigger runs, and the watch is gone", async () => {
    const a = await signUpUser("watcher");
    await call(a, "/notify_me", { machine_id: 2, isusing: 1 });
    await call(a, "/set_fcm_token", { fcm_token: "tok-a-phone" });
    await call(a, "/set_fcm_token", { fcm_token: "tok-a-laptop", platform: "web" });
    expect(await watchers("2")).toBe(1);

    const cycleId = await runCycle(2, 3);

    const entries = await inbox(a.uid);
    expect(entries.map((d) => d.id)).toEqual([`finished-${cycleId}`]);
    expect(entries[0].data()).toMatchObject({
      title: "세탁 완료!",
      type: "finished",
      machineId: "2",
      roomId: "1",
      readAt: null,
    });
    expect(await unread(a.uid)).toBe(1);
    const pushes = await outboxFor(a.uid);
    expect(pushes.map((p) => p.token).sort()).toEqual(["tok-a-laptop", "tok-a-phone"]);
    expect(pushes[0]).toMatchObject({
      title: "세탁 완료!",
      topic: "machine-2",
      link: expect.stringMatching(/\/rooms\/1\/machines\/2$/),
      ttlSeconds: 3600,
    });
    expect(await watchers("2")).toBe(0);
  });

  it("a FINISHED delivered three times, then the push trigger delivered three times, still makes one entry, one count and one push", async () => {
    const a = await signUpUser("replay");
    await call(a, "/notify_me", { machine_id: 2, isusing: 1 });
    await call(a, "/set_fcm_token", { fcm_token: "tok-replay" });
    const cycleId = await runCycle(2, 3);
    // The watch is gone now, but the user also subscribes to the room: no second notice.
    await call(a, "/device_subscribe", { room_id: 1 });
    const finished = await post(2, "FINISHED", START + 40 * 60);
    await applyReportAt(clock, 2, finished);
    const pushId = `finished-${cycleId}-${a.uid}`;
    const again = await Promise.all(
      [0, 1, 2].map(() =>
        handlePushCreated({ params: { pushId } }, invocationAt(clock), transport),
      ),
    );
    expect(again.map((r) => r.outcome)).toEqual(["skipped", "skipped", "skipped"]);
    expect((await inbox(a.uid)).length).toBe(1);
    expect(await unread(a.uid)).toBe(1);
    expect((await outboxFor(a.uid)).length).toBe(1);
    expect((await testDb().doc(`pushes/${pushId}`).get()).data()).toMatchObject({
      state: "SENT",
      attempts: 1,
      sent: 1,
    });
  });

  it("a room subscriber who also watches gets one watcher notification, a mere subscriber gets the room wording in their locale", async () => {
    const both = await signUpUser("both");
    await call(both, "/notify_me", { machine_id: 2, isusing: 1 });
    await call(both, "/device_subscribe", { room_id: "1" });
    await call(both, "/set_fcm_token", { fcm_token: "tok-both" });
    const sub = await signUpUser("sub");
    await call(sub, "/device_subscribe", { room_id: 1 });
    await call(sub, "/set_fcm_token", { fcm_token: "tok-sub", locale: "en" });
    const off = await signUpUser("unsubscribed");
    await call(off, "/device_subscribe", { room_id: 1 });
    await call(off, "/device_subscribe", { room_id: 1, isusing: 0 });
    await call(off, "/set_fcm_token", { fcm_token: "tok-off" });

    await runCycle(2, 3);

    expect((await inbox(both.uid)).map((d) => d.get("type") as string)).toEqual(["finished"]);
    expect(await unread(both.uid)).toBe(1);
    expect((await outboxFor(both.uid)).length).toBe(1);
    const subEntries = await inbox(sub.uid);
    expect(subEntries.map((d) => d.data())).toEqual([
      expect.objectContaining({
        type: "room_finished",
        title: expect.stringMatching(/: wash finished$/),
        body: expect.stringContaining("will be free soon"),
      }),
    ]);
    expect((await outboxFor(sub.uid)).map((p) => p.body)).toEqual([
      subEntries[0]?.get("body") as string,
    ]);
    expect(await inbox(off.uid)).toEqual([]);
    expect(await outboxFor(off.uid)).toEqual([]);
    // The room subscription is persistent; the watch was one-shot.
    expect((await testDb().doc(`rooms/1/subscribers/${both.uid}`).get()).exists).toBe(true);
    expect(await watchers("2")).toBe(0);
  });

  it("a dryer's watcher gets the drying wording", async () => {
    const a = await signUpUser("dryer");
    await call(a, "/notify_me", { machine_id: 5, isusing: 1 });
    await runCycle(5);
    const [entry] = await inbox(a.uid);
    expect(entry?.data()).toMatchObject({ title: "건조 완료!", machineId: "5" });
  });

  it("a watch turned off again (isusing 0) gets nothing", async () => {
    const a = await signUpUser("changed-mind");
    await call(a, "/notify_me", { machine_id: 2, isusing: 1 });
    await call(a, "/notify_me", { machine_id: 2, isusing: 0 });
    await runCycle(2);
    expect(await inbox(a.uid)).toEqual([]);
  });

  it("deletes the token doc of a token FCM calls unregistered and keeps the others", async () => {
    const a = await signUpUser("dead-token");
    await call(a, "/notify_me", { machine_id: 2, isusing: 1 });
    await call(a, "/set_fcm_token", { fcm_token: "tok-dead" });
    await call(a, "/set_fcm_token", { fcm_token: "tok-alive" });
    transport.failToken("tok-dead", { code: "messaging/registration-token-not-registered" });

    await runCycle(2, 1);

    expect(transport.delivered.map((m) => m.token)).toEqual(["tok-alive"]);
    const tokens = (await testDb().collection(`users/${a.uid}/tokens`).get()).docs.map((d) => d.id);
    expect(tokens).toEqual([tokenId("tok-alive")]);
    expect((await inbox(a.uid)).length).toBe(1);
  });

  it("a watch or subscription made after the FINISHED was applied is not this cycle's: a redelivery adds no notice, and the watch stays for the next cycle", async () => {
    const early = await signUpUser("early");
    await call(early, "/notify_me", { machine_id: 2, isusing: 1 });
    const late = await signUpUser("late");
    const lateSub = await signUpUser("late-sub");
    const cycleId = await runCycle(2);
    clock += 5000;
    await call(late, "/notify_me", { machine_id: 2, isusing: 1 });
    await call(lateSub, "/device_subscribe", { room_id: 1 });
    // Every report of the cycle delivered again.
    for (const id of (await testDb().collection("machines/2/reports").get()).docs.map((d) => d.id))
      await applyReportAt(clock, 2, id);

    expect((await inbox(early.uid)).map((d) => d.id)).toEqual([`finished-${cycleId}`]);
    expect(await inbox(late.uid)).toEqual([]);
    expect(await inbox(lateSub.uid)).toEqual([]);
    expect((await testDb().doc(`machines/2/watchers/${late.uid}`).get()).exists).toBe(true);
    expect((await testDb().doc(`machines/2/watchers/${early.uid}`).get()).exists).toBe(false);
    expect((await testDb().doc(`cycleWatchers/${cycleId}`).get()).get("uids")).toEqual({
      [early.uid]: true,
    });

    // The next cycle is theirs.
    const next = await runCycle(2, 1, 3 * 3600);
    expect((await inbox(late.uid)).map((d) => d.id)).toEqual([`finished-${next}`]);
    expect((await inbox(lateSub.uid)).map((d) => d.get("type") as string)).toEqual([
      "room_finished",
    ]);
    expect((await inbox(early.uid)).length).toBe(1);
  });
});
